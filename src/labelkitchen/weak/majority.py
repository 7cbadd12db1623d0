"""Majority vote: every source counts once; the baseline every other label model must beat.

With ``tie_break_model`` (the registered name of another label model, fitted on the same votes),
records whose top classes tie are decided among those classes by that model's probabilities
instead of a coin: majority vote wherever it is decisive, a learned judgement of the sources
only where it is not. A record no source voted on keeps the class balance.
"""

from __future__ import annotations

import numpy as np

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import BaseLabelModel, FitData, FloatArray
from labelkitchen.weak.registry import get_model, register_model


def vote_counts(L: LabelMatrix, n_classes: int) -> FloatArray:
    """``records x classes`` counts of the votes each record received (vectorised)."""
    rows, _, labels = L.to_triplets()
    flat = np.bincount(rows * n_classes + labels, minlength=L.n_records * n_classes)
    return flat.reshape(L.n_records, n_classes).astype(np.float64)


@register_model("majority_vote.v1")
class MajorityVote(BaseLabelModel):
    """Each record goes to the class with most votes.

    ``predict_proba`` splits the probability evenly among the classes tied for most votes (or,
    with ``tie_break_model``, gives it to those of them that model rates highest); a record
    without votes gets the class balance (given, from dev gold, else uniform). ``fit`` learns
    nothing from the votes themselves; it records the number of classes, the number of sources,
    the class balance, and the fitted tie-breaking model as ``tie_model_``.
    """

    def __init__(
        self,
        *,
        n_classes: int | None = None,
        tie_break_model: str | None = None,
        random_state: int | None = None,
    ) -> None:
        self.n_classes = n_classes
        self.tie_break_model = tie_break_model
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        k = data.n_classes
        self.n_classes_ = k
        self.n_lfs_ = data.n_lfs
        balance = data.class_balance
        self.class_balance_ = np.full(k, 1.0 / k) if balance is None else balance
        if self.tie_break_model is not None:
            cls = get_model(self.tie_break_model)
            if issubclass(cls, MajorityVote):
                raise InvalidInput("a majority vote cannot break its own ties")
            model = cls(**{"n_classes": k, "random_state": self.random_state})
            given = data.class_balance if data.class_balance_source == "given" else None
            self.tie_model_ = model.fit(
                data.votes, L_dev=data.L_dev, y_dev=data.y_dev, class_balance=given
            )

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        counts = vote_counts(L, self.n_classes_)
        top = counts.max(axis=1, keepdims=True)
        winners = (counts == top) & (top > 0)
        tie_model: BaseLabelModel | None = getattr(self, "tie_model_", None)
        tied = np.flatnonzero(winners.sum(axis=1) > 1)
        if tie_model is not None and tied.size:
            inner = tie_model.predict_proba(L.take_records(tied)) * winners[tied]
            best = inner.max(axis=1, keepdims=True)
            winners[tied] &= inner >= best - 1e-12
        probs = winners / np.maximum(winners.sum(axis=1, keepdims=True), 1)
        uncovered = top[:, 0] == 0
        probs[uncovered] = self.class_balance_
        return np.asarray(probs, dtype=np.float64)


__all__ = ["MajorityVote", "vote_counts"]
