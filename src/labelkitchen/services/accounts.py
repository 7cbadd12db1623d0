"""Accounts: users with argon2-hashed passwords, API tokens, and project memberships.

API tokens are 256-bit random strings shown once; only their SHA-256 is stored (a token is not a
password: it is long and random, so a fast hash is the right one), with a short prefix so a user
can tell their tokens apart.

Every API request looks up its token and the caller's access to the project. Those two lookups
are one prebuilt statement each (built once at import, with bound parameters), so a request pays
for two index lookups and not for building SQL.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Select, bindparam, select

from labelkitchen.errors import InvalidInput, NotFound, PermissionDenied
from labelkitchen.schema import ANNOTATING_ROLES, REVIEWING_ROLES, Project, ProjectSpec, Role
from labelkitchen.store import Store
from labelkitchen.store import tables as t
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import users as queries

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so both paths cost the same.
_DUMMY_HASH = _HASHER.hash("labelkitchen-timing-equaliser")
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
TOKEN_PREFIX = "lk_"
MIN_PASSWORD = 8

_TOKEN_OWNER = (
    select(t.api_tokens.c.expires_at, t.api_tokens.c.revoked_at, t.users)
    .join(t.users, t.users.c.id == t.api_tokens.c.user_id)
    .where(t.api_tokens.c.token_hash == bindparam("hash", type_=t.api_tokens.c.token_hash.type))
)
_PROJECT_AND_ROLE = select(
    t.projects,
    select(t.memberships.c.role)
    .where(
        t.memberships.c.project_id == t.projects.c.id,
        t.memberships.c.user_id == bindparam("user", type_=t.memberships.c.user_id.type),
    )
    .scalar_subquery()
    .label("role"),
).where(t.projects.c.slug == bindparam("slug", type_=t.projects.c.slug.type))


def _first(store: Store, statement: Select[Any], **params: Any) -> SimpleNamespace | None:
    """The first row of a prebuilt read, its columns as attributes."""
    rows = store.fetch(statement, **params)
    if not rows:
        return None
    return SimpleNamespace(**dict(zip(statement.selected_columns.keys(), rows[0], strict=True)))


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    is_admin: bool
    is_active: bool
    password_fingerprint: str  # changes when the password does: ends old sessions

    @classmethod
    def from_row(cls, row: Any) -> User:
        return cls(
            id=int(row.id),
            username=row.username,
            display_name=row.display_name or "",
            is_admin=bool(row.is_admin),
            is_active=bool(row.is_active),
            password_fingerprint=hashlib.sha256((row.password_hash or "").encode()).hexdigest()[
                :16
            ],
        )

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "is_admin": self.is_admin,
            "is_active": self.is_active,
        }


@dataclass(frozen=True)
class NewToken:
    id: int
    token: str  # shown once
    prefix: str
    expires_at: datetime | None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"passwords need at least {MIN_PASSWORD} characters")


def create_user(
    store: Store, *, username: str, password: str, is_admin: bool = False, display_name: str = ""
) -> User:
    if not _USERNAME.match(username):
        raise InvalidInput(
            f"username {username!r} is not allowed: letters, digits and _ . @ - (up to 100), "
            "starting with a letter or digit"
        )
    _check_password(password)
    with store.write() as conn:
        user_id = queries.insert_user(
            conn,
            username=username,
            password_hash=_HASHER.hash(password),
            is_admin=is_admin,
            display_name=display_name,
        )
        return User.from_row(queries.find_user(conn, user_id=user_id))


def get_user(store: Store, *, user_id: int) -> User | None:
    with store.read() as conn:
        row = queries.find_user(conn, user_id=user_id)
    return None if row is None else User.from_row(row)


def user_named(store: Store, *, username: str) -> User:
    """The user called ``username``; :class:`NotFound` when there is none."""
    with store.read() as conn:
        return User.from_row(queries.get_user(conn, username=username))


def list_users(store: Store) -> list[User]:
    with store.read() as conn:
        return [User.from_row(row) for row in queries.list_users(conn)]


def update_user(
    store: Store,
    *,
    username: str,
    password: str | None = None,
    is_admin: bool | None = None,
    is_active: bool | None = None,
    display_name: str | None = None,
) -> User:
    values: dict[str, Any] = {}
    if password is not None:
        _check_password(password)
        values["password_hash"] = _HASHER.hash(password)
    if is_admin is not None:
        values["is_admin"] = is_admin
    if is_active is not None:
        values["is_active"] = is_active
    if display_name is not None:
        values["display_name"] = display_name
    with store.write() as conn:
        row = queries.get_user(conn, username=username)
        if values:
            queries.update_user(conn, user_id=int(row.id), **values)
        return User.from_row(queries.find_user(conn, user_id=int(row.id)))


def authenticate(store: Store, *, username: str, password: str) -> User | None:
    """The user if the password is right and the account active; ``None`` otherwise.

    Costs one argon2 verification either way, so timing does not tell whether a user exists.
    """
    with store.read() as conn:
        row = queries.find_user(conn, username=username)
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or not row.password_hash or not row.is_active:
        return None
    if _HASHER.check_needs_rehash(stored):
        with store.write() as conn:
            queries.update_user(conn, user_id=int(row.id), password_hash=_HASHER.hash(password))
    return User.from_row(row)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    store: Store, *, username: str, name: str = "", expires_in_days: int | None = None
) -> NewToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = (
        datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days is not None else None
    )
    with store.write() as conn:
        user = queries.get_user(conn, username=username)
        token_id = queries.insert_token(
            conn,
            user_id=int(user.id),
            name=name,
            prefix=token[:10],
            token_hash=_hash_token(token),
            expires_at=expires_at,
        )
    return NewToken(id=token_id, token=token, prefix=token[:10], expires_at=expires_at)


def user_for_token(store: Store, *, token: str) -> User | None:
    """The active user a live (unrevoked, unexpired) token belongs to."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = _first(store, _TOKEN_OWNER, hash=_hash_token(token))
    if row is None or row.revoked_at is not None or not row.is_active:
        return None
    if row.expires_at is not None and _aware(row.expires_at) <= datetime.now(UTC):
        return None
    return User.from_row(row)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def list_tokens(store: Store, *, user_id: int) -> list[dict[str, Any]]:
    with store.read() as conn:
        return [dict(row._mapping) for row in queries.list_tokens(conn, user_id=user_id)]


def revoke_token(store: Store, *, user_id: int, token_id: int) -> None:
    with store.write() as conn:
        if not queries.revoke_token(
            conn, user_id=user_id, token_id=token_id, now=datetime.now(UTC)
        ):
            raise NotFound(f"no live token {token_id} of yours")


# --- memberships and permissions -----------------------------------------------------------


def set_member(store: Store, *, project: str, username: str, role: str) -> None:
    try:
        role = Role(role).value
    except ValueError as exc:
        raise InvalidInput(f"role {role!r} is not one of {[r.value for r in Role]}") from exc
    with store.write() as conn:
        project_row = project_queries.get_project(conn, slug=project)
        user = queries.get_user(conn, username=username)
        queries.set_membership(conn, project_id=project_row.id, user_id=int(user.id), role=role)


def remove_member(store: Store, *, project: str, username: str) -> None:
    with store.write() as conn:
        project_row = project_queries.get_project(conn, slug=project)
        user = queries.get_user(conn, username=username)
        if not queries.remove_membership(conn, project_id=project_row.id, user_id=int(user.id)):
            raise NotFound(f"{username!r} is not a member of {project!r}")


def list_members(store: Store, *, project: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        project_row = project_queries.get_project(conn, slug=project)
        return [dict(row._mapping) for row in queries.members(conn, project_id=project_row.id)]


@dataclass(frozen=True)
class Access:
    """What one user may do in one project."""

    project: Project
    role: Role | None
    is_admin: bool

    @property
    def can_view(self) -> bool:
        return self.is_admin or self.role is not None

    @property
    def can_annotate(self) -> bool:
        return self.role in ANNOTATING_ROLES

    @property
    def can_review(self) -> bool:
        return self.is_admin or self.role in REVIEWING_ROLES

    @property
    def can_manage(self) -> bool:
        return self.is_admin or self.role is Role.OWNER


def access(store: Store, *, user: User, project: str) -> Access:
    """The user's access to ``project``; a project they cannot see is reported as missing."""
    row = _first(store, _PROJECT_AND_ROLE, slug=project, user=user.id)
    if row is None:
        raise NotFound(f"no project {project!r}")  # never list other projects
    result = Access(_project(row), Role(row.role) if row.role else None, user.is_admin)
    if not result.can_view:
        raise NotFound(f"no project {project!r}")
    return result


def _project(row: Any) -> Project:
    """The project from its stored columns (as ``store.queries.projects`` builds it)."""
    columns = ("slug", "name", "description", "task", "labels", "goal", "settings")
    spec = ProjectSpec.model_validate({key: getattr(row, key) for key in columns})
    return Project(id=row.id, spec=spec, created_at=row.created_at, updated_at=row.updated_at)


def require(allowed: bool, action: str) -> None:
    if not allowed:
        raise PermissionDenied(f"your role in this project does not allow you to {action}")


def visible_projects(store: Store, *, user: User) -> list[tuple[Project, str | None]]:
    with store.read() as conn:
        roles = queries.project_ids_of(conn, user_id=user.id)
        projects = project_queries.list_projects(conn)
    return [(p, roles.get(p.id)) for p in projects if user.is_admin or p.id in roles]


__all__ = [
    "Access",
    "NewToken",
    "User",
    "access",
    "authenticate",
    "create_token",
    "create_user",
    "list_members",
    "list_tokens",
    "list_users",
    "remove_member",
    "require",
    "revoke_token",
    "set_member",
    "update_user",
    "user_for_token",
    "user_named",
    "visible_projects",
]
