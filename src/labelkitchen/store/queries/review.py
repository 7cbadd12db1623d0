"""Query functions for review: current human answers, gold versions, predictions, spot checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from labelkitchen.store import tables as t


def human_answers(conn: Connection, *, project_id: int) -> list[Any]:
    """Every current (not superseded) answer by a human source, skips included, by id.

    Rows: ``id, record_id, source_id, source, user_id, value, answer, duration_ms,
    guidelines_version, created_at``.
    """
    a, s = t.annotations, t.sources
    query = (
        select(
            a.c.id,
            a.c.record_id,
            a.c.source_id,
            s.c.name.label("source"),
            s.c.user_id,
            a.c.value,
            a.c.answer,
            a.c.duration_ms,
            a.c.guidelines_version,
            a.c.created_at,
        )
        .join(s, s.c.id == a.c.source_id)
        .where(a.c.project_id == project_id, s.c.kind == "human", a.c.superseded_by.is_(None))
        .order_by(a.c.id)
    )
    return list(conn.execute(query))


def current_gold(conn: Connection, *, project_id: int) -> dict[int, Any]:
    """record id -> its current gold row (``id, value, method, user_id``)."""
    g = t.gold
    query = select(g.c.id, g.c.record_id, g.c.value, g.c.method, g.c.user_id).where(
        g.c.project_id == project_id, g.c.superseded_by.is_(None)
    )
    return {int(row.record_id): row for row in conn.execute(query)}


def gold_versions(conn: Connection, *, record_id: int) -> list[Any]:
    """Every gold version of a record, oldest first, with the reviewer's username."""
    return gold_versions_of(conn, record_ids=[record_id]).get(record_id, [])


def gold_versions_of(conn: Connection, *, record_ids: Sequence[int]) -> dict[int, list[Any]]:
    """record id -> every gold version of it, oldest first (rows as :func:`gold_versions`), in
    one query per 900 records; records without gold are absent."""
    g, u = t.gold, t.users
    found: dict[int, list[Any]] = {}
    ids = sorted(set(record_ids))
    for i in range(0, len(ids), 900):
        query = (
            select(
                g.c.id,
                g.c.record_id,
                g.c.value,
                g.c.method,
                g.c.annotation_id,
                g.c.note,
                g.c.created_at,
                g.c.superseded_by,
                u.c.username,
            )
            .outerjoin(u, u.c.id == g.c.user_id)
            .where(g.c.record_id.in_(ids[i : i + 900]))
            .order_by(g.c.record_id, g.c.id)
        )
        for row in conn.execute(query):
            found.setdefault(int(row.record_id), []).append(row)
    return found


def latest_probs(conn: Connection, *, project_id: int) -> dict[int, dict[str, float]]:
    """record id -> class probabilities from the project's newest model with predictions."""
    p = t.predictions
    newest = conn.execute(
        select(func.max(p.c.model_id)).where(p.c.project_id == project_id)
    ).scalar_one_or_none()
    if newest is None:
        return {}
    query = select(p.c.record_id, p.c.probs).where(p.c.model_id == newest)
    return {int(r.record_id): dict(r.probs) for r in conn.execute(query) if r.probs}


def record_row(conn: Connection, *, project_id: int, record_id: int) -> Any:
    r = t.records
    query = select(r.c.id, r.c.external_id, r.c.text).where(
        r.c.project_id == project_id, r.c.id == record_id
    )
    return conn.execute(query).first()


def records_by_id(conn: Connection, *, ids: Sequence[int]) -> dict[int, Any]:
    r = t.records
    found: dict[int, Any] = {}
    for i in range(0, len(ids), 900):
        query = select(r.c.id, r.c.external_id, r.c.text).where(r.c.id.in_(ids[i : i + 900]))
        found.update({int(row.id): row for row in conn.execute(query)})
    return found


def annotation_row(conn: Connection, *, annotation_id: int) -> Any:
    a = t.annotations
    query = select(a.c.id, a.c.project_id, a.c.record_id, a.c.value).where(a.c.id == annotation_id)
    return conn.execute(query).first()


def add_gold(
    conn: Connection,
    *,
    project_id: int,
    record_id: int,
    value: dict[str, Any],
    method: str,
    user_id: int | None = None,
    annotation_id: int | None = None,
    note: str | None = None,
) -> int:
    """Append a gold version that supersedes the current one (always: a review is a version)."""
    g = t.gold
    previous = conn.execute(
        select(g.c.id).where(g.c.record_id == record_id, g.c.superseded_by.is_(None))
    ).scalar_one_or_none()
    new_id = conn.execute(
        insert(g)
        .values(
            project_id=project_id,
            record_id=record_id,
            value=value,
            method=method,
            user_id=user_id,
            annotation_id=annotation_id,
            note=note,
        )
        .returning(g.c.id)
    ).scalar_one()
    if previous is not None:
        conn.execute(update(g).where(g.c.id == previous).values(superseded_by=new_id))
    return int(new_id)


def hourly_rates(conn: Connection, *, project_id: int) -> dict[str, float]:
    """Human source name -> its user's hourly rate, where one is set.

    A source is tied to its user by ``user_id``, else (imported answers) by a username equal
    to the source's name.
    """
    s, u = t.sources, t.users
    query = (
        select(s.c.name, u.c.hourly_rate)
        .join(
            u,
            or_(u.c.id == s.c.user_id, and_(s.c.user_id.is_(None), u.c.username == s.c.name)),
        )
        .where(s.c.project_id == project_id, s.c.kind == "human", u.c.hourly_rate.is_not(None))
    )
    return {row.name: float(row.hourly_rate) for row in conn.execute(query)}


def review_passes(conn: Connection, *, project_id: int) -> list[Any]:
    """Every gold version a reviewer wrote (adjudicated or reviewed; superseded ones too), oldest
    first. Rows: ``record_id, user_id, username, hourly_rate, created_at``."""
    g, u = t.gold, t.users
    query = (
        select(g.c.record_id, g.c.user_id, u.c.username, u.c.hourly_rate, g.c.created_at)
        .join(u, u.c.id == g.c.user_id)
        .where(g.c.project_id == project_id, g.c.method.in_(("adjudicated", "reviewed")))
        .order_by(g.c.id)
    )
    return list(conn.execute(query))


def checked_annotation_ids(conn: Connection, *, project_id: int) -> set[int]:
    sc = t.spot_checks
    query = select(sc.c.annotation_id).where(sc.c.project_id == project_id)
    return {int(i) for i in conn.execute(query).scalars()}


def add_spot_check(
    conn: Connection,
    *,
    project_id: int,
    annotation_id: int,
    reviewer_id: int | None,
    correct: bool | None,
    note: str | None,
) -> int:
    sc = t.spot_checks
    query = (
        insert(sc)
        .values(
            project_id=project_id,
            annotation_id=annotation_id,
            reviewer_id=reviewer_id,
            correct=correct,
            note=note,
        )
        .returning(sc.c.id)
    )
    return int(conn.execute(query).scalar_one())


def set_spot_check(
    conn: Connection, *, check_id: int, reviewer_id: int | None, correct: bool, note: str | None
) -> bool:
    sc = t.spot_checks
    query = (
        update(sc)
        .where(sc.c.id == check_id)
        .values(reviewer_id=reviewer_id, correct=correct, note=note)
    )
    return bool(conn.execute(query).rowcount)


def spot_checks(conn: Connection, *, project_id: int) -> list[Any]:
    """Every spot check with the checked answer's source: ``id, annotation_id, source, correct,
    note, record_id, value``."""
    sc, a, s = t.spot_checks, t.annotations, t.sources
    query = (
        select(
            sc.c.id,
            sc.c.annotation_id,
            sc.c.correct,
            sc.c.note,
            a.c.record_id,
            a.c.value,
            s.c.name.label("source"),
        )
        .join(a, a.c.id == sc.c.annotation_id)
        .join(s, s.c.id == a.c.source_id)
        .where(sc.c.project_id == project_id)
        .order_by(sc.c.id)
    )
    return list(conn.execute(query))
