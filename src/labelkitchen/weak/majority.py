"""Majority vote: every source counts once; the baseline every other label model must beat.

With ``tie_break_model`` (the registered name of another label model, fitted on the same votes),
records whose top classes tie are decided among those classes by that model's probabilities
instead of a coin: majority vote wherever it is decisive, a learned judgement of the sources
only where it is not. A record no source voted on keeps the class balance.

With ``tie_break_check`` as well (a second model, best one built on other assumptions), a tie is
decided only where both models rate the same tied class highest; where they disagree it stays a
tie (a coin, or the expectation over one). Each unsupervised model fails somewhere its
assumptions do not hold (the accuracy-weighted vote on one-sided LFs over several classes,
Dawid-Skene where its class balance runs away); two that fail differently rarely agree on a
wrong class, so the checked tie-break stays at or above plain majority vote where either alone
fell below it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

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
    the class balance, and the fitted tie-breaking models as ``tie_model_`` and
    ``tie_check_model_``.
    """

    def __init__(
        self,
        *,
        n_classes: int | None = None,
        tie_break_model: str | None = None,
        tie_break_check: str | None = None,
        random_state: int | None = None,
    ) -> None:
        self.n_classes = n_classes
        self.tie_break_model = tie_break_model
        self.tie_break_check = tie_break_check
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        k = data.n_classes
        self.n_classes_ = k
        self.n_lfs_ = data.n_lfs
        balance = data.class_balance
        self.class_balance_ = np.full(k, 1.0 / k) if balance is None else balance
        if self.tie_break_check is not None and self.tie_break_model is None:
            raise InvalidInput("tie_break_check needs a tie_break_model to check")
        if self.tie_break_model is not None:
            self.tie_model_ = self._fit_tie_model(self.tie_break_model, data)
        if self.tie_break_check is not None:
            self.tie_check_model_ = self._fit_tie_model(self.tie_break_check, data)

    def _fit_tie_model(self, name: str, data: FitData) -> BaseLabelModel:
        cls = get_model(name)
        if issubclass(cls, MajorityVote):
            raise InvalidInput("a majority vote cannot break its own ties")
        model = cls(**{"n_classes": data.n_classes, "random_state": self.random_state})
        given = data.class_balance if data.class_balance_source == "given" else None
        # the statistics of L are computed once and shared by both tie models
        return model.fit(data.stats, L_dev=data.L_dev, y_dev=data.y_dev, class_balance=given)

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        counts = vote_counts(L, self.n_classes_)
        top = counts.max(axis=1, keepdims=True)
        winners = (counts == top) & (top > 0)
        tie_model: BaseLabelModel | None = getattr(self, "tie_model_", None)
        check: BaseLabelModel | None = getattr(self, "tie_check_model_", None)
        tied = np.flatnonzero(winners.sum(axis=1) > 1)
        if tie_model is not None and tied.size:
            tied_votes = L.take_records(tied)
            picked = _favourites(tie_model, tied_votes, winners[tied])
            if check is not None:
                picked &= _favourites(check, tied_votes, winners[tied])
            decided = picked.any(axis=1)  # where a checked pick disagrees, the tie stays
            winners[tied[decided]] = picked[decided]
        probs = winners / np.maximum(winners.sum(axis=1, keepdims=True), 1)
        uncovered = top[:, 0] == 0
        probs[uncovered] = self.class_balance_
        return np.asarray(probs, dtype=np.float64)


def _favourites(
    model: BaseLabelModel, L: LabelMatrix, tied: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Among each record's ``tied`` classes, those ``model`` rates highest."""
    inner = model.predict_proba(L) * tied
    best = inner.max(axis=1, keepdims=True)
    return np.asarray(tied & (inner >= best - 1e-12), dtype=bool)


__all__ = ["MajorityVote", "vote_counts"]
