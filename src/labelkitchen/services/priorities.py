"""The queue's order: rewrite every priority in bulk when the strategy or the model changes.

``random``/``sequential`` need nothing but the records; uncertainty strategies score the stored
predictions of the newest model (random order until a model exists); ``lf_disagreement`` scores
the labelling functions' votes. Lower priority is served first, so priority = -score.

``spans`` projects have no class probabilities: every uncertainty strategy uses the span
tagger's per-record uncertainty, stored as each prediction's ``score`` when the tagger is
trained: ``1 - |2p - 1|`` for the most hesitant candidate span ``p`` of the record (its beam
marginal for ``ner``, its label probability for ``spancat``), so a record with a span the model
gives even odds comes first, and one where every candidate is near 0 or 1 comes last.
"""

from __future__ import annotations

import numpy as np

from labelkitchen.schema import Project, TaskType
from labelkitchen.store import Store
from labelkitchen.store.queries import queue as queue_queries
from labelkitchen.store.queries import training as queries

UNCERTAINTY = ("least_confidence", "margin", "entropy")


def refresh_priorities(store: Store, *, project: Project) -> str:
    """Reorder the project's queue for its strategy; returns what the order is based on."""
    from labelkitchen.learn.strategies import get_strategy  # numpy/scikit-learn only when needed

    strategy = project.spec.settings.queue_strategy
    if strategy == "lf_disagreement":
        from labelkitchen.services.weak import lf_disagreement_scores

        scored = lf_disagreement_scores(store, project=project)
        if scored is None:
            return _plain(store, project, "random")
        with store.write() as conn:
            queries.set_priorities(
                conn, project_id=project.id, priorities=[(r, -s) for r, s in scored]
            )
        return "labelling-function disagreement"
    if strategy in UNCERTAINTY and project.task is TaskType.SPANS:
        with store.read() as conn:
            scored = list(queries.iter_prediction_scores(conn, project_id=project.id))
        if not scored:
            return _plain(store, project, "random")
        with store.write() as conn:
            queries.set_priorities(
                conn, project_id=project.id, priorities=[(r, -score) for r, score in scored]
            )
        return "uncertainty of the newest span tagger's predictions"
    if strategy in UNCERTAINTY:
        with store.read() as conn:
            stored = list(queries.iter_prediction_probs(conn, project_id=project.id))
        if not stored:
            return _plain(store, project, "random")
        labels = list(project.label_names)
        probs = np.array([[p.get(name, 0.0) for name in labels] for _, p in stored])
        scores = get_strategy(strategy)(probs)
        with store.write() as conn:
            queries.set_priorities(
                conn,
                project_id=project.id,
                priorities=[
                    (record_id, -float(score))
                    for (record_id, _), score in zip(stored, scores, strict=True)
                ],
            )
        return f"{strategy} of the newest model's predictions"
    return _plain(store, project, strategy)


def _plain(store: Store, project: Project, strategy: str) -> str:
    with store.write() as conn:
        queue_queries.reprioritise(conn, project_id=project.id, strategy=strategy)
    return strategy


__all__ = ["UNCERTAINTY", "refresh_priorities"]
