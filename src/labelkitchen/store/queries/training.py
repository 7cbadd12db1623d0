"""Reads and writes for training: labelled records, stored models, predictions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from labelkitchen.store import tables as t
from labelkitchen.store.engine import Store


def iter_training_rows(
    conn: Connection, *, project_id: int
) -> Iterator[tuple[int, str, str | None]]:
    """``(record_id, text, split)`` of every record, in id order."""
    r = t.records
    query = (
        select(r.c.id, r.c.text, r.c.split)
        .where(r.c.project_id == project_id)
        .order_by(r.c.project_id, r.c.id)
    )
    for record_id, text, split in conn.execution_options(yield_per=10_000).execute(query):
        yield int(record_id), text, split


def current_votes(
    conn: Connection, *, project_id: int, kinds: Sequence[str]
) -> Iterator[tuple[int, str, str, Any]]:
    """``(record_id, source kind, source name, value)`` of current accepted annotations."""
    a, s = t.annotations, t.sources
    query = (
        select(a.c.record_id, s.c.kind, s.c.name, a.c.value)
        .join(s, s.c.id == a.c.source_id)
        .where(
            a.c.project_id == project_id,
            a.c.superseded_by.is_(None),
            a.c.answer == "accept",
            s.c.kind.in_(list(kinds)),
        )
    )
    for record_id, kind, name, value in conn.execution_options(yield_per=10_000).execute(query):
        yield int(record_id), kind, name, value


def max_annotation_id(conn: Connection, *, project_id: int) -> int:
    a = t.annotations
    return int(
        conn.execute(select(func.max(a.c.id)).where(a.c.project_id == project_id)).scalar_one() or 0
    )


def count_human_answers_after(
    conn: Connection, *, project_id: int, after_id: int, limit: int
) -> int:
    """Human answers newer than ``after_id``, counted up to ``limit`` (a bounded scan)."""
    a, s = t.annotations, t.sources
    newer = (
        select(a.c.id)
        .join(s, s.c.id == a.c.source_id)
        .where(a.c.id > after_id, a.c.project_id == project_id, s.c.kind == "human")
        .limit(limit)
        .subquery()
    )
    return int(conn.execute(select(func.count()).select_from(newer)).scalar_one())


def latest_model(conn: Connection, *, project_id: int, kind: str) -> Any:
    m = t.models
    return conn.execute(
        select(
            m.c.id,
            m.c.name,
            m.c.version,
            m.c.artifact,
            m.c.metrics,
            m.c.params,
            m.c.dataset_hash,
            m.c.created_at,
        )
        .where(m.c.project_id == project_id, m.c.kind == kind, m.c.status == "ready")
        .order_by(m.c.id.desc())
        .limit(1)
    ).first()


def iter_prediction_probs(conn: Connection, *, project_id: int) -> Iterator[tuple[int, Any]]:
    """``(record_id, {label: probability})`` of the stored pool predictions."""
    p = t.predictions
    query = select(p.c.record_id, p.c.probs).where(p.c.project_id == project_id)
    for record_id, probs in conn.execution_options(yield_per=10_000).execute(query):
        yield int(record_id), probs or {}


def iter_prediction_scores(conn: Connection, *, project_id: int) -> Iterator[tuple[int, float]]:
    """``(record_id, score)`` of the stored pool predictions that have a score."""
    p = t.predictions
    query = select(p.c.record_id, p.c.score).where(
        p.c.project_id == project_id, p.c.score.is_not(None)
    )
    for record_id, score in conn.execution_options(yield_per=10_000).execute(query):
        yield int(record_id), float(score)


@dataclass(frozen=True)
class StoredPrediction:
    """The newest model's stored prediction for one record, and which model made it."""

    value: Any
    probs: Any
    score: float | None
    model: str
    version: int


# Built once: the annotation screen asks for it on every record it shows. One lookup through
# ``ix_predictions_record_id`` (a record has at most a few rows, one per model that predicted it).
_p, _m = t.predictions, t.models
_NEWEST_PREDICTION = (
    select(_p.c.value, _p.c.probs, _p.c.score, _m.c.name, _m.c.version)
    .join(_m, _m.c.id == _p.c.model_id)
    .where(
        _p.c.record_id == bindparam("record", type_=_p.c.record_id.type),
        _p.c.project_id == bindparam("project", type_=_p.c.project_id.type),
    )
    .order_by(_p.c.model_id.desc())
    .limit(1)
)


def newest_prediction(store: Store, *, project_id: int, record_id: int) -> StoredPrediction | None:
    """The prediction of the newest model that predicted ``record_id``, in a read of its own."""
    rows = store.fetch(_NEWEST_PREDICTION, project=project_id, record=record_id)
    if not rows:
        return None
    value, probs, score, model, version = rows[0]
    return StoredPrediction(
        value, probs, None if score is None else float(score), str(model), int(version)
    )


def iter_span_votes(
    conn: Connection, *, project_id: int, source_ids: Sequence[int]
) -> Iterator[tuple[int, int, int, int, int]]:
    """``(record_id, source_id, label, start, end)`` of span LFs' votes, in record order."""
    v = t.lf_votes
    query = (
        select(v.c.record_id, v.c.source_id, v.c.label, v.c.start, v.c.end)
        .where(
            v.c.project_id == project_id,
            v.c.source_id.in_(list(source_ids)),
            v.c.start.is_not(None),
            v.c.end.is_not(None),
        )
        .order_by(v.c.record_id)
    )
    for row in conn.execution_options(yield_per=10_000).execute(query):
        yield int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4])


def replace_predictions(
    conn: Connection, *, project_id: int, model_id: int, rows: Sequence[dict[str, Any]]
) -> None:
    p = t.predictions
    conn.execute(delete(p).where(p.c.project_id == project_id))
    for start in range(0, len(rows), 5000):
        conn.execute(
            insert(p),
            [
                {"project_id": project_id, "model_id": model_id, **row}
                for row in rows[start : start + 5000]
            ],
        )


def set_priorities(
    conn: Connection, *, project_id: int, priorities: Sequence[tuple[int, float]]
) -> None:
    """Rewrite queue priorities in bulk (lower comes first)."""
    from sqlalchemy import bindparam

    q = t.queue_items
    statement = (
        update(q)
        .where(q.c.project_id == bindparam("p"), q.c.record_id == bindparam("r"))
        .values(priority=bindparam("v"))
    )
    for start in range(0, len(priorities), 5000):
        conn.execute(
            statement,
            [{"p": project_id, "r": r, "v": v} for r, v in priorities[start : start + 5000]],
        )
