"""Query functions for sources: anything that votes (annotator, LF, model, import)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from labelkitchen.store.tables import sources


def ensure_source(
    conn: Connection,
    *,
    project_id: int,
    kind: str,
    name: str,
    version: str = "",
    user_id: int | None = None,
    spec: dict[str, Any] | None = None,
) -> int:
    """The id of the source ``(kind, name, version)`` in the project, created if missing."""
    values = {
        "project_id": project_id,
        "kind": kind,
        "name": name,
        "version": version,
        "user_id": user_id,
        "spec": spec,
    }
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(dialect_insert(sources).values(**values).on_conflict_do_nothing())
    query = select(sources.c.id).where(
        sources.c.project_id == project_id,
        sources.c.kind == kind,
        sources.c.name == name,
        sources.c.version == version,
    )
    return int(conn.execute(query).scalar_one())
