"""What the weak-supervision services of every task type share with the store: the project's
records as LF input, an LF's source, and a fitted label model with its answers per record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from labelkitchen.errors import InvalidInput
from labelkitchen.schema import Project
from labelkitchen.store import Store
from labelkitchen.store import tables as t
from labelkitchen.store.queries import annotations as annotation_queries
from labelkitchen.store.queries import weak as queries
from labelkitchen.store.queries.sources import ensure_source
from labelkitchen.weak import DeclarativeLF, LabelingFunction, Record

LABEL_MODEL_SOURCE = "label_model"
"""The source the label model's answers are stored under."""


@dataclass(frozen=True)
class FitOutcome:
    """What a fit stored, for the caller's report: the chosen model, its version, how many
    records got an answer, and the test score next to majority vote's (``None`` without test
    gold)."""

    selected: str
    version: int
    n_records: int
    n_labelled: int
    coverage: float
    test_score: float | None
    test_majority_score: float | None
    n_test: int


def project_records(store: Store, row: Project) -> list[Record]:
    """Every record of the project, in id order, as LF input."""
    with store.read() as conn:
        items = [
            Record(text, meta, record_id)
            for record_id, text, meta in queries.iter_texts(conn, project_id=row.id)
        ]
    if not items:
        raise InvalidInput(f"project {row.slug!r} has no records yet: import some first")
    return items


def activate_lf_source(conn: Connection, row: Project, lf: LabelingFunction) -> int:
    """The LF's source (its name and version) as the project's active LF of that name; the
    definition is kept for declarative LFs, the name for Python ones."""
    spec: dict[str, Any] = (
        {"definition": lf.to_dict()}
        if isinstance(lf, DeclarativeLF)
        else {"definition": None, "python": lf.name}
    )
    source_id = ensure_source(conn, project_id=row.id, kind="lf", name=lf.name, version=lf.version)
    queries.activate_lf(conn, project_id=row.id, source_id=source_id, name=lf.name, spec=spec)
    return source_id


def store_label_model(
    store: Store,
    row: Project,
    *,
    model: str,
    artifact: bytes,
    params: dict[str, Any],
    metrics: dict[str, Any],
    answers: Sequence[tuple[int, dict[str, Any]]],
) -> int:
    """Store a fitted label model (a new version of ``model``) and its ``(record id, value)``
    answers as new versions of the :data:`LABEL_MODEL_SOURCE` source's annotations; the
    version."""
    items = [
        annotation_queries.NewVersion(record_id, value, {"answer": "accept"})
        for record_id, value in answers
    ]
    with store.write() as conn:
        version = queries.next_model_version(conn, project_id=row.id, name=model)
        queries.insert_model(
            conn,
            project_id=row.id,
            name=model,
            version=version,
            kind="label_model",
            artifact=artifact,
            params=params,
            metrics=metrics,
        )
        source_id = ensure_source(
            conn, project_id=row.id, kind="model", name=LABEL_MODEL_SOURCE, version=""
        )
        annotation_queries.append_versions(
            conn, t.annotations, project_id=row.id, items=items, source_id=source_id
        )
    return version


__all__ = [
    "LABEL_MODEL_SOURCE",
    "FitOutcome",
    "activate_lf_source",
    "project_records",
    "store_label_model",
]
