"""What every command shares: the --db option, the store, the consoles, error reporting."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from labelkitchen.errors import LabelkitchenError
from labelkitchen.settings import Settings
from labelkitchen.store import Store

# markup=False: names, labels and record text are printed as they are, never as rich markup.
console = Console(highlight=False, markup=False)
err_console = Console(stderr=True, highlight=False, markup=False)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///PATH or postgresql+psycopg://...). Default: "
        "$LABELKITCHEN_DATABASE_URL, else sqlite:///labelkitchen.db.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

P = ParamSpec("P")
R = TypeVar("R")


def open_store(db: str | None) -> Store:
    settings = Settings()
    return Store.open(db or settings.database_url, settings=settings)


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str, ensure_ascii=False))


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn labelkitchen errors into a one-line message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LabelkitchenError as exc:
            err_console.print("error:", style="bold red", end=" ")
            err_console.print(str(exc), soft_wrap=True)
            raise typer.Exit(1) from exc

    return wrapper
