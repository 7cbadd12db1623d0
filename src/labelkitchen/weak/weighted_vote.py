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

A one-sided source's accuracy is the share of its votes that are right, which already contains
the class balance ``p``. Its vote for class ``c`` therefore weighs ``logit(a_j) - logit(p_c)``
(how far the source lifts ``c`` above its share), floored at zero. A source that votes several
classes is the one-coin source above whatever the balance: its vote weighs ``w_j``. Either way
``log p`` is added once. With a uniform balance both weights are the same. (Giving a two-sided
source the lift weight would overrate its votes for a rare class: a source right 80% of the time
that votes a 10% class leaves that class at 31%, not 80%.)
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import (
    BaseLabelModel,
    FitData,
    FloatArray,
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
    uniform class balance), ``one_sided_`` (per source: it voted one class only),
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
        _, cols, labels = rows.to_triplets()
        self.one_sided_ = one_sided_polarity(cols, labels, rows.n_lfs) >= 0
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
        votes = _VoteBlocks.build(rows, cols, labels, L.votes_per_record(), k)
        accuracy = np.full(L.n_lfs, self.prior_accuracy)
        vote_weight = None if bool(np.all(counts == 1)) else counts[rows]
        per_class = _votes_per_class(cols, labels, L.n_lfs, k, vote_weight)
        all_cast = per_class.sum(axis=1)  # integers: exact in any order
        polarity = _polarity(per_class > 0) if self.one_sided == "prior" else None
        prior_weight = float(log_odds(np.array([self.prior_accuracy]), k)[0])
        n_iter = 0
        for iteration in range(1, max(self.max_iter, 1) + 1):
            n_iter = iteration
            correct, cast = votes.agreement(log_odds(accuracy, k), vote_weight, all_cast)
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
        one_sided = getattr(self, "one_sided_", None)  # absent in models saved before it
        if one_sided is not None:
            weights = np.where(one_sided[cols], weights, self.weights_[cols])
        scores = _scores(rows, labels, weights, L.n_records, self.n_classes_)
        scores += np.log(np.clip(self.class_balance_, 1e-12, None))[None, :]
        return softmax_rows(scores)


_BLOCK_RECORDS = 4096  # records per block of the agreement pass (a power of two): in cache


@dataclass(frozen=True)
class _VoteBlocks:
    """The votes of ``L`` (row-major) cut into blocks of whole records, each vote with its
    cell ``class * B + record`` counted from its block's first record (``B`` records per
    block), so that a block's weighted vote and everything derived from it fit in cache."""

    cells: npt.NDArray[np.int64]  # each vote's cell within its block
    cols: npt.NDArray[np.int64]  # each vote's source
    bounds: list[tuple[int, int]]  # per block: its first vote and the end of its votes
    n_classes: int

    @classmethod
    def build(
        cls,
        rows: npt.NDArray[np.int64],
        cols: npt.NDArray[np.int64],
        labels: npt.NDArray[np.int8],
        votes_per_record: npt.NDArray[np.int64],
        k: int,
    ) -> _VoteBlocks:
        first_vote = np.concatenate([[0], np.cumsum(votes_per_record)])
        edges = [*range(0, votes_per_record.size, _BLOCK_RECORDS), votes_per_record.size]
        bounds = [(int(first_vote[a]), int(first_vote[b])) for a, b in pairwise(edges)]
        cells = labels.astype(np.int64)
        cells *= _BLOCK_RECORDS
        cells += rows & (_BLOCK_RECORDS - 1)  # the record within its block
        return cls(cells, cols, bounds, k)

    def agreement(
        self, source_weight: FloatArray, vote_weight: FloatArray | None, cast: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Per source, how many of its votes agree with the weighted vote of the *other*
        sources on their records (a draw counts as the chance that a random tie-break picks
        the vote's class), and how many met any other say, out of the ``cast`` it cast;
        ``vote_weight`` counts each vote (``None``: once)."""
        n_lfs = cast.size
        correct = np.zeros(n_lfs)
        silent = np.zeros(n_lfs)  # votes whose record has no other say: they count zero
        width = self.n_classes * _BLOCK_RECORDS
        heaviest = float(source_weight.max()) if source_weight.size else 0.0
        for first, end in self.bounds:
            block = slice(first, end)
            cells, cols = self.cells[block], self.cols[block]
            own = source_weight[cols]
            summed = np.bincount(cells, weights=own, minlength=width)
            scores = np.asarray(summed, dtype=np.float64).reshape(self.n_classes, -1)
            agree, lone = _leave_one_out_agreement(scores, cells, own, heaviest)
            if vote_weight is not None:
                agree *= vote_weight[block]
            if lone.size:
                agree[lone] = 0.0
                weights = None if vote_weight is None else vote_weight[block][lone]
                silent += np.bincount(cols[lone], weights=weights, minlength=n_lfs)
            correct += np.bincount(cols, weights=agree, minlength=n_lfs)
        return correct, cast - silent  # integers: exact however they are added up


def _leave_one_out_agreement(
    scores: FloatArray, cells: npt.NDArray[np.int64], own: FloatArray, heaviest: float
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """For each vote (its ``cells`` index ``class * n + record`` into ``scores``, classes x
    records, and its weight ``own``: non-negative, at most ``heaviest``), the chance that the
    weighted vote of the *other* sources on its record, ties broken at random, picks the same
    label; and the votes whose record has no other say.

    Works from per-cell summaries (the best score among the record's other classes) instead of
    a classes-wide copy per vote. Removing a vote lowers its class's score by its weight, so a
    class that leads by more than ``heaviest`` keeps the lead whichever of its votes is
    removed, and one that trails the best other class stays behind: only the votes of the
    cells in between are looked at one by one (every comparison is the one made per vote, and
    floating-point subtraction is monotonic, so the shortcut decides exactly as they would).
    How many classes share the best score is only needed where a vote's class draws level
    with it, and is counted there alone.
    """
    eps = 1e-9
    k, n = scores.shape
    top1 = scores.max(axis=0)
    at_top = scores >= top1 - eps
    n_top = at_top.sum(axis=0)
    below = np.where(at_top, -np.inf, scores)
    top2 = below.max(axis=0) if k > 1 else np.full(n, -np.inf)
    # per cell: the best of the other classes; a class that led alone sees the runner-up, any
    # other class the top (with two classes or more some other class always has a score)
    alone = at_top & (n_top == 1)
    best_cell = np.where(alone, top2, top1)
    # per cell: 1 where every vote there agrees (and met another say), 0 where none agrees but
    # each met another say, NaN where the votes must be looked at one by one
    leads = np.subtract(scores - heaviest, best_cell) > eps
    trails = (np.subtract(scores, best_cell) < -eps) & (best_cell > eps)
    verdict = np.where(leads | trails, leads, np.nan).ravel()  # the two never meet
    if k == 1:
        best_cell[:] = -np.inf
        verdict[:] = np.nan
    agree = verdict[cells]
    open_votes = np.flatnonzero(np.isnan(agree))
    if open_votes.size == 0:
        return agree, open_votes
    cell = cells[open_votes]
    mine = scores.ravel()[cell]
    mine -= own[open_votes]  # the vote's class after removing the vote itself
    best_other = best_cell.ravel()[cell]
    silent = open_votes[np.maximum(mine, best_other) <= eps]
    lead = np.subtract(mine, best_other, out=mine)  # +inf where no other class has a score
    decided = (lead > eps).astype(np.float64)
    level = np.flatnonzero(np.abs(lead) <= eps)
    if level.size:  # a draw: count the classes the vote's class drew level with
        label, record = np.divmod(cell[level], n)
        runner_up = below[:, record] >= top2[record] - eps
        n_second = runner_up.sum(axis=0) if k > 1 else np.zeros(level.size, np.int64)
        others = np.where(alone[label, record], n_second, n_top[record] - at_top[label, record])
        decided[level] = 1.0 / (others + 1)
    agree[open_votes] = decided
    return agree, silent


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
    width = int(labels.max()) + 1 if labels.size else 1
    return _polarity(_votes_per_class(cols, labels, n_lfs, width, None) > 0)


def _votes_per_class(
    cols: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int8],
    n_lfs: int,
    k: int,
    vote_weight: FloatArray | None,
) -> FloatArray:
    """``sources x classes``: the votes of each source for each class (counted with
    ``vote_weight``, else once)."""
    cells = cols * k
    cells += labels
    summed = np.bincount(cells, weights=vote_weight, minlength=n_lfs * k)
    return np.asarray(summed, dtype=np.float64).reshape(n_lfs, k)


def _polarity(voted: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """The one class each source votes (``voted``: sources x classes), else ``-1``."""
    single = voted.sum(axis=1) == 1
    return np.asarray(np.where(single, voted.argmax(axis=1), -1), dtype=np.int64)


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
