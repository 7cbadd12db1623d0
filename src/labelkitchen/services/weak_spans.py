"""Span LFs in a ``spans`` project: their stored votes as :class:`~labelkitchen.weak.SpanVotes`,
and the LF summary against the gold spans (:func:`~labelkitchen.weak.span_lf_summary`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labelkitchen.errors import InvalidInput
from labelkitchen.schema import Project
from labelkitchen.store import Store
from labelkitchen.store.queries import training as training_queries
from labelkitchen.store.queries import weak as queries
from labelkitchen.weak import LFSummary, SpanVotes, span_lf_summary


@dataclass(frozen=True)
class ProjectSpanVotes:
    """A spans project's stored span votes over all its records (in id order), the LF names and
    versions, and per record its gold spans ``(start, end, label index)`` or ``None``."""

    record_ids: np.ndarray[Any, Any]
    votes: SpanVotes
    lf_names: tuple[str, ...]
    versions: dict[str, str]
    gold: list[list[tuple[int, int, int]] | None]


def project_span_votes(store: Store, row: Project) -> ProjectSpanVotes:
    index = {name: c for c, name in enumerate(row.label_names)}
    with store.read() as conn:
        sources = queries.lf_sources(conn, project_id=row.id)
        if not sources:
            raise InvalidInput(
                f"project {row.slug!r} has no labelling functions yet: labelkitchen lf apply "
                f"{row.slug} LFS.py"
            )
        column = {int(s.id): j for j, s in enumerate(sources)}
        record_ids = np.array(
            [i for i, _ in queries.record_ids_and_splits(conn, project_id=row.id)], dtype=np.int64
        )
        stored = list(
            training_queries.iter_span_votes(conn, project_id=row.id, source_ids=list(column))
        )
        gold_values = queries.current_gold_values(conn, project_id=row.id)
    if stored:
        columns = np.array(
            [(r, column[s], label, start, end) for r, s, label, start, end in stored],
            dtype=np.int64,
        )
    else:
        columns = np.zeros((0, 5), dtype=np.int64)
    votes = SpanVotes(
        n_records=len(record_ids),
        n_lfs=len(sources),
        records=np.searchsorted(record_ids, columns[:, 0]),
        lfs=columns[:, 1],
        starts=columns[:, 3],
        ends=columns[:, 4],
        labels=columns[:, 2],
    )
    gold: list[list[tuple[int, int, int]] | None] = []
    for record_id in record_ids.tolist():
        value = gold_values.get(record_id)
        spans = None if value is None else value.get("spans")
        if not isinstance(spans, list):
            gold.append(None)
            continue
        gold.append(
            [
                (int(s["start"]), int(s["end"]), index[s["label"]])
                for s in spans
                if s.get("label") in index
            ]
        )
    return ProjectSpanVotes(
        record_ids=record_ids,
        votes=votes,
        lf_names=tuple(s.name for s in sources),
        versions={s.name: s.version for s in sources},
        gold=gold,
    )


def summarise_spans(store: Store, row: Project) -> tuple[LFSummary, int, dict[str, str]]:
    """``(the span LF summary, records with gold spans, LF versions)``."""
    data = project_span_votes(store, row)
    n_gold = sum(g is not None for g in data.gold)
    summary = span_lf_summary(
        data.votes,
        data.gold if n_gold else None,
        lf_names=data.lf_names,
        n_classes=len(row.label_names),
    )
    return summary, n_gold, data.versions
