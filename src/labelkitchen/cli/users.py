"""``labelkitchen user ...``, ``labelkitchen token ...`` and ``labelkitchen serve``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from labelkitchen.cli.common import DbOption, JsonOption, console, open_store, print_json
from labelkitchen.cli.common import reports_errors as handled
from labelkitchen.services import accounts

user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
token_app = typer.Typer(
    help="API tokens for scripts (Authorization: Bearer TOKEN).", no_args_is_help=True
)


@user_app.command("create")
@handled
def create_user(
    name: Annotated[str, typer.Argument(help="Username.")],
    password: Annotated[
        str | None, typer.Option(help="Password (asked for when not given).")
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make an instance admin.")] = False,
    db: DbOption = None,
) -> None:
    """Create a user account."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_store(db) as store:
        user = accounts.create_user(store, username=name, password=password, is_admin=admin)
    console.print(f"created {'admin' if user.is_admin else 'user'} {user.username}")


@user_app.command("list")
@handled
def list_users(json_: JsonOption = False, db: DbOption = None) -> None:
    """List user accounts."""
    with open_store(db) as store:
        users = accounts.list_users(store)
    if json_:
        print_json([u.public() for u in users])
        return
    table = Table("username", "admin", "active")
    for user in users:
        table.add_row(
            user.username, "yes" if user.is_admin else "", "yes" if user.is_active else "no"
        )
    console.print(table)


@user_app.command("set-password")
@handled
def set_password(
    name: Annotated[str, typer.Argument(help="Username.")],
    password: Annotated[
        str | None, typer.Option(help="New password (asked when not given).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Change a user's password (ends their sessions)."""
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with open_store(db) as store:
        accounts.update_user(store, username=name, password=password)
    console.print(f"password of {name} changed")


@token_app.command("create")
@handled
def create_token(
    name: Annotated[str, typer.Argument(help="The user the token acts for.")],
    label: Annotated[str, typer.Option("--name", help="What the token is for.")] = "",
    expires_days: Annotated[
        int | None, typer.Option(help="Expire after this many days (default: never).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Create an API token and print it (shown once; only its hash is stored)."""
    with open_store(db) as store:
        token = accounts.create_token(
            store, username=name, name=label, expires_in_days=expires_days
        )
    typer.echo(token.token)


@token_app.command("revoke")
@handled
def revoke_token(
    name: Annotated[str, typer.Argument(help="The token's user.")],
    token_id: Annotated[int, typer.Argument(help="Token id (see token list).")],
    db: DbOption = None,
) -> None:
    """Revoke an API token."""
    with open_store(db) as store:
        user = accounts.user_named(store, username=name)
        accounts.revoke_token(store, user_id=user.id, token_id=token_id)
    console.print(f"revoked token {token_id}")


@token_app.command("list")
@handled
def list_tokens(
    name: Annotated[str, typer.Argument(help="The tokens' user.")],
    db: DbOption = None,
) -> None:
    """List a user's tokens (prefixes only)."""
    with open_store(db) as store:
        user = accounts.user_named(store, username=name)
        tokens = accounts.list_tokens(store, user_id=user.id)
    table = Table("id", "prefix", "name", "created", "expires", "revoked")
    for token in tokens:
        table.add_row(
            str(token["id"]),
            token["prefix"] + "…",
            token["name"],
            str(token["created_at"]),
            str(token["expires_at"] or ""),
            str(token["revoked_at"] or ""),
        )
    console.print(table)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    db: DbOption = None,
) -> None:
    """Run the web app and HTTP API with uvicorn."""
    run_server(db=db, host=host, port=port)


def run_server(*, db: str | None, host: str, port: int) -> None:
    import uvicorn

    from labelkitchen.server import create_app
    from labelkitchen.settings import Settings

    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    app = create_app(settings)
    console.print(f"labelkitchen at http://{host}:{port}/  (API docs at /api/docs; Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
