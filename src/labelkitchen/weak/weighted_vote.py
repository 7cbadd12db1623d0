"""Weighted vote: majority vote where each source counts by how often it is right.

The "one-coin" model: source ``j`` votes the true class with probability ``a_j`` and otherwise one
of the ``K - 1`` others uniformly; abstains carry no information. The exact posterior is then a
vote weighted by ``w_j = log(a_j (K - 1) / (1 - a_j))`` plus ``log p`` for the class balance ``p``.

Accuracies come from (hyperparameter ``accuracy_source``):

- ``"dev"``: the dev gold, counting each source's correct votes;
- ``"agreement"``: agreement with the weighted vote of the *other* sources on records where they
  vote (leave-one-out, so a source never confirms itself), iterated a few times;
- ``"auto"``: dev gold when ``fit`` gets it, else agreement.

Either way counts are shrunk towards ``prior_accuracy`` with ``prior_strength`` pseudo-votes, so a
source seen on three records does not get accuracy 1.0. A source estimated worse than chance gets
weight zero rather than a negative one. Fitting runs on the distinct rows of ``L`` with counts.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import BaseLabelModel, FitData, FloatArray, softmax_rows
from labelkitchen.weak.registry import register_model

AccuracySource = Literal["auto", "dev", "agreement"]
_ACCURACY_CAP = 0.99


@register_model("weighted_vote.v1")
class WeightedVote(BaseLabelModel):
    """Accuracy-weighted vote (one-coin model); see the module documentation.

    Learned attributes: ``accuracy_`` (per source), ``weights_`` (per source log-odds),
    ``class_balance_`` (given, from dev gold, else uniform), ``accuracy_source_`` (``"dev"`` or
    ``"agreement"``), ``n_iter_``.
    """

    def __init__(
        self,
        *,
        n_classes: int | None = None,
        accuracy_source: AccuracySource = "auto",
        prior_accuracy: float = 0.7,
        prior_strength: float = 20.0,
        max_iter: int = 10,
        tol: float = 1e-4,
        random_state: int | None = None,
    ) -> None:
        self.n_classes = n_classes
        self.accuracy_source = accuracy_source
        self.prior_accuracy = prior_accuracy
        self.prior_strength = prior_strength
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        if self.accuracy_source not in ("auto", "dev", "agreement"):
            raise InvalidInput(
                "accuracy_source must be 'auto', 'dev' or 'agreement', "
                f"got {self.accuracy_source!r}"
            )
        if self.prior_strength < 0:
            raise InvalidInput(f"prior_strength must be non-negative, got {self.prior_strength}")
        k = data.n_classes
        if not 1.0 / k < self.prior_accuracy < 1.0:
            raise InvalidInput(
                f"prior_accuracy must lie in (1/K, 1) = ({1.0 / k:.3g}, 1), "
                f"got {self.prior_accuracy}"
            )
        source = self.accuracy_source
        if source == "auto":
            source = "dev" if data.y_dev is not None else "agreement"
        rows = data.stats.matrix()
        weights = data.stats.counts.astype(np.float64)
        if source == "dev":
            if data.L_dev is None or data.y_dev is None:
                raise InvalidInput("accuracy_source='dev' needs L_dev and y_dev in fit")
            accuracy = self._dev_accuracy(data.L_dev, data.y_dev)
            n_iter = 0
        else:
            accuracy, n_iter = self._agreement_accuracy(rows, weights, k)
        self.n_classes_ = k
        self.n_lfs_ = rows.n_lfs
        self.accuracy_ = accuracy
        self.weights_ = log_odds(accuracy, k)
        self.class_balance_ = (
            np.full(k, 1.0 / k) if data.class_balance is None else data.class_balance
        )
        self.accuracy_source_ = source
        self.n_iter_ = n_iter

    def _shrink(self, correct: FloatArray, cast: FloatArray) -> FloatArray:
        strength = self.prior_strength
        accuracy = (correct + self.prior_accuracy * strength) / np.maximum(cast + strength, 1e-12)
        accuracy = np.where(cast + strength > 0, accuracy, self.prior_accuracy)
        return np.asarray(accuracy, dtype=np.float64)

    def _dev_accuracy(self, L_dev: LabelMatrix, y_dev: npt.NDArray[np.int64]) -> FloatArray:
        rows, cols, labels = L_dev.to_triplets()
        known = y_dev[rows] >= 0
        rows, cols, labels = rows[known], cols[known], labels[known]
        hits = (labels == y_dev[rows]).astype(np.float64)
        correct = np.bincount(cols, weights=hits, minlength=L_dev.n_lfs).astype(np.float64)
        cast = np.bincount(cols, minlength=L_dev.n_lfs).astype(np.float64)
        return self._shrink(correct, cast)

    def _agreement_accuracy(
        self, L: LabelMatrix, counts: FloatArray, k: int
    ) -> tuple[FloatArray, int]:
        rows, cols, labels = L.to_triplets()
        accuracy = np.full(L.n_lfs, self.prior_accuracy)
        vote_weight = counts[rows]
        n_iter = 0
        for iteration in range(1, max(self.max_iter, 1) + 1):
            n_iter = iteration
            w = log_odds(accuracy, k)
            own = w[cols]
            scores = _scores(rows, labels, own, L.n_records, k)
            agree, use = _leave_one_out_agreement(scores, rows, labels, own)
            agreeing = (agree * vote_weight)[use]
            correct = np.bincount(cols[use], weights=agreeing, minlength=L.n_lfs).astype(np.float64)
            cast = np.bincount(cols[use], weights=vote_weight[use], minlength=L.n_lfs).astype(
                np.float64
            )
            updated = self._shrink(correct, cast)
            change = float(np.abs(updated - accuracy).max()) if updated.size else 0.0
            accuracy = updated
            if change < self.tol:
                break
        return accuracy, n_iter

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        rows, cols, labels = L.to_triplets()
        scores = _scores(rows, labels, self.weights_[cols], L.n_records, self.n_classes_)
        scores += np.log(np.clip(self.class_balance_, 1e-12, None))[None, :]
        return softmax_rows(scores)


def _leave_one_out_agreement(
    scores: FloatArray,
    rows: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int8],
    own: FloatArray,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """For each vote, the chance that the weighted vote of the *other* sources on its record,
    ties broken at random, picks the same label; and whether those others said anything.

    Works from per-record summaries (top score and how many classes share it, the runner-up
    score and its count) instead of a classes-wide copy per vote.
    """
    eps = 1e-9
    n, k = scores.shape
    top1 = scores.max(axis=1)
    at_top = scores >= top1[:, None] - eps
    n_top = at_top.sum(axis=1)
    below = np.where(at_top, -np.inf, scores)
    top2 = below.max(axis=1) if k > 1 else np.full(n, -np.inf)
    n_second = (below >= top2[:, None] - eps).sum(axis=1) if k > 1 else np.zeros(n, np.int64)
    mine = scores[rows, labels] - own  # the vote's class after removing the vote itself
    was_top = at_top[rows, labels]
    shared = was_top & (n_top[rows] >= 2)
    best_other = np.where(was_top & ~shared, top2[rows], top1[rows])  # max over other classes
    n_other = np.where(was_top, np.where(shared, n_top[rows] - 1, n_second[rows]), n_top[rows])
    best_other = np.where(n_other > 0, best_other, -np.inf)
    leader = np.maximum(mine, best_other)
    use = leader > eps
    agree = np.where(
        mine > best_other + eps, 1.0, np.where(mine >= best_other - eps, 1.0 / (n_other + 1), 0.0)
    )
    return np.asarray(agree, dtype=np.float64), np.asarray(use, dtype=bool)


def _scores(
    rows: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int8],
    weights: FloatArray,
    n_records: int,
    n_classes: int,
) -> FloatArray:
    """``records x classes`` sums of vote weights."""
    flat = rows * n_classes + labels.astype(np.int64)
    summed = np.bincount(flat, weights=weights, minlength=n_records * n_classes)
    return np.asarray(summed.reshape(n_records, n_classes), dtype=np.float64)


def log_odds(accuracy: FloatArray, n_classes: int) -> FloatArray:
    """Vote weight of a source with the given accuracy; zero at chance level or below."""
    a = np.clip(np.asarray(accuracy, dtype=np.float64), 1e-6, _ACCURACY_CAP)
    return np.asarray(np.maximum(np.log(a * (n_classes - 1) / (1.0 - a)), 0.0), dtype=np.float64)


__all__ = ["WeightedVote", "log_odds"]
