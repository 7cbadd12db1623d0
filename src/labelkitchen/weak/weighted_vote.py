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
source seen on three records does not get accuracy 1.0. Fitting runs on the distinct rows of ``L``
with counts.

Sources that vote one class only (most keyword rules): agreement ranks them within their class,
but cannot tell how right one class's sources are compared with another's, and letting it try
feeds back until one class's sources carry all the weight. With ``one_sided="prior"`` (default)
the mean weight of each class's one-sided sources is held at the prior's after every round;
``"free"`` lets it drift.

A source's accuracy is the share of its votes that are right, which already contains the class
balance ``p``. A vote for class ``c`` therefore weighs ``logit(a_j) - logit(p_c)`` (how far the
source lifts ``c`` above its share), floored at zero, and ``log p`` is added once. With a uniform
balance this is the one-coin weight above.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import (
    BaseLabelModel,
    FitData,
    FloatArray,
    row_max,
    row_sum,
    softmax_rows,
)
from labelkitchen.weak.registry import register_model

AccuracySource = Literal["auto", "dev", "agreement"]
OneSided = Literal["prior", "free"]
_ACCURACY_CAP = 0.99


@register_model("weighted_vote.v1")
class WeightedVote(BaseLabelModel):
    """Accuracy-weighted vote (one-coin model); see the module documentation.

    Learned attributes: ``accuracy_`` (per source), ``weights_`` (per source log-odds under a
    uniform class balance),
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
        one_sided: OneSided = "prior",
        max_iter: int = 10,
        tol: float = 1e-4,
        random_state: int | None = None,
    ) -> None:
        self.n_classes = n_classes
        self.accuracy_source = accuracy_source
        self.one_sided = one_sided
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
        if self.one_sided not in ("prior", "free"):
            raise InvalidInput(f"one_sided must be 'prior' or 'free', got {self.one_sided!r}")
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
        balance = np.full(k, 1.0 / k) if data.class_balance is None else data.class_balance
        self.accuracy_ = accuracy
        self.weights_ = log_odds(accuracy, k)
        self.class_balance_ = balance
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
        flat = rows * k + labels.astype(np.int64)  # each vote's (record, class) cell
        accuracy = np.full(L.n_lfs, self.prior_accuracy)
        vote_weight = None if bool(np.all(counts == 1)) else counts[rows]
        polarity = one_sided_polarity(cols, labels, L.n_lfs) if self.one_sided == "prior" else None
        prior_weight = float(log_odds(np.array([self.prior_accuracy]), k)[0])
        n_iter = 0
        for iteration in range(1, max(self.max_iter, 1) + 1):
            n_iter = iteration
            own = log_odds(accuracy, k)[cols]
            summed = np.bincount(flat, weights=own, minlength=L.n_records * k).astype(
                np.float64, copy=False
            )
            agree, use = _leave_one_out_agreement(summed.reshape(L.n_records, k), flat, own)
            # votes whose record has no other say count zero (adding 0.0 keeps the sums exact)
            weight = use.astype(np.float64) if vote_weight is None else use * vote_weight
            agreeing = agree * weight
            correct = np.bincount(cols, weights=agreeing, minlength=L.n_lfs).astype(np.float64)
            cast = np.bincount(cols, weights=weight, minlength=L.n_lfs).astype(np.float64)
            updated = self._shrink(correct, cast)
            if polarity is not None:
                updated = hold_polarity_level(updated, polarity, prior_weight, k)
            change = float(np.abs(updated - accuracy).max()) if updated.size else 0.0
            accuracy = updated
            if change < self.tol:
                break
        return accuracy, n_iter

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        rows, cols, labels = L.to_triplets()
        weights = vote_weights(self.accuracy_[cols], labels, self.class_balance_)
        scores = _scores(rows, labels, weights, L.n_records, self.n_classes_)
        scores += np.log(np.clip(self.class_balance_, 1e-12, None))[None, :]
        return softmax_rows(scores)


def _leave_one_out_agreement(
    scores: FloatArray, flat: npt.NDArray[np.int64], own: FloatArray
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """For each vote (its ``flat`` cell ``record * K + class`` of ``scores``, its weight
    ``own``), the chance that the weighted vote of the *other* sources on its record, ties
    broken at random, picks the same label; and whether those others said anything.

    Works from per-cell summaries (the best score among the record's other classes and how many
    classes share it) instead of a classes-wide copy per vote.
    """
    eps = 1e-9
    n, k = scores.shape
    top1 = row_max(scores)
    at_top = scores >= top1[:, None] - eps
    n_top = row_sum(at_top)
    below = np.where(at_top, -np.inf, scores)
    top2 = row_max(below) if k > 1 else np.full(n, -np.inf)
    n_second = row_sum(below >= top2[:, None] - eps) if k > 1 else np.zeros(n, np.int64)
    # per cell: the best of the other classes, and how many of them reach it; a class that led
    # alone sees the runner-up, any other class the top
    alone = at_top & (n_top == 1)[:, None]
    best_cell = np.where(alone, top2[:, None], top1[:, None])
    count_cell = np.where(alone, n_second[:, None], (n_top[:, None] - at_top))
    best_cell[count_cell == 0] = -np.inf
    mine = scores.ravel()[flat] - own  # the vote's class after removing the vote itself
    best_other = best_cell.ravel()[flat]
    use = np.maximum(mine, best_other) > eps
    lead = mine - best_other  # +inf where no other class has a score
    agree = (lead > eps).astype(np.float64)
    level = np.flatnonzero(np.abs(lead) <= eps)
    agree[level] = 1.0 / (count_cell.ravel()[flat[level]] + 1)
    return agree, use


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


def one_sided_polarity(
    cols: npt.NDArray[np.int64], labels: npt.NDArray[np.int8], n_lfs: int
) -> npt.NDArray[np.int64]:
    """Per source, the one class it votes, or ``-1`` if it votes several (or none)."""
    low = np.full(n_lfs, np.iinfo(np.int64).max)
    high = np.full(n_lfs, -1)
    np.minimum.at(low, cols, labels.astype(np.int64))
    np.maximum.at(high, cols, labels.astype(np.int64))
    return np.asarray(np.where(low == high, high, -1), dtype=np.int64)


def hold_polarity_level(
    accuracy: FloatArray, polarity: npt.NDArray[np.int64], prior_weight: float, n_classes: int
) -> FloatArray:
    """Rescale the weights of the sources that vote one class only, class by class, so their
    mean is ``prior_weight``: agreement ranks such sources within a class, but cannot tell how
    right one class's sources are compared with another's."""
    weights = log_odds(accuracy, n_classes)
    for c in np.unique(polarity[polarity >= 0]):
        group = polarity == c
        mean = float(weights[group].mean())
        weights[group] = weights[group] * (prior_weight / mean) if mean > 0 else prior_weight
    held = 1.0 / (1.0 + (n_classes - 1) * np.exp(-weights))
    return np.asarray(np.where(polarity >= 0, held, accuracy), dtype=np.float64)


def vote_weights(
    accuracy: FloatArray, labels: npt.NDArray[np.int8], balance: FloatArray
) -> FloatArray:
    """Weight of each vote: how much its source's accuracy (the share of its votes that are
    right) lifts its class above that class's share ``balance[label]``, in log-odds; zero when
    it does not. With a uniform balance this is :func:`log_odds`."""
    a = np.clip(np.asarray(accuracy, dtype=np.float64), 1e-6, _ACCURACY_CAP)
    p = np.clip(balance[labels.astype(np.int64)], 1e-6, 1.0 - 1e-6)
    lift = np.log(a / (1.0 - a)) - np.log(p / (1.0 - p))
    return np.asarray(np.maximum(lift, 0.0), dtype=np.float64)


def log_odds(accuracy: FloatArray, n_classes: int) -> FloatArray:
    """Vote weight of a source with the given accuracy; zero at chance level or below."""
    a = np.clip(np.asarray(accuracy, dtype=np.float64), 1e-6, _ACCURACY_CAP)
    return np.asarray(np.maximum(np.log(a * (n_classes - 1) / (1.0 - a)), 0.0), dtype=np.float64)


__all__ = ["WeightedVote", "hold_polarity_level", "log_odds", "one_sided_polarity", "vote_weights"]
