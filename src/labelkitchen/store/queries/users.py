"""Query functions for users, API tokens and project memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from labelkitchen.errors import Conflict, NotFound
from labelkitchen.store import tables as t


def insert_user(
    conn: Connection,
    *,
    username: str,
    password_hash: str | None,
    is_admin: bool = False,
    display_name: str = "",
    email: str | None = None,
) -> int:
    if conn.execute(select(t.users.c.id).where(t.users.c.username == username)).first():
        raise Conflict(f"a user named {username!r} already exists")
    result = conn.execute(
        insert(t.users)
        .values(
            username=username,
            password_hash=password_hash,
            is_admin=is_admin,
            display_name=display_name,
            email=email,
        )
        .returning(t.users.c.id)
    )
    return int(result.scalar_one())


def find_user(
    conn: Connection, *, username: str | None = None, user_id: int | None = None
) -> Row[Any] | None:
    query = select(t.users)
    if username is not None:
        query = query.where(t.users.c.username == username)
    else:
        query = query.where(t.users.c.id == user_id)
    return conn.execute(query).first()


def get_user(conn: Connection, *, username: str) -> Row[Any]:
    row = find_user(conn, username=username)
    if row is None:
        raise NotFound(f"no user {username!r}")
    return row


def list_users(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(t.users).order_by(t.users.c.username)))


def update_user(conn: Connection, *, user_id: int, **values: Any) -> None:
    conn.execute(update(t.users).where(t.users.c.id == user_id).values(**values))


def insert_token(
    conn: Connection,
    *,
    user_id: int,
    name: str,
    prefix: str,
    token_hash: str,
    expires_at: datetime | None,
) -> int:
    result = conn.execute(
        insert(t.api_tokens)
        .values(
            user_id=user_id, name=name, prefix=prefix, token_hash=token_hash, expires_at=expires_at
        )
        .returning(t.api_tokens.c.id)
    )
    return int(result.scalar_one())


def token_owner(conn: Connection, *, token_hash: str) -> Row[Any] | None:
    """The token row joined with its user (``None`` when unknown)."""
    query = (
        select(
            t.api_tokens.c.id.label("token_id"),
            t.api_tokens.c.expires_at,
            t.api_tokens.c.revoked_at,
            t.users,
        )
        .join(t.users, t.users.c.id == t.api_tokens.c.user_id)
        .where(t.api_tokens.c.token_hash == token_hash)
    )
    return conn.execute(query).first()


def list_tokens(conn: Connection, *, user_id: int) -> list[Row[Any]]:
    query = (
        select(
            t.api_tokens.c.id,
            t.api_tokens.c.name,
            t.api_tokens.c.prefix,
            t.api_tokens.c.created_at,
            t.api_tokens.c.expires_at,
            t.api_tokens.c.revoked_at,
        )
        .where(t.api_tokens.c.user_id == user_id)
        .order_by(t.api_tokens.c.id)
    )
    return list(conn.execute(query))


def revoke_token(conn: Connection, *, user_id: int, token_id: int, now: datetime) -> bool:
    result = conn.execute(
        update(t.api_tokens)
        .where(
            t.api_tokens.c.id == token_id,
            t.api_tokens.c.user_id == user_id,
            t.api_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


def set_membership(conn: Connection, *, project_id: int, user_id: int, role: str) -> None:
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(t.memberships).values(
        project_id=project_id, user_id=user_id, role=role
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["project_id", "user_id"], set_={"role": role}
        )
    )


def remove_membership(conn: Connection, *, project_id: int, user_id: int) -> bool:
    result = conn.execute(
        delete(t.memberships).where(
            t.memberships.c.project_id == project_id, t.memberships.c.user_id == user_id
        )
    )
    return bool(result.rowcount)


def role_of(conn: Connection, *, project_id: int, user_id: int) -> str | None:
    query = select(t.memberships.c.role).where(
        t.memberships.c.project_id == project_id, t.memberships.c.user_id == user_id
    )
    return conn.execute(query).scalar_one_or_none()


def members(conn: Connection, *, project_id: int) -> list[Row[Any]]:
    query = (
        select(t.users.c.id, t.users.c.username, t.users.c.display_name, t.memberships.c.role)
        .join(t.memberships, t.memberships.c.user_id == t.users.c.id)
        .where(t.memberships.c.project_id == project_id)
        .order_by(t.users.c.username)
    )
    return list(conn.execute(query))


def project_ids_of(conn: Connection, *, user_id: int) -> dict[int, str]:
    query = select(t.memberships.c.project_id, t.memberships.c.role).where(
        t.memberships.c.user_id == user_id
    )
    return {int(p): r for p, r in conn.execute(query)}
