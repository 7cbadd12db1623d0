"""Reads for annotators and reviewers: one record with its annotations, keyset browsing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, exists, func, select

from labelkitchen.errors import NotFound
from labelkitchen.store import tables as t


def get_record(conn: Connection, *, project_id: int, record_id: int) -> Any:
    r = t.records
    row = conn.execute(
        select(r.c.id, r.c.external_id, r.c.text, r.c.meta, r.c.split).where(
            r.c.project_id == project_id, r.c.id == record_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no record {record_id} in this project")
    return row


def annotations_of(
    conn: Connection,
    *,
    record_id: int,
    kinds: tuple[str, ...] | None = None,
    source_id: int | None = None,
    current_only: bool = True,
) -> list[Any]:
    a, s = t.annotations, t.sources
    query = (
        select(
            a.c.id,
            a.c.value,
            a.c.answer,
            a.c.flag_reason,
            a.c.duration_ms,
            a.c.guidelines_version,
            a.c.created_at,
            a.c.superseded_by,
            s.c.kind,
            s.c.name,
            s.c.version,
        )
        .join(s, s.c.id == a.c.source_id)
        .where(a.c.record_id == record_id)
        .order_by(a.c.id)
    )
    if current_only:
        query = query.where(a.c.superseded_by.is_(None))
    if kinds is not None:
        query = query.where(s.c.kind.in_(kinds))
    if source_id is not None:
        query = query.where(a.c.source_id == source_id)
    return list(conn.execute(query))


def gold_of(conn: Connection, *, record_id: int) -> Any:
    g = t.gold
    return conn.execute(
        select(g.c.value, g.c.method, g.c.created_at).where(
            g.c.record_id == record_id, g.c.superseded_by.is_(None)
        )
    ).first()


def last_answer(conn: Connection, *, project_id: int, source_id: int) -> Any:
    a = t.annotations
    return conn.execute(
        select(a.c.id, a.c.record_id, a.c.answer)
        .where(
            a.c.project_id == project_id, a.c.source_id == source_id, a.c.superseded_by.is_(None)
        )
        .order_by(a.c.id.desc())
        .limit(1)
    ).first()


def history(
    conn: Connection, *, project_id: int, source_id: int, before: int | None, limit: int
) -> list[Any]:
    a, r = t.annotations, t.records
    query = (
        select(a.c.id, a.c.record_id, a.c.value, a.c.answer, a.c.created_at, r.c.text)
        .join(r, r.c.id == a.c.record_id)
        .where(
            a.c.project_id == project_id, a.c.source_id == source_id, a.c.superseded_by.is_(None)
        )
        .order_by(a.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(a.c.id < before)
    return list(conn.execute(query))


def count_answers(conn: Connection, *, project_id: int, source_id: int) -> int:
    a = t.annotations
    query = select(func.count()).where(
        a.c.project_id == project_id,
        a.c.source_id == source_id,
        a.c.superseded_by.is_(None),
        a.c.answer != "skip",
    )
    return int(conn.execute(query).scalar_one())


def browse(
    conn: Connection,
    *,
    project_id: int,
    after: int,
    limit: int,
    split: str | None = None,
    search: str | None = None,
    label: str | None = None,
    source_kind: str | None = None,
    answer: str | None = None,
    only_source_id: int | None = None,
) -> list[Any]:
    """A keyset page of records matching the filters, ordered by id."""
    r, a, s = t.records, t.annotations, t.sources
    query = (
        select(r.c.id, r.c.external_id, r.c.text, r.c.split)
        .where(r.c.project_id == project_id, r.c.id > after)
        .order_by(r.c.project_id, r.c.id)
        .limit(limit)
    )
    if split:
        query = query.where(r.c.split == split)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(r.c.text.ilike(f"%{escaped}%", escape="\\"))
    if label or source_kind or answer or only_source_id:
        conditions = [a.c.record_id == r.c.id, a.c.superseded_by.is_(None)]
        if only_source_id is not None:
            conditions.append(a.c.source_id == only_source_id)
        if source_kind:
            conditions.append(
                a.c.source_id.in_(
                    select(s.c.id).where(s.c.project_id == project_id, s.c.kind == source_kind)
                )
            )
        if answer:
            conditions.append(a.c.answer == answer)
        if label:
            conditions.append(a.c.value["label"].as_string() == label)
        query = query.where(exists().where(and_(*conditions)))
    return list(conn.execute(query))
