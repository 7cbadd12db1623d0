"""Users (admins) and one's own API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from labelkitchen.server.deps import AdminDep, StoreDep, TokenId, UserDep
from labelkitchen.server.schemas import TokenIn, TokenOut, UserIn, UserPatch
from labelkitchen.services import accounts

router = APIRouter(prefix="/api", tags=["users"])


@router.get("/users")
def list_users(admin: AdminDep, store: StoreDep) -> list[dict[str, Any]]:
    return [user.public() for user in accounts.list_users(store)]


@router.post("/users", status_code=201)
def create_user(body: UserIn, admin: AdminDep, store: StoreDep) -> dict[str, Any]:
    user = accounts.create_user(
        store,
        username=body.username,
        password=body.password,
        is_admin=body.is_admin,
        display_name=body.display_name,
    )
    return user.public()


@router.patch("/users/{username}")
def update_user(username: str, body: UserPatch, admin: AdminDep, store: StoreDep) -> dict[str, Any]:
    user = accounts.update_user(store, username=username, **body.model_dump(exclude_none=True))
    return user.public()


@router.get("/tokens")
def list_tokens(user: UserDep, store: StoreDep) -> list[dict[str, Any]]:
    return accounts.list_tokens(store, user_id=user.id)


@router.post("/tokens", status_code=201, response_model=TokenOut)
def create_token(body: TokenIn, user: UserDep, store: StoreDep) -> Any:
    """A new API token. It is shown once; only its hash is kept."""
    return accounts.create_token(
        store, username=user.username, name=body.name, expires_in_days=body.expires_in_days
    )


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: TokenId, user: UserDep, store: StoreDep) -> Response:
    accounts.revoke_token(store, user_id=user.id, token_id=token_id)
    return Response(status_code=204)
