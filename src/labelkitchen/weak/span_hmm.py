"""A hidden Markov model over BIO tags: Dawid-Skene per token plus transitions between tags.

Token-level span aggregation (:mod:`labelkitchen.weak.spans`) treats tokens as independent
records. Tags are not: ``I-PER`` follows ``B-PER`` or ``I-PER``, entities have typical lengths,
and an LF that marks only part of a name still says something about its neighbours. This model
adds that: the hidden state of each token is its true tag (``2K + 1`` of them, numbered as in
:func:`~labelkitchen.weak.spans.tag_of`), states follow a Markov chain per record, and each LF
emits its vote on the token given the state, with one confusion matrix per LF exactly as in
Dawid-Skene (:func:`~labelkitchen.weak.dawid_skene.fit_confusion` and
:func:`~labelkitchen.weak.dawid_skene.log_evidence` are shared, not copied).

EM starts from the per-token majority vote (tokens no LF marked start as ``O``); the E-step is
forward-backward over every record at once (records padded to the longest, one step per token
position), the M-step re-estimates the start and transition probabilities from the expected
counts and the LFs' confusion matrices from the token posteriors. Transitions BIO forbids
(``O`` or the start to ``I``, ``I-c`` after anything but ``B-c``/``I-c``) stay impossible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput, NotFitted
from labelkitchen.weak.dawid_skene import fit_confusion, log_evidence
from labelkitchen.weak.majority import vote_counts
from labelkitchen.weak.model_base import FloatArray

if TYPE_CHECKING:  # spans.py imports this module to aggregate with it
    from labelkitchen.weak.spans import TokenMatrix

_IMPOSSIBLE = -1e30


def allowed_transitions(n_classes: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which first tags and which tag-to-tag steps BIO allows, over ``2K + 1`` tags."""
    n_tags = 2 * n_classes + 1
    inside = np.zeros(n_tags, dtype=bool)
    inside[2::2] = True
    start = ~inside
    step = np.ones((n_tags, n_tags), dtype=bool)
    step[:, inside] = False
    for c in range(n_classes):
        step[2 * c + 1, 2 * c + 2] = True  # B-c -> I-c
        step[2 * c + 2, 2 * c + 2] = True  # I-c -> I-c
    return start, step


class TagHMM:
    """HMM over the BIO tags of a :class:`~labelkitchen.weak.spans.TokenMatrix`.

    Hyperparameters as in :class:`~labelkitchen.weak.dawid_skene.DawidSkene` (``abstain``,
    ``smoothing`` of the confusion counts, ``max_iter``, ``tol`` on the mean log-likelihood per
    token) plus ``transition_smoothing`` pseudo-counts per allowed transition. Learned:
    ``n_classes_`` (entity labels ``K``), ``n_lfs_``, ``start_`` (``2K + 1``), ``transition_``
    (``2K + 1`` square), ``confusion_`` (per LF), ``n_iter_``, ``converged_``,
    ``log_likelihood_`` (per token).
    """

    def __init__(
        self,
        *,
        abstain: Literal["outcome", "ignore"] = "outcome",
        max_iter: int = 50,
        tol: float = 1e-5,
        smoothing: float = 0.01,
        transition_smoothing: float = 1.0,
        random_state: int | None = None,
    ) -> None:
        self.abstain = abstain
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.transition_smoothing = transition_smoothing
        self.random_state = random_state

    def fit(self, tokens: TokenMatrix) -> Self:
        """Learn transitions and the LFs' confusion matrices from the token votes."""
        if self.abstain not in ("outcome", "ignore"):
            raise InvalidInput(f"abstain must be 'outcome' or 'ignore', got {self.abstain!r}")
        if self.max_iter < 1 or self.smoothing < 0 or self.transition_smoothing < 0:
            raise InvalidInput(
                "max_iter must be at least 1, smoothing and transition_smoothing non-negative"
            )
        k, n_tags = tokens.n_classes, tokens.n_tags
        layout = _Layout.of(tokens.record)
        one_hot = tokens.L.one_hot(n_tags)
        allowed_start, allowed_step = allowed_transitions(k)
        posterior = _initial_posterior(tokens)
        previous = -np.inf
        self.converged_ = False
        self.n_iter_ = 0
        log_likelihood = -np.inf
        expected_pairs: FloatArray | None = None  # the first M-step reads neighbouring tokens
        for iteration in range(1, self.max_iter + 1):
            confusion = fit_confusion(
                one_hot, posterior, tokens.L.n_lfs, n_tags,
                abstain=self.abstain, smoothing=self.smoothing,
            )  # fmt: skip
            start, transition = self._transitions_from(
                posterior, layout, allowed_start, allowed_step, expected_pairs
            )
            emissions = log_evidence(one_hot, confusion, abstain=self.abstain)
            posterior, expected_pairs, total = _forward_backward(
                emissions, layout, _log(start), _log(transition)
            )
            log_likelihood = total / max(tokens.L.n_records, 1)
            self.n_iter_ = iteration
            if abs(log_likelihood - previous) < self.tol:
                self.converged_ = True
                break
            previous = log_likelihood
        self.n_classes_ = k
        self.n_lfs_ = tokens.L.n_lfs
        self.start_ = start
        self.transition_ = transition
        self.confusion_ = confusion
        self.log_likelihood_ = float(log_likelihood)
        return self

    def predict_proba(self, tokens: TokenMatrix) -> FloatArray:
        """Posterior tag probabilities per token (tokens x ``2K + 1``), by forward-backward."""
        if not hasattr(self, "confusion_"):
            raise NotFitted("TagHMM is not fitted yet; call fit(tokens) first")
        if tokens.n_classes != self.n_classes_ or tokens.L.n_lfs != self.n_lfs_:
            raise InvalidInput(
                f"TagHMM was fitted on {self.n_lfs_} LFs and {self.n_classes_} labels, got "
                f"{tokens.L.n_lfs} LFs and {tokens.n_classes} labels"
            )
        one_hot = tokens.L.one_hot(tokens.n_tags)
        emissions = log_evidence(one_hot, self.confusion_, abstain=self.abstain)
        layout = _Layout.of(tokens.record)
        posterior, _, _ = _forward_backward(
            emissions, layout, _log(self.start_), _log(self.transition_)
        )
        return posterior

    def _transitions_from(
        self,
        posterior: FloatArray,
        layout: _Layout,
        allowed_start: npt.NDArray[np.bool_],
        allowed_step: npt.NDArray[np.bool_],
        expected_pairs: FloatArray | None,
    ) -> tuple[FloatArray, FloatArray]:
        firsts = posterior[layout.first_rows].sum(axis=0)
        if expected_pairs is None:  # from the initial posteriors of neighbouring tokens
            previous_rows = layout.pair_rows
            expected_pairs = posterior[previous_rows].T @ posterior[previous_rows + 1]
        alpha = self.transition_smoothing
        start = np.where(allowed_start, firsts + alpha, 0.0)
        step = np.where(allowed_step, expected_pairs + alpha, 0.0)
        start = np.maximum(start, 1e-300 * allowed_start)
        step = np.maximum(step, 1e-300 * allowed_step)
        start = start / start.sum()
        step = step / step.sum(axis=1, keepdims=True)
        return np.asarray(start, dtype=np.float64), np.asarray(step, dtype=np.float64)


class _Layout:
    """Where each record's tokens lie among the matrix rows, and the padded grid over them."""

    def __init__(self, starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> None:
        self.starts, self.lengths = starts, lengths
        self.first_rows = starts[lengths > 0]
        width = int(lengths.max()) if lengths.size else 0
        self.width = width
        positions = np.arange(width)
        self.valid = positions[None, :] < lengths[:, None]  # records x width
        self.rows = np.where(self.valid, starts[:, None] + positions[None, :], 0)
        follows = np.ones(int(lengths.sum()), dtype=bool)
        follows[starts[lengths > 0] + lengths[lengths > 0] - 1] = False  # last token of a record
        self.pair_rows = np.flatnonzero(follows)

    @classmethod
    def of(cls, record: npt.NDArray[np.int64]) -> _Layout:
        if record.size and np.any(np.diff(record) < 0):
            raise InvalidInput("token rows must be grouped by record, in record order")
        n_records = int(record.max()) + 1 if record.size else 0
        lengths = np.bincount(record, minlength=n_records).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return cls(starts, lengths)


def _initial_posterior(tokens: TokenMatrix) -> FloatArray:
    counts = vote_counts(tokens.L, tokens.n_tags)
    totals = counts.sum(axis=1, keepdims=True)
    posterior = np.zeros_like(counts)
    posterior[:, 0] = 1.0  # unmarked tokens start as O
    covered = totals[:, 0] > 0
    posterior[covered] = counts[covered] / totals[covered]
    return posterior


def _log(values: FloatArray) -> FloatArray:
    """Natural log with forbidden (zero-probability) entries at a large negative number."""
    safe = np.where(values > 0, values, 1.0)
    return np.asarray(np.where(values > 0, np.log(safe), _IMPOSSIBLE), dtype=np.float64)


def _forward_backward(
    emissions: FloatArray, layout: _Layout, log_start: FloatArray, log_step: FloatArray
) -> tuple[FloatArray, FloatArray, float]:
    """Token posteriors, expected transition counts and the total log-likelihood, over all
    records at once: scaled forward-backward (each step normalised, its scale kept in logs),
    one matrix product per token position; padded positions carry no evidence."""
    n_records, width = layout.valid.shape
    n_tags = log_start.size
    if width == 0:
        return np.zeros((emissions.shape[0], n_tags)), np.zeros((n_tags, n_tags)), 0.0
    start, step = np.exp(log_start), np.exp(log_step)
    shift = emissions.max(axis=1, keepdims=True)
    likelihood = np.exp(emissions - shift)  # per token, up to the factor exp(shift)
    valid = layout.valid
    grid = np.where(valid[:, :, None], likelihood[layout.rows], 1.0)
    log_scale = np.where(valid, shift[layout.rows, 0], 0.0).sum(axis=1)
    forward = np.empty((n_records, width, n_tags))
    scales = np.ones((n_records, width))
    current = start[None, :] * grid[:, 0]
    for t in range(width):
        if t:
            moved = (forward[:, t - 1] @ step) * grid[:, t]
            current = np.where(valid[:, t, None], moved, forward[:, t - 1])
        total = current.sum(axis=1)
        total = np.where(total > 0, total, 1e-300)
        scales[:, t] = np.where(valid[:, t], total, 1.0)
        forward[:, t] = current / scales[:, t, None]
    backward = np.ones((n_records, width, n_tags))
    for t in range(width - 2, -1, -1):
        inner = ((grid[:, t + 1] * backward[:, t + 1]) @ step.T) / scales[:, t + 1, None]
        backward[:, t] = np.where(valid[:, t + 1, None], inner, 1.0)
    gamma = forward * backward
    gamma /= np.maximum(gamma.sum(axis=2, keepdims=True), 1e-300)
    posterior = np.zeros((emissions.shape[0], n_tags))
    posterior[layout.rows[valid]] = gamma[valid]
    pairs = np.zeros((n_tags, n_tags))
    for t in range(1, width):
        both = valid[:, t]
        if not both.any():
            continue
        right = grid[both, t] * backward[both, t] / scales[both, t, None]
        pairs += step * (forward[both, t - 1].T @ right)
    total_log = float((np.log(scales).sum(axis=1) + log_scale).sum())
    return posterior, pairs, total_log


__all__ = ["TagHMM", "allowed_transitions"]
