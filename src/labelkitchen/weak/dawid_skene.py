"""Dawid-Skene: one confusion matrix per source, fitted by EM (Dawid and Skene, 1979).

Each source ``j`` has ``P(vote v | true class c)``; records are assumed conditionally independent
given their class. EM starts from the majority-vote posterior and alternates posteriors over the
true class (E-step) with counts of votes per true class (M-step). Both steps run on the distinct
rows of ``L`` weighted by their counts (:mod:`labelkitchen.weak.stats`), as two sparse products
over the stored votes per iteration; abstains are never materialised.

Abstains, two ways (hyperparameter ``abstain``):

- ``"outcome"`` (default for labelling functions): abstaining is one more possible vote, with its
  own probability per true class. A spam keyword rule abstains far more often on ham than on spam,
  so its silence is evidence; this model uses it.
- ``"ignore"``: only actual votes enter the likelihood. Use it for crowd workers who simply did
  not see every item: there, a missing answer says nothing about the class, and modelling it
  would let the assignment pattern leak into the labels. Do not use it for labelling functions
  that only ever vote one class (most keyword rules): given that such a rule votes, it always
  votes the same class whatever the truth, so without its abstains it carries no information
  (WRENCH youtube: 53% accuracy with ``"ignore"``, 83% with ``"outcome"``).
"""

from __future__ import annotations

from typing import Any, Literal

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

AbstainMode = Literal["outcome", "ignore"]


@register_model("dawid_skene.v1")
class DawidSkene(BaseLabelModel):
    """Dawid-Skene EM over label-function or annotator votes.

    Learned attributes: ``class_balance_`` (``K``), ``confusion_`` (``n_lfs x K x K`` of
    ``P(vote | true class)`` over actual votes, plus a last column for abstain when
    ``abstain="outcome"``: ``n_lfs x K x (K + 1)``), ``accuracy_`` (per source, the probability
    that a vote it casts is right), ``n_iter_``, ``converged_``, ``log_likelihood_`` (per record).

    A given or dev-gold class balance is held fixed; otherwise EM estimates it.
    """

    def __init__(
        self,
        *,
        n_classes: int | None = None,
        abstain: AbstainMode = "outcome",
        max_iter: int = 100,
        tol: float = 1e-6,
        smoothing: float = 0.01,
        random_state: int | None = None,
    ) -> None:
        self.n_classes = n_classes
        self.abstain = abstain
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        if self.abstain not in ("outcome", "ignore"):
            raise InvalidInput(f"abstain must be 'outcome' or 'ignore', got {self.abstain!r}")
        if self.max_iter < 1 or self.smoothing < 0:
            raise InvalidInput("max_iter must be at least 1 and smoothing non-negative")
        k = data.n_classes
        rows = data.stats.matrix()
        weights = data.stats.counts.astype(np.float64)
        unit = weights.size == 0 or (weights[0] == 1.0 and bool(np.all(weights == 1.0)))
        one_hot = rows.one_hot(k)
        n_records = max(float(weights.sum()), 1.0)

        # the records' class posteriors are kept classes x records: the per-record reductions
        # and scalings then run along long rows (the sums add the classes in the same order)
        posterior = _initial_posterior(one_hot, rows.n_lfs, k)
        fixed = data.class_balance
        previous = -np.inf
        self.converged_ = False
        self.n_iter_ = 0
        log_likelihood = -np.inf
        for iteration in range(1, self.max_iter + 1):
            balance, confusion = self._m_step(one_hot, weights, unit, posterior, k, fixed)
            log_joint = self._log_joint_by_class(one_hot, balance, confusion)
            top = log_joint.max(axis=0)  # softmax over the classes, in place
            scaled = np.exp(np.subtract(log_joint, top, out=log_joint), out=log_joint)
            totals = scaled.sum(axis=0)
            per_record = top + np.log(totals)
            if not unit:
                per_record *= weights
            log_likelihood = float(per_record.sum()) / n_records  # no BLAS: it may spawn threads
            posterior = np.divide(scaled, totals, out=scaled)
            self.n_iter_ = iteration
            if abs(log_likelihood - previous) < self.tol:
                self.converged_ = True
                break
            previous = log_likelihood
        balance, confusion = self._m_step(one_hot, weights, unit, posterior, k, fixed)
        self.n_classes_ = k
        self.n_lfs_ = rows.n_lfs
        self.class_balance_ = balance
        self.confusion_ = confusion
        self.accuracy_ = _accuracies(balance, confusion, k)
        self.log_likelihood_ = log_likelihood

    def _m_step(
        self,
        one_hot: Any,
        weights: FloatArray,
        unit: bool,
        posterior: FloatArray,
        k: int,
        fixed_balance: FloatArray | None,
    ) -> tuple[FloatArray, FloatArray]:
        """Class balance and confusion from the posteriors (classes x records)."""
        weighted = np.ascontiguousarray((posterior if unit else posterior * weights).T)
        per_class = _column_sums(weighted)
        if fixed_balance is None:
            balance = (per_class + self.smoothing) / (per_class.sum() + k * self.smoothing)
        else:
            balance = fixed_balance
        votes = np.asarray(one_hot.T @ weighted).reshape(-1, k, k)
        confusion = _confusion(votes, per_class, abstain=self.abstain, smoothing=self.smoothing)
        return np.asarray(balance, dtype=np.float64), confusion

    def _log_joint(self, one_hot: Any, balance: FloatArray, confusion: FloatArray) -> FloatArray:
        base = np.log(np.clip(balance, 1e-300, None))
        log_joint = log_evidence(one_hot, confusion, abstain=self.abstain)
        log_joint += base[None, :]
        return log_joint

    def _log_joint_by_class(
        self, one_hot: Any, balance: FloatArray, confusion: FloatArray
    ) -> FloatArray:
        """:meth:`_log_joint` transposed (classes x records), with the same additions."""
        product, base = _evidence_parts(one_hot, confusion, abstain=self.abstain)
        log_joint = np.add(product.T, base[:, None], order="C")
        log_joint += np.log(np.clip(balance, 1e-300, None))[:, None]
        return log_joint

    def _predict_proba(self, L: LabelMatrix) -> FloatArray:
        one_hot = L.one_hot(self.n_classes_)
        return softmax_rows(self._log_joint(one_hot, self.class_balance_, self.confusion_))


def fit_confusion(
    one_hot: Any,
    weighted: FloatArray,
    n_lfs: int,
    k: int,
    *,
    abstain: AbstainMode,
    smoothing: float,
) -> FloatArray:
    """The M-step for the sources: ``P(vote | true class)`` per source (``n_lfs x K x K``, or
    ``x (K + 1)`` with the abstain outcome last) from ``weighted``, the records' class
    posteriors times their counts, and ``one_hot`` (:meth:`LabelMatrix.one_hot`) of their
    votes; ``smoothing`` pseudo-counts per cell. Shared with the BIO-tag HMM over tokens."""
    votes = np.asarray(one_hot.T @ weighted).reshape(n_lfs, k, k)
    return _confusion(votes, _column_sums(weighted), abstain=abstain, smoothing=smoothing)


def _confusion(
    votes: FloatArray, per_class: FloatArray, *, abstain: AbstainMode, smoothing: float
) -> FloatArray:
    """:func:`fit_confusion` from ``votes`` (``one_hot.T @ weighted`` as source x vote x
    class) and ``per_class`` (the column sums of ``weighted``)."""
    counts = votes.transpose(0, 2, 1)  # source, true class, vote
    if abstain == "outcome":
        abstains = np.clip(per_class[None, :] - counts.sum(axis=2), 0.0, None)
        counts = np.concatenate([counts, abstains[:, :, None]], axis=2)
    counts = counts + smoothing
    totals = counts.sum(axis=2, keepdims=True)
    return np.asarray(counts / np.where(totals > 0, totals, 1.0), dtype=np.float64)


def _column_sums(values: FloatArray) -> FloatArray:
    """``values.sum(axis=0)`` of a records x classes array, adding the rows in the same order,
    several times faster (numpy reduces a short last axis one row at a time)."""
    return np.asarray(np.einsum("ij->j", values), dtype=np.float64)


def log_evidence(one_hot: Any, confusion: FloatArray, *, abstain: AbstainMode) -> FloatArray:
    """``records x K``: ``log P(the record's votes | true class)`` under the per-source
    ``confusion`` of :func:`fit_confusion` (sources independent given the class)."""
    product, base = _evidence_parts(one_hot, confusion, abstain=abstain)
    product += base[None, :]
    return product


def _evidence_parts(
    one_hot: Any, confusion: FloatArray, *, abstain: AbstainMode
) -> tuple[FloatArray, FloatArray]:
    """:func:`log_evidence` as ``records x K`` sums over the votes plus a ``K`` base (the log
    probabilities of abstaining everywhere, zero with ``abstain="ignore"``)."""
    k = confusion.shape[1]
    log_conf = np.log(np.clip(confusion, 1e-300, None))
    log_votes = log_conf[:, :, :k]  # source, class, vote
    base = np.zeros(k)
    if abstain == "outcome":
        log_abstain = log_conf[:, :, k]  # source, class
        base = log_abstain.sum(axis=0)
        log_votes = log_votes - log_abstain[:, :, None]
    table = log_votes.transpose(0, 2, 1).reshape(-1, k)  # (source, vote) x class
    product = np.array(one_hot @ table, dtype=np.float64, copy=None)
    return product, np.asarray(base, dtype=np.float64)


def _initial_posterior(one_hot: Any, n_lfs: int, k: int) -> FloatArray:
    """Majority vote's split (classes x records): each record's votes per class over its votes
    (uniform if none), counted by one sparse product with the one-hot votes."""
    counts = np.asarray(one_hot @ np.tile(np.eye(k), (n_lfs, 1)), dtype=np.float64)
    by_class = np.ascontiguousarray(counts.T)
    totals = by_class.sum(axis=0)
    return np.where(totals > 0, by_class / np.where(totals > 0, totals, 1.0), 1.0 / k)


def _accuracies(balance: FloatArray, confusion: FloatArray, k: int) -> npt.NDArray[np.float64]:
    votes = confusion[:, :, :k]
    voting = votes.sum(axis=2)  # P(votes at all | class)
    correct = np.einsum("c,jcc->j", balance, votes)
    cast = voting @ balance
    return np.asarray(correct / np.where(cast > 0, cast, 1.0), dtype=np.float64)


__all__ = ["AbstainMode", "DawidSkene", "fit_confusion", "log_evidence"]
