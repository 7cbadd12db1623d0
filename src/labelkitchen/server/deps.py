"""FastAPI dependencies as ``Annotated`` aliases: the store, the caller, their project access."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from labelkitchen.errors import PermissionDenied
from labelkitchen.server.auth import SAFE_METHODS, AuthCache, identify
from labelkitchen.server.errors import NotAuthenticated
from labelkitchen.services import accounts
from labelkitchen.services.accounts import Access, User
from labelkitchen.store import Store


async def _store(request: Request) -> Store:  # async: no thread hand-off for a lookup
    store: Store = request.app.state.store
    return store


StoreDep = Annotated[Store, Depends(_store)]


def _user(request: Request, store: StoreDep) -> User:
    user = identify(request, store)
    if user is None:
        raise NotAuthenticated("log in or send an API token")
    return user


def _optional_user(request: Request, store: StoreDep) -> User | None:
    return identify(request, store)


UserDep = Annotated[User, Depends(_user)]
MaybeUserDep = Annotated[User | None, Depends(_optional_user)]


def _admin(user: UserDep) -> User:
    if not user.is_admin:
        raise PermissionDenied("only instance admins can do this")
    return user


AdminDep = Annotated[User, Depends(_admin)]
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Project slug.")]
# Ids are positive 64-bit integers (what SQLite and PostgreSQL hold): anything else is a 422.
MAX_ID = 2**63 - 1
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="Record id.")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="API token id.")]


def _access(slug: Slug, user: UserDep, store: StoreDep) -> Access:
    return accounts.access(store, user=user, project=slug)


AccessDep = Annotated[Access, Depends(_access)]


def resolve_access(request: Request, slug: str) -> tuple[Store, User, Access]:
    """The store, caller and their access, resolved inside a sync route (the hot paths).

    Same checks as ``AccessDep``, without a thread-pool hand-off per dependency.
    """
    store: Store = request.app.state.store
    cache: AuthCache = request.app.state.auth_cache
    header = request.headers.get("authorization", "")
    key = (
        "caller",
        header,
        request.session.get("uid"),
        request.session.get("pw"),
        slug,
        request.method in SAFE_METHODS or header != "",
    )
    cached = cache.get(key)
    if isinstance(cached, tuple):
        return store, cached[0], cached[1]
    user = identify(request, store)  # checks the CSRF token on cookie writes
    if user is None:
        raise NotAuthenticated("log in or send an API token")
    access = accounts.access(store, user=user, project=slug)
    if header or request.method in SAFE_METHODS:  # cookie writes re-check their CSRF token
        cache.put(key, (user, access))
    return store, user, access
