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

With ``tie_break_overrule`` as well, the two models go beyond ties: where both rate the same
class strictly highest and it is not the clear majority's class, that class wins. Two models
built on different assumptions that agree against the raw count are more often right than the
count: chosen on 200 random LF sets and then run on five other ranges of 400 (below), it raised
the mean gain over majority vote by 1.1 to 1.3 points in every range, while the sets more than
0.5 points below majority vote went from 4 to 5 of the 2,000 (docs/weak-supervision.md). A
model that fails the run-away check below overrules nothing.

Both models see the votes with near-copy LFs merged into one column
(``tie_break_merge_copies``; :mod:`~labelkitchen.weak.redundancy`): a pair of near-identical
keyword lists facing one other LF is not two independent witnesses, and both models would count
it twice. And both are checked against majority vote itself (``tie_break_min_agreement``): on
the training votes each must pick majority vote's class on at least that share of the records
where the majority is clear; a model that overturns more of them has run away (Dawid-Skene's EM
settling on a wrong class balance), and the ties stay ties. On 400 random LF sets drawn after
these settings were chosen (:mod:`~labelkitchen.weak.synthetic`; half with near-copies) the
checked tie-break fell more than 0.5 points below plain majority vote on 21; with copies merged
and the run-away check on 2 (docs/weak-supervision.md). ``tie_groups_`` holds each LF's group
(the index of its first LF), ``tie_agreement_`` each model's share and ``tie_break_used_``
whether ties are broken.

On large label matrices the tie models are fitted on ``tie_break_sample`` records (50,000 by
default, evenly spaced over the distinct rows weighted by their counts) when the votes have
more distinct rows than that, and the two are fitted side by side in two threads: on 100,000
records x 100 LFs this halves the fit and leaves the expected accuracy as it was
(``benchmarks/weak.py`` times and scores both). Majority vote itself, and the run-away check,
always use every record.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import (
    BaseLabelModel,
    FitData,
    FloatArray,
    clear_majority,
    vote_counts,
)
from labelkitchen.weak.redundancy import merge_columns, merge_stats_columns, near_copy_groups
from labelkitchen.weak.registry import get_model, register_model
from labelkitchen.weak.stats import LabelStats


@register_model("majority_vote.v1")
class MajorityVote(BaseLabelModel):
    """Each record goes to the class with most votes.

    ``predict_proba`` splits the probability evenly among the classes tied for most votes (or,
    with ``tie_break_model``, gives it to those of them that model rates highest); a record
    without votes gets, with dev gold, the class shares among the dev records without votes
    (see :func:`~labelkitchen.weak.model_base.uncovered_balance`), else the class balance
    (given, else uniform). ``fit`` learns
    nothing from the votes themselves; it records the number of classes, the number of sources,
    the class balance, and the fitted tie-breaking models as ``tie_model_`` and
    ``tie_check_model_``, their agreement with clear majorities as ``tie_agreement_``, and
    whether they break ties (``tie_break_used_``: each reached ``tie_break_min_agreement``).
    With ``tie_break_overrule`` (which needs ``tie_break_check``) the two models also decide
    records with a clear majority wherever both rate the same other class strictly highest.
    """

    def __init__(
        self,
        *,
        n_classes: int | None = None,
        tie_break_model: str | None = None,
        tie_break_check: str | None = None,
        tie_break_merge_copies: bool = True,
        tie_break_min_agreement: float = 0.6,
        tie_break_sample: int | None = 50_000,
        tie_break_overrule: bool = False,
        random_state: int | None = None,
    ) -> None:
        self.n_classes = n_classes
        self.tie_break_model = tie_break_model
        self.tie_break_check = tie_break_check
        self.tie_break_overrule = tie_break_overrule
        self.tie_break_merge_copies = tie_break_merge_copies
        self.tie_break_min_agreement = tie_break_min_agreement
        self.tie_break_sample = tie_break_sample
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        k = data.n_classes
        self.n_classes_ = k
        self.n_lfs_ = data.n_lfs
        balance = data.class_balance
        self.class_balance_ = np.full(k, 1.0 / k) if balance is None else balance
        if self.tie_break_check is not None and self.tie_break_model is None:
            raise InvalidInput("tie_break_check needs a tie_break_model to check")
        if self.tie_break_overrule and self.tie_break_check is None:
            raise InvalidInput(
                "tie_break_overrule needs a tie_break_check: a clear majority is overruled only "
                "where two models agree"
            )
        if self.tie_break_model is None:
            return
        if not 0.0 <= self.tie_break_min_agreement <= 1.0:
            raise InvalidInput(
                f"tie_break_min_agreement must lie in [0, 1], got {self.tie_break_min_agreement}"
            )
        cap = self.tie_break_sample
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise InvalidInput(f"tie_break_sample must be None or a positive int, got {cap!r}")
        groups = np.arange(data.n_lfs, dtype=np.int64)
        if self.tie_break_merge_copies:
            groups = near_copy_groups(data.stats, k)
        self.tie_groups_ = groups
        merged = _MergedFitData(data, groups, cap)
        names = [self.tie_break_model]
        if self.tie_break_check is not None:
            names.append(self.tie_break_check)
        models = self._fit_tie_models(names, merged)
        self.tie_model_ = models[0]
        if self.tie_break_check is not None:
            self.tie_check_model_ = models[1]
        shares = _agreement_with_majority(models, data, groups)
        self.tie_agreement_ = dict(zip(names, shares, strict=True))
        self.tie_break_used_ = all(s >= self.tie_break_min_agreement for s in shares)

    def _fit_tie_models(self, names: list[str], merged: _MergedFitData) -> list[BaseLabelModel]:
        """The tie models, fitted side by side in threads when the votes are many (numpy and
        scipy let go of the GIL in their loops, so two models take little more than one)."""
        stats = merged.data.stats
        if len(names) == 1 or stats.n_unique * stats.n_lfs < _THREADED_CELLS:
            return [self._fit_tie_model(name, merged) for name in names]
        merged.prepare()  # the shared statistics, once, before the threads read them
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            futures = [pool.submit(self._fit_tie_model, name, merged) for name in names]
            return [future.result() for future in futures]

    def _fit_tie_model(self, name: str, merged: _MergedFitData) -> BaseLabelModel:
        cls = get_model(name)
        if issubclass(cls, MajorityVote):
            raise InvalidInput("a majority vote cannot break its own ties")
        data = merged.data
        model = cls(**{"n_classes": data.n_classes, "random_state": self.random_state})
        given = data.class_balance if data.class_balance_source == "given" else None
        # the merged statistics are computed once and shared by both tie models
        return model.fit(merged.stats, L_dev=merged.L_dev, y_dev=data.y_dev, class_balance=given)

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        counts = vote_counts(L, self.n_classes_)
        top = counts.max(axis=1, keepdims=True)
        winners = (counts == top) & (top > 0)
        tie_model: BaseLabelModel | None = getattr(self, "tie_model_", None)
        check: BaseLabelModel | None = getattr(self, "tie_check_model_", None)
        n_top = winners.sum(axis=1)
        tied, clear = np.flatnonzero(n_top > 1), np.flatnonzero(n_top == 1)
        if not getattr(self, "tie_break_used_", True):
            tie_model = None  # a tie-breaker that overturned clear majorities in fit
        if tie_model is not None and tied.size:
            tied_votes = L.take_records(tied)
            groups = getattr(self, "tie_groups_", None)
            if groups is not None:
                tied_votes = merge_columns(tied_votes, groups)
            picked = _favourites(tie_model, tied_votes, winners[tied])
            if check is not None:
                picked &= _favourites(check, tied_votes, winners[tied])
            decided = picked.any(axis=1)  # where a checked pick disagrees, the tie stays
            winners[tied[decided]] = picked[decided]
        if tie_model is not None and check is not None and self.tie_break_overrule:
            self._overrule(L, clear, winners, tie_model, check)
        probs = winners / np.maximum(winners.sum(axis=1, keepdims=True), 1)
        uncovered = top[:, 0] == 0
        probs[uncovered] = self.class_balance_
        return np.asarray(probs, dtype=np.float64)

    def _overrule(
        self,
        L: LabelMatrix,
        clear: npt.NDArray[np.intp],
        winners: npt.NDArray[np.bool_],
        tie_model: BaseLabelModel,
        check: BaseLabelModel,
    ) -> None:
        """Where the majority is ``clear`` (records) but both models rate one other class
        strictly highest, make that class the winner (``winners`` is changed in place)."""
        if not clear.size:
            return
        votes = L.take_records(clear)
        groups = getattr(self, "tie_groups_", None)
        if groups is not None:
            votes = merge_columns(votes, groups)
        first = _strict_favourite(tie_model.predict_proba(votes))
        second = _strict_favourite(check.predict_proba(votes))
        majority = np.argmax(winners[clear], axis=1)
        overruled = (first >= 0) & (first == second) & (first != majority)
        rows = clear[overruled]
        winners[rows] = False
        winners[rows, first[overruled]] = True


_AGREEMENT_ROWS = 5_000
_THREADED_CELLS = 1_000_000
"""Distinct vote rows x LFs from which the two tie models are fitted in two threads."""


class _MergedFitData:
    """The training votes with near-copy LFs merged (:mod:`~labelkitchen.weak.redundancy`),
    as the tie-breaking models see them; computed on first use and shared. Where they have more
    than ``sample`` distinct rows, ``sample`` records evenly spaced over them stand in for them
    (each distinct row's count becomes how many of the sample fall on it: no randomness, so a
    fit does not depend on ``random_state``)."""

    def __init__(self, data: FitData, groups: npt.NDArray[np.int64], sample: int | None) -> None:
        self.data = data
        self.groups = groups
        self.sample = sample

    @cached_property
    def stats(self) -> LabelStats:
        merged = merge_stats_columns(self.data.stats, self.groups)
        if self.sample is None or merged.n_unique <= self.sample:
            return merged
        # systematic: every (records / sample)-th record, in the order of the distinct rows
        ends = np.cumsum(merged.counts)
        picks = (np.arange(self.sample) + 0.5) * (float(ends[-1]) / self.sample)
        drawn = np.bincount(
            np.searchsorted(ends, picks, side="right"), minlength=merged.n_unique
        ).astype(np.int64)
        kept = np.flatnonzero(drawn)
        return merged.take(kept, counts=drawn[kept])

    @cached_property
    def L_dev(self) -> LabelMatrix | None:
        dev = self.data.L_dev
        return None if dev is None else merge_columns(dev, self.groups)

    def prepare(self) -> None:
        """Compute what the tie models share."""
        _ = self.stats, self.L_dev


def _agreement_with_majority(
    models: list[BaseLabelModel], data: FitData, groups: npt.NDArray[np.int64]
) -> list[float]:
    """For each model, the share of the training records with a clear majority (one class with
    most votes) on which the model rates that class highest (a tie among its top classes counts
    by share). Measured on the distinct rows of ``L`` weighted by how often each occurs, at most
    :data:`_AGREEMENT_ROWS` of them (evenly spaced): a share to within about 1.5 points."""
    rows = data.stats.matrix()
    counts = data.stats.counts.astype(np.float64)
    winner = clear_majority(vote_counts(rows, data.n_classes))
    clear = np.flatnonzero(winner >= 0)
    if clear.size == 0:
        return [1.0 for _ in models]
    if clear.size > _AGREEMENT_ROWS:
        clear = clear[np.linspace(0, clear.size - 1, _AGREEMENT_ROWS).astype(np.int64)]
    majority = winner[clear]
    weight = counts[clear]
    subset = merge_columns(rows.take_records(clear), groups)
    shares = []
    for model in models:
        probs = model.predict_proba(subset)
        best = probs.max(axis=1, keepdims=True)
        at_top = probs >= best - 1e-12
        hit = at_top[np.arange(clear.size), majority] / at_top.sum(axis=1)
        shares.append(float(np.sum(hit * weight) / np.sum(weight)))
    return shares


def _favourites(
    model: BaseLabelModel, L: LabelMatrix, tied: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Among each record's ``tied`` classes, those ``model`` rates highest."""
    inner = model.predict_proba(L) * tied
    best = inner.max(axis=1, keepdims=True)
    return np.asarray(tied & (inner >= best - 1e-12), dtype=bool)


def _strict_favourite(probs: FloatArray) -> npt.NDArray[np.int64]:
    """Per record, the class rated strictly highest, or ``-1`` where the top classes tie."""
    best = probs.max(axis=1, keepdims=True)
    alone = (probs >= best - 1e-12).sum(axis=1) == 1
    return np.where(alone, np.argmax(probs, axis=1), -1).astype(np.int64)


__all__ = ["MajorityVote", "vote_counts"]
