"""Query functions for records: bulk insert with content-hash dedup, lookups, keyset pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Connection, Text, func, select
from sqlalchemy import cast as sql_cast

from labelkitchen.io.prepare import RecordRow
from labelkitchen.store.tables import records

_INSERT_SQLITE = (
    "INSERT INTO records (project_id, external_id, text, meta, content_hash, split) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, content_hash) DO NOTHING"
)
# PostgreSQL: COPY a batch into a temporary staging table, then one INSERT ... SELECT.
_STAGE_PG = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS lk_import_stage (n integer, project_id bigint, "
    "external_id text, text text, meta text, content_hash bytea, split text) ON COMMIT DROP"
)
_COPY_PG = (
    "COPY lk_import_stage (n, project_id, external_id, text, meta, content_hash, split) FROM STDIN"
)
_MOVE_PG = (
    "INSERT INTO records (project_id, external_id, text, meta, content_hash, split) "
    "SELECT project_id, external_id, text, meta::jsonb, content_hash, split "
    "FROM lk_import_stage ORDER BY n ON CONFLICT (project_id, content_hash) DO NOTHING"
)
# (id, external_id, text, meta as raw JSON, split): one record of an export page.
PageRow = tuple[int, str | None, str, str | None, str | None]
_LOOKUP_CHUNK = 900  # stays under every backend's bound-parameter limit


def insert_records(conn: Connection, *, rows: Sequence[RecordRow]) -> int:
    """Insert rows, skipping those whose content hash the project already has.

    Returns how many were inserted. One ``executemany`` per call: this is the import hot path.
    """
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        return _insert_postgres(conn, rows)
    result = conn.exec_driver_sql(_INSERT_SQLITE, list(rows))
    return int(result.rowcount)


def _insert_postgres(conn: Connection, rows: Sequence[RecordRow]) -> int:
    driver = conn.connection.driver_connection  # psycopg.Connection, in our transaction
    if driver is None:  # pragma: no cover - a live connection always has one
        raise RuntimeError("no database connection")
    with driver.cursor() as cursor:
        cursor.execute(_STAGE_PG)
        cursor.execute("TRUNCATE lk_import_stage")
        with cursor.copy(_COPY_PG) as copy:
            for n, row in enumerate(rows):
                copy.write_row((n, *row))
        cursor.execute(_MOVE_PG)
        return int(cursor.rowcount)


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _LOOKUP_CHUNK] for i in range(0, len(values), _LOOKUP_CHUNK)]


def analyze(conn: Connection) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load (SQLite needs none)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE records")


def hashes_of_external_ids(
    conn: Connection, *, project_id: int, external_ids: Sequence[str]
) -> dict[str, bytes]:
    """``external_id -> content_hash`` for those of ``external_ids`` the project already has."""
    found: dict[str, bytes] = {}
    for chunk in _chunks(external_ids):
        query = select(records.c.external_id, records.c.content_hash).where(
            records.c.project_id == project_id, records.c.external_id.in_(chunk)
        )
        found.update((row.external_id, bytes(row.content_hash)) for row in conn.execute(query))
    return found


def ids_of_hashes(
    conn: Connection, *, project_id: int, hashes: Sequence[bytes]
) -> dict[bytes, int]:
    """``content_hash -> record id`` for the given hashes."""
    found: dict[bytes, int] = {}
    for chunk in _chunks(hashes):
        query = select(records.c.content_hash, records.c.id).where(
            records.c.project_id == project_id, records.c.content_hash.in_(chunk)
        )
        found.update((bytes(row.content_hash), int(row.id)) for row in conn.execute(query))
    return found


def page_records(
    conn: Connection,
    *,
    project_id: int,
    after_id: int = 0,
    limit: int = 1000,
    split: str | None = None,
) -> Sequence[PageRow]:
    """One keyset page ``(id, external_id, text, meta, split)`` ordered by id.

    ``meta`` comes back as raw JSON text, so export can pass it through unparsed.
    """
    query = (
        select(
            records.c.id,
            records.c.external_id,
            records.c.text,
            sql_cast(records.c.meta, Text).label("meta"),
            records.c.split,
        )
        .where(records.c.project_id == project_id, records.c.id > after_id)
        # Ordered like ix_records_project_id_id, so PostgreSQL walks the index and stops at the
        # limit even before statistics exist (right after a bulk import).
        .order_by(records.c.project_id, records.c.id)
        .limit(limit)
    )
    if split is not None:
        query = query.where(records.c.split == split)
    return cast(Sequence[PageRow], conn.execute(query).all())


def count_by_split(conn: Connection, *, project_id: int) -> dict[str | None, int]:
    query = (
        select(records.c.split, func.count())
        .where(records.c.project_id == project_id)
        .group_by(records.c.split)
    )
    return {row[0]: int(row[1]) for row in conn.execute(query)}
