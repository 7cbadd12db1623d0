"""Query functions for labelling-function votes and the label model's outputs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from labelkitchen.store import tables as t

_CHUNK = 10_000
_ID_CHUNK = 500


def lf_sources(conn: Connection, *, project_id: int) -> list[Any]:
    """The active labelling functions of a project (one version per name), by name."""
    s = t.sources
    query = (
        select(s.c.id, s.c.name, s.c.version, s.c.spec)
        .where(s.c.project_id == project_id, s.c.kind == "lf")
        .order_by(s.c.name, s.c.id)
    )
    return [row for row in conn.execute(query) if (row.spec or {}).get("active", True)]


def activate_lf(
    conn: Connection, *, project_id: int, source_id: int, name: str, spec: dict[str, Any]
) -> None:
    """Make ``source_id`` the active version of the LF ``name``; older versions lose their votes
    (they are stale) but keep their source row, so history still names them."""
    s = t.sources
    others = conn.execute(
        select(s.c.id, s.c.spec).where(
            s.c.project_id == project_id, s.c.kind == "lf", s.c.name == name, s.c.id != source_id
        )
    ).all()
    for other in others:
        conn.execute(
            update(s).where(s.c.id == other.id).values(spec={**(other.spec or {}), "active": False})
        )
        conn.execute(delete(t.lf_votes).where(t.lf_votes.c.source_id == other.id))
    conn.execute(update(s).where(s.c.id == source_id).values(spec={**spec, "active": True}))


def replace_votes(
    conn: Connection, *, project_id: int, source_id: int, votes: Sequence[tuple[int, int]]
) -> None:
    """Store an LF's votes ``(record_id, label)``, replacing those it had."""
    v = t.lf_votes
    conn.execute(delete(v).where(v.c.source_id == source_id))
    for i in range(0, len(votes), _CHUNK):
        conn.execute(
            insert(v),
            [
                {"project_id": project_id, "record_id": r, "source_id": source_id, "label": lb}
                for r, lb in votes[i : i + _CHUNK]
            ],
        )


def replace_span_votes(
    conn: Connection,
    *,
    project_id: int,
    source_id: int,
    votes: Sequence[tuple[int, int, int, int]],
) -> None:
    """Store a span LF's votes ``(record_id, label, start, end)``, replacing those it had."""
    v = t.lf_votes
    conn.execute(delete(v).where(v.c.source_id == source_id))
    for i in range(0, len(votes), _CHUNK):
        conn.execute(
            insert(v),
            [
                {
                    "project_id": project_id,
                    "record_id": r,
                    "source_id": source_id,
                    "label": lb,
                    "start": start,
                    "end": end,
                }
                for r, lb, start, end in votes[i : i + _CHUNK]
            ],
        )


def iter_votes(
    conn: Connection, *, project_id: int, source_ids: Sequence[int]
) -> Iterator[tuple[int, int, int]]:
    """``(record_id, source_id, label)`` of the given LFs."""
    v = t.lf_votes
    query = select(v.c.record_id, v.c.source_id, v.c.label).where(
        v.c.project_id == project_id, v.c.source_id.in_(list(source_ids))
    )
    for record_id, source_id, label in conn.execution_options(yield_per=_CHUNK).execute(query):
        yield int(record_id), int(source_id), int(label)


def record_ids_and_splits(conn: Connection, *, project_id: int) -> Sequence[tuple[int, str | None]]:
    r = t.records
    query = (
        select(r.c.id, r.c.split)
        .where(r.c.project_id == project_id)
        .order_by(r.c.project_id, r.c.id)
    )
    return [(int(i), s) for i, s in conn.execute(query)]


def iter_texts(conn: Connection, *, project_id: int) -> Iterator[tuple[int, str, Any]]:
    """``(record_id, text, meta)`` in id order."""
    r = t.records
    query = (
        select(r.c.id, r.c.text, r.c.meta)
        .where(r.c.project_id == project_id)
        .order_by(r.c.project_id, r.c.id)
    )
    for record_id, text, meta in conn.execution_options(yield_per=_CHUNK).execute(query):
        yield int(record_id), text, meta or {}


def texts_of(
    conn: Connection, *, project_id: int, record_ids: Sequence[int]
) -> dict[int, tuple[str, str | None]]:
    """``record_id -> (text, external_id)`` for the given records of the project."""
    r = t.records
    out: dict[int, tuple[str, str | None]] = {}
    ids = [int(i) for i in record_ids]
    for i in range(0, len(ids), _ID_CHUNK):
        query = select(r.c.id, r.c.text, r.c.external_id).where(
            r.c.project_id == project_id, r.c.id.in_(ids[i : i + _ID_CHUNK])
        )
        for record_id, text, external_id in conn.execute(query):
            out[int(record_id)] = (text, external_id)
    return out


def current_gold_values(conn: Connection, *, project_id: int) -> dict[int, Any]:
    g = t.gold
    query = select(g.c.record_id, g.c.value).where(
        g.c.project_id == project_id, g.c.superseded_by.is_(None)
    )
    return {int(record_id): value for record_id, value in conn.execute(query)}


def next_model_version(conn: Connection, *, project_id: int, name: str) -> int:
    m = t.models
    query = select(m.c.version).where(m.c.project_id == project_id, m.c.name == name)
    versions = [int(v) for v in conn.execute(query).scalars()]
    return max(versions, default=0) + 1


def insert_model(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(t.models).values(**values).returning(t.models.c.id))
    return int(result.scalar_one())
