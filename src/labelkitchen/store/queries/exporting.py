"""Read queries for export and stats: current annotations and gold over a range of records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Text, cast, func, select

from labelkitchen.store import tables


def current_annotations(
    conn: Connection, *, project_id: int, first_id: int, last_id: int
) -> Sequence[Row[Any]]:
    """Current annotations (with their source) of records ``first_id..last_id``."""
    a, s = tables.annotations, tables.sources
    query = (
        select(
            a.c.record_id,
            s.c.kind,
            s.c.name,
            s.c.version,
            cast(a.c.value, Text).label("value"),
            a.c.answer,
            a.c.flag_reason,
            a.c.duration_ms,
            a.c.guidelines_version,
            a.c.created_at,
        )
        .join(s, s.c.id == a.c.source_id)
        .where(
            a.c.project_id == project_id,
            a.c.record_id.between(first_id, last_id),
            a.c.superseded_by.is_(None),
        )
        .order_by(a.c.record_id, s.c.kind, s.c.name, s.c.version)
    )
    return conn.execute(query).all()


def gold_history(
    conn: Connection, *, project_id: int, first_id: int, last_id: int
) -> Sequence[Row[Any]]:
    """Every gold version of records ``first_id..last_id``, by record and oldest first, with
    the value as raw JSON and the reviewer's username (``None`` for consensus and imports)."""
    g, u = tables.gold, tables.users
    query = (
        select(
            g.c.record_id,
            cast(g.c.value, Text).label("value"),
            g.c.method,
            u.c.username.label("reviewer"),
            g.c.note,
            g.c.created_at,
            g.c.superseded_by,
        )
        .outerjoin(u, u.c.id == g.c.user_id)
        .where(g.c.project_id == project_id, g.c.record_id.between(first_id, last_id))
        .order_by(g.c.record_id, g.c.id)
    )
    return conn.execute(query).all()


def count_annotations(conn: Connection, *, project_id: int) -> Sequence[Row[Any]]:
    """Current annotations counted by source and answer."""
    a, s = tables.annotations, tables.sources
    query = (
        select(s.c.kind, s.c.name, s.c.version, a.c.answer, func.count().label("n"))
        .join(s, s.c.id == a.c.source_id)
        .where(a.c.project_id == project_id, a.c.superseded_by.is_(None))
        .group_by(s.c.kind, s.c.name, s.c.version, a.c.answer)
        .order_by(s.c.kind, s.c.name, s.c.version, a.c.answer)
    )
    return conn.execute(query).all()


def iter_values(
    conn: Connection, *, project_id: int, gold: bool
) -> Iterator[tuple[str, str | None]]:
    """Stream ``(source kind, value)`` of current accepted annotations, or of gold."""
    if gold:
        g = tables.gold
        query = select(cast(g.c.value, Text)).where(
            g.c.project_id == project_id, g.c.superseded_by.is_(None)
        )
        for row in conn.execution_options(yield_per=5000).execute(query):
            yield "gold", row[0]
        return
    a, s = tables.annotations, tables.sources
    votes = (
        select(s.c.kind, cast(a.c.value, Text))
        .join(s, s.c.id == a.c.source_id)
        .where(
            a.c.project_id == project_id,
            a.c.superseded_by.is_(None),
            a.c.answer == "accept",
        )
    )
    yield from conn.execution_options(yield_per=5000).execute(votes)
