"""Query functions for annotations and gold: append-only, a correction supersedes.

Both tables keep every version; the current one has ``superseded_by IS NULL``. Writing a value
equal to the current one is a no-op, so re-importing the same file adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from labelkitchen.store import tables

_CHUNK = 900


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A value to append for one record (and, for annotations, one source)."""

    record_id: int
    value: dict[str, Any]
    extra: dict[str, Any]


def _current(
    conn: Connection, table: Table, *, record_ids: Sequence[int], source_id: int | None
) -> dict[int, tuple[int, Any, str | None]]:
    found: dict[int, tuple[int, Any, str | None]] = {}
    has_answer = "answer" in table.c
    for i in range(0, len(record_ids), _CHUNK):
        chunk = record_ids[i : i + _CHUNK]
        columns = [table.c.record_id, table.c.id, table.c.value]
        if has_answer:
            columns.append(table.c.answer)
        query = select(*columns).where(
            table.c.record_id.in_(chunk), table.c.superseded_by.is_(None)
        )
        if source_id is not None:
            query = query.where(table.c.source_id == source_id)
        for row in conn.execute(query):
            found[int(row.record_id)] = (int(row.id), row.value, row.answer if has_answer else None)
    return found


def append_versions(
    conn: Connection,
    table: Table,
    *,
    project_id: int,
    items: Sequence[NewVersion],
    source_id: int | None = None,
) -> int:
    """Append new current versions; returns how many rows were added.

    An item equal to the record's current version (same value and answer) is skipped; one that
    differs supersedes it. Later items for the same record supersede earlier ones.
    """
    if not items:
        return 0
    latest: dict[int, NewVersion] = {}
    for item in items:
        latest[item.record_id] = item
    current = _current(conn, table, record_ids=list(latest), source_id=source_id)
    fresh: list[dict[str, Any]] = []
    replacing: list[tuple[int, dict[str, Any]]] = []
    for record_id, item in latest.items():
        row = {"project_id": project_id, "record_id": record_id, "value": item.value, **item.extra}
        if source_id is not None:
            row["source_id"] = source_id
        old = current.get(record_id)
        if old is None:
            fresh.append(row)
        elif old[1] != item.value or old[2] != item.extra.get("answer", old[2]):
            replacing.append((old[0], row))
    if fresh:
        conn.execute(insert(table), fresh)
    if replacing:
        new_ids = (
            conn.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True),
                [row for _, row in replacing],
            )
            .scalars()
            .all()
        )
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("old_id"))
            .values(superseded_by=bindparam("new_id")),
            [
                {"old_id": old, "new_id": new}
                for (old, _), new in zip(replacing, new_ids, strict=True)
            ],
        )
    return len(fresh) + len(replacing)


def append_annotations(
    conn: Connection, *, project_id: int, source_id: int, items: Sequence[NewVersion]
) -> int:
    return append_versions(
        conn, tables.annotations, project_id=project_id, items=items, source_id=source_id
    )


def append_gold(conn: Connection, *, project_id: int, items: Sequence[NewVersion]) -> int:
    return append_versions(conn, tables.gold, project_id=project_id, items=items)
