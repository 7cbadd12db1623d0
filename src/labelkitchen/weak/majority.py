"""Majority vote: every source counts once; the baseline every other label model must beat."""

from __future__ import annotations

import numpy as np

from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import BaseLabelModel, FitData, FloatArray
from labelkitchen.weak.registry import register_model


def vote_counts(L: LabelMatrix, n_classes: int) -> FloatArray:
    """``records x classes`` counts of the votes each record received (vectorised)."""
    rows, _, labels = L.to_triplets()
    flat = np.bincount(rows * n_classes + labels, minlength=L.n_records * n_classes)
    return flat.reshape(L.n_records, n_classes).astype(np.float64)


@register_model("majority_vote.v1")
class MajorityVote(BaseLabelModel):
    """Each record goes to the class with most votes.

    ``predict_proba`` splits the probability evenly among the classes tied for most votes; a
    record without votes gets the class balance (given, from dev gold, else uniform). ``fit``
    learns nothing from the votes themselves; it records the number of classes, the number of
    sources and the class balance.
    """

    def __init__(self, *, n_classes: int | None = None, random_state: int | None = None) -> None:
        self.n_classes = n_classes
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        k = data.n_classes
        self.n_classes_ = k
        self.n_lfs_ = data.stats.n_lfs
        balance = data.class_balance
        self.class_balance_ = np.full(k, 1.0 / k) if balance is None else balance

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        counts = vote_counts(L, self.n_classes_)
        top = counts.max(axis=1, keepdims=True)
        winners = (counts == top) & (top > 0)
        probs = winners / np.maximum(winners.sum(axis=1, keepdims=True), 1)
        uncovered = top[:, 0] == 0
        probs[uncovered] = self.class_balance_
        return np.asarray(probs, dtype=np.float64)


__all__ = ["MajorityVote", "vote_counts"]
