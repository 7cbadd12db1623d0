"""Query functions for suspected label errors: current gold versions of chosen records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from labelkitchen.store import tables as t


def current_gold_of(
    conn: Connection, *, project_id: int, record_ids: Sequence[int]
) -> dict[int, Any]:
    """record id -> its current gold row (``id, method``), for the given records only."""
    g = t.gold
    found: dict[int, Any] = {}
    ids = list(record_ids)
    for i in range(0, len(ids), 900):
        query = select(g.c.id, g.c.record_id, g.c.method).where(
            g.c.project_id == project_id,
            g.c.record_id.in_(ids[i : i + 900]),
            g.c.superseded_by.is_(None),
        )
        found.update({int(row.record_id): row for row in conn.execute(query)})
    return found


__all__ = ["current_gold_of"]
