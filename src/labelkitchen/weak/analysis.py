"""How labelling functions behave: coverage, overlaps, conflicts and, against gold, accuracy.

:func:`lf_summary` gives one :class:`LFStats` row per LF. Fractions are over all records;
counts against gold only use records whose gold is known (``y >= 0``). A value that cannot be
computed (an LF that never voted on a gold record has no accuracy) is ``None``, never 0.

:func:`score_with_abstains` reports a metric the abstain-aware way: coverage, the metric on the
covered records, and the metric with the uncovered ones filled by a stated policy, side by side.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.labels import ABSTAIN
from labelkitchen.weak.matrix import LabelMatrix, as_label_matrix
from labelkitchen.weak.redundancy import MAX_ROWS, near_copy_groups
from labelkitchen.weak.stats import compute_stats

Metric = Literal["accuracy", "f1", "macro_f1"]
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class LFStats:
    """One LF's row of :func:`lf_summary`.

    ``overlaps``: fraction of records it votes on where another LF votes too; ``conflicts``:
    where another LF votes a different label. ``conflicts_most_with`` names the LF it disagrees
    with on most records (``conflict_count`` of them). With gold: ``correct``, ``incorrect``,
    ``accuracy`` with its 95% Wilson interval, and per class (by index) the precision of its
    votes for that class and its recall of that class. ``near_copies`` names the LFs that look
    like near-copies of it (:mod:`~labelkitchen.weak.redundancy`: they fire together far more
    than independent LFs would and agree where both fire); the default label model counts such
    a group once when it breaks ties.
    """

    name: str
    polarity: tuple[int, ...]
    coverage: float
    overlaps: float
    conflicts: float
    n_votes: int
    conflicts_most_with: str | None
    conflict_count: int
    correct: int | None = None
    incorrect: int | None = None
    accuracy: float | None = None
    accuracy_low: float | None = None
    accuracy_high: float | None = None
    precision: dict[int, float | None] | None = None
    recall: dict[int, float | None] | None = None
    near_copies: tuple[str, ...] = ()
    label: str | None = None
    """For a multilabel breakdown (:func:`~labelkitchen.weak.multilabel.lf_summary_per_label`),
    the label this row is about: its classes are then 0 (absent) and 1 (present)."""


@dataclass(frozen=True)
class LFSummary:
    """Per-LF statistics plus the pairwise conflict counts (``n_lfs x n_lfs``)."""

    rows: tuple[LFStats, ...]
    conflict_counts: npt.NDArray[np.int64]
    n_records: int

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per LF (for a table, JSON or a DataFrame)."""
        return [asdict(row) for row in self.rows]

    def row(self, name: str) -> LFStats:
        for row in self.rows:
            if row.name == name:
                return row
        raise InvalidInput(f"no LF named {name!r}; available: {[r.name for r in self.rows]}")


def lf_summary(
    L: LabelMatrix | npt.ArrayLike,
    y: npt.ArrayLike | None = None,
    *,
    lf_names: Sequence[str] | None = None,
    n_classes: int | None = None,
    cache: PairwiseCache | None = None,
) -> LFSummary:
    """Polarity, coverage, overlaps and conflicts of every LF, and with gold ``y`` (``-1`` for
    unknown) correct/incorrect counts, empirical accuracy with a 95% Wilson interval and
    per-class precision/recall.

    With a :class:`PairwiseCache` (kept by the caller between calls), the pairwise conflict
    counts are recomputed only for the LFs whose votes changed since the previous call: after
    editing one LF, one row and one column instead of all pairs."""
    matrix = as_label_matrix(L)
    n, m = matrix.shape
    names = list(lf_names) if lf_names is not None else [f"lf_{j}" for j in range(m)]
    if len(names) != m:
        raise InvalidInput(f"got {len(names)} LF names for {m} LFs")
    gold = None if y is None else np.asarray(y).astype(np.int64).ravel()
    if gold is not None and gold.size != n:
        raise InvalidInput(f"L has {n} records but y has {gold.size} labels")
    seen = max(matrix.max_label(), int(gold.max()) if gold is not None and gold.size else -1)
    k = max(seen + 1, 1) if n_classes is None else int(n_classes)

    rows, cols, labels = matrix.to_triplets()
    votes_here = matrix.votes_per_record()
    per_class = np.bincount(rows * k + labels, minlength=n * k).reshape(n, k)
    others_vote = votes_here[rows] > 1
    others_differ = (votes_here[rows] - per_class[rows, labels]) > 0
    n_votes = np.bincount(cols, minlength=m)
    overlap_counts = np.bincount(cols, weights=others_vote, minlength=m)
    conflict_records = np.bincount(cols, weights=others_differ, minlength=m)
    # each LF's votes as one slice of the votes sorted by LF (not a scan of all votes per LF)
    small = cols.astype(np.int16 if m < 2**15 else np.int64)  # 16-bit keys: a radix sort
    order = np.argsort(small, kind="stable")
    bounds = np.searchsorted(cols[order], np.arange(m + 1))
    if cache is None:
        pairwise = conflict_counts(matrix, k)
    else:
        pairwise = cache.update(matrix, rows[order], labels[order], bounds, n_classes=k)
    voted_class = np.zeros((m, k), dtype=bool)
    voted_class[cols, labels] = True
    groups = _near_copy_groups(matrix, k)
    out = []
    for j in range(m):
        mine = order[bounds[j] : bounds[j + 1]]
        polarity = tuple(int(c) for c in np.flatnonzero(voted_class[j]))
        partner = int(np.argmax(pairwise[j])) if m > 1 else -1
        partner_count = int(pairwise[j, partner]) if partner >= 0 else 0
        row: dict[str, Any] = {
            "name": names[j],
            "polarity": polarity,
            "coverage": _ratio(n_votes[j], n) or 0.0,
            "overlaps": _ratio(overlap_counts[j], n) or 0.0,
            "conflicts": _ratio(conflict_records[j], n) or 0.0,
            "n_votes": int(n_votes[j]),
            "conflicts_most_with": names[partner] if partner_count > 0 else None,
            "conflict_count": partner_count,
            "near_copies": tuple(names[i] for i in np.flatnonzero(groups == groups[j]) if i != j),
        }
        if gold is not None:
            row.update(_gold_stats(rows[mine], labels[mine], gold, k))
        out.append(LFStats(**row))
    return LFSummary(tuple(out), pairwise, n)


def _near_copy_groups(matrix: LabelMatrix, n_classes: int) -> npt.NDArray[np.int64]:
    """:func:`~labelkitchen.weak.redundancy.near_copy_groups` on at most its row budget of
    records (evenly spaced), so the summary stays fast on large projects."""
    if matrix.n_records > MAX_ROWS:
        matrix = matrix.take_records(np.linspace(0, matrix.n_records - 1, MAX_ROWS).astype(int))
    return near_copy_groups(compute_stats(matrix), n_classes)


def conflict_counts(
    L: LabelMatrix | npt.ArrayLike, n_classes: int | None = None
) -> npt.NDArray[np.int64]:
    """``[i, j]``: records on which LFs ``i`` and ``j`` both vote, differently (diagonal 0)."""
    matrix = as_label_matrix(L)
    k = max(matrix.max_label() + 1, 1) if n_classes is None else n_classes
    one_hot = matrix.one_hot(k)
    m = matrix.n_lfs
    both = (one_hot.T @ one_hot).toarray().reshape(m, k, m, k)
    voted_together = both.sum(axis=(1, 3))
    agreed = np.einsum("icjc->ij", both)
    result = np.asarray(np.rint(voted_together - agreed), dtype=np.int64)
    np.fill_diagonal(result, 0)
    return result


class PairwiseCache:
    """The pairwise statistics of the last :func:`lf_summary` call, per LF keyed by a digest of
    its votes (records and labels), so the next call recomputes only LFs whose votes changed.

    Holds ``together[i, j]`` (records where both vote) and ``agreed[i, j]`` (where both vote the
    same class); conflicts are their difference. A change of the record count or of the number
    of classes starts afresh.
    """

    def __init__(self) -> None:
        self._digests: list[bytes] = []
        self._together = np.zeros((0, 0), dtype=np.int64)
        self._agreed = np.zeros((0, 0), dtype=np.int64)
        self._shape: tuple[int, int] = (-1, -1)
        self.recomputed: tuple[int, ...] = ()
        """Positions of the LFs whose pairs the last call computed (the rest came from here)."""

    def update(
        self,
        matrix: LabelMatrix,
        rows_by_lf: npt.NDArray[np.int64],
        labels_by_lf: npt.NDArray[np.int8],
        bounds: npt.NDArray[np.intp],
        *,
        n_classes: int,
    ) -> npt.NDArray[np.int64]:
        """Conflict counts of ``matrix``; ``rows_by_lf``/``labels_by_lf`` are its votes sorted
        by LF, ``bounds`` where each LF's run of them starts (and the last ends)."""
        m, k, n_records = matrix.n_lfs, n_classes, matrix.n_records
        digests = []
        for j in range(m):
            lo, hi = int(bounds[j]), int(bounds[j + 1])
            digest = hashlib.blake2b(rows_by_lf[lo:hi].tobytes(), digest_size=16)
            digest.update(labels_by_lf[lo:hi].tobytes())
            digests.append(digest.digest())
        known = {d: i for i, d in enumerate(self._digests)} if self._shape == (n_records, k) else {}
        old = np.array([known.get(d, -1) for d in digests], dtype=np.int64)
        together = np.zeros((m, m), dtype=np.int64)
        agreed = np.zeros((m, m), dtype=np.int64)
        kept = np.flatnonzero(old >= 0)
        together[np.ix_(kept, kept)] = self._together[np.ix_(old[kept], old[kept])]
        agreed[np.ix_(kept, kept)] = self._agreed[np.ix_(old[kept], old[kept])]
        fresh = np.flatnonzero(old < 0)
        if fresh.size:
            every = matrix.one_hot(k)
            position = np.full(m, -1, dtype=np.int64)
            position[fresh] = np.arange(fresh.size)
            spans = [np.arange(bounds[j], bounds[j + 1]) for j in fresh.tolist()]
            picked = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
            lf_of = np.repeat(position[fresh], [s.size for s in spans])
            some = sp.csr_array(
                (
                    np.ones(picked.size),
                    (rows_by_lf[picked], lf_of * k + labels_by_lf[picked].astype(np.int64)),
                ),
                shape=(n_records, fresh.size * k),
            )
            both = (some.T @ every).toarray().reshape(fresh.size, k, m, k)
            new_together = np.rint(both.sum(axis=(1, 3))).astype(np.int64)
            new_agreed = np.rint(np.einsum("icjc->ij", both)).astype(np.int64)
            together[fresh, :], together[:, fresh] = new_together, new_together.T
            agreed[fresh, :], agreed[:, fresh] = new_agreed, new_agreed.T
        self._digests, self._together, self._agreed = digests, together, agreed
        self._shape = (n_records, k)
        self.recomputed = tuple(int(j) for j in fresh)
        result = together - agreed
        np.fill_diagonal(result, 0)
        return result


def wilson_interval(
    successes: float, trials: float, *, z: float = _Z95
) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion (95% by default); ``None`` without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4.0 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _gold_stats(
    rows: npt.NDArray[np.int64], labels: npt.NDArray[np.int8], gold: npt.NDArray[np.int64], k: int
) -> dict[str, Any]:
    known = gold[rows] >= 0
    truth = gold[rows][known]
    said = labels[known].astype(np.int64)
    correct = int((said == truth).sum())
    incorrect = int(truth.size - correct)
    interval = wilson_interval(correct, truth.size)
    gold_per_class = np.bincount(gold[gold >= 0], minlength=k)
    precision: dict[int, float | None] = {}
    recall: dict[int, float | None] = {}
    for c in range(k):
        voted_c = said == c
        hits = int((voted_c & (truth == c)).sum())
        precision[c] = _ratio(hits, int(voted_c.sum()))
        recall[c] = _ratio(hits, int(gold_per_class[c]))
    return {
        "correct": correct,
        "incorrect": incorrect,
        "accuracy": _ratio(correct, truth.size),
        "accuracy_low": None if interval is None else interval[0],
        "accuracy_high": None if interval is None else interval[1],
        "precision": precision,
        "recall": recall,
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else float(numerator) / float(denominator)


# abstain-aware reporting --------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageReport:
    """A metric reported three ways: ``coverage``, ``on_covered`` (the metric on covered records
    only) and ``filled`` (all records, uncovered ones predicted by ``fill_policy``)."""

    metric: str
    coverage: float
    n_records: int
    n_covered: int
    on_covered: float | None
    filled: float | None
    fill_policy: str


def score_with_abstains(
    y: npt.ArrayLike,
    predictions: npt.ArrayLike,
    *,
    covered: npt.ArrayLike | None = None,
    metric: Metric = "accuracy",
    fill: str | int = "random",
    n_classes: int | None = None,
    random_state: int | None = 0,
) -> CoverageReport:
    """Score ``predictions`` against gold ``y`` with abstains made visible.

    A record is covered where ``covered`` is true (default: where the prediction is not ``-1``;
    pass ``L.votes_per_record() > 0`` to judge coverage by the LFs). Uncovered records are filled
    by ``fill``: ``"random"`` (a uniformly random class, WRENCH's convention), ``"majority"``
    (the most common predicted class among covered records), ``"wrong"`` (never right), or a
    class index.
    """
    gold = np.asarray(y).astype(np.int64).ravel()
    pred = np.asarray(predictions).astype(np.int64).ravel()
    if gold.size != pred.size:
        raise InvalidInput(f"y has {gold.size} labels but predictions has {pred.size}")
    mask = pred != ABSTAIN if covered is None else np.asarray(covered, dtype=bool).ravel()
    if mask.size != gold.size:
        raise InvalidInput(f"covered has {mask.size} entries for {gold.size} records")
    seen = max(int(gold.max(initial=0)), int(pred.max(initial=0)))
    k = seen + 1 if n_classes is None else int(n_classes)
    k = max(k, 2)

    on_covered = _metric(gold[mask], pred[mask], metric, k) if mask.any() else None
    filled = pred.copy()
    uncovered = ~mask
    if fill == "random":
        rng = np.random.default_rng(random_state)
        filled[uncovered] = rng.integers(0, k, int(uncovered.sum()))
    elif fill == "majority":
        counts = np.bincount(pred[mask & (pred >= 0)], minlength=k)
        filled[uncovered] = int(np.argmax(counts))
    elif fill == "wrong":
        filled[uncovered] = ABSTAIN
    elif isinstance(fill, int) and not isinstance(fill, bool) and 0 <= fill < k:
        filled[uncovered] = fill
    else:
        raise InvalidInput(
            f"fill must be 'random', 'majority', 'wrong' or a class in 0..{k - 1}, got {fill!r}"
        )
    score = _metric(gold, filled, metric, k) if gold.size else None
    return CoverageReport(
        metric=metric,
        coverage=float(mask.mean()) if mask.size else 0.0,
        n_records=int(gold.size),
        n_covered=int(mask.sum()),
        on_covered=on_covered,
        filled=score,
        fill_policy=str(fill),
    )


def _metric(gold: npt.NDArray[np.int64], pred: npt.NDArray[np.int64], metric: str, k: int) -> float:
    if metric == "accuracy":
        return float((gold == pred).mean())
    if metric not in ("f1", "macro_f1"):
        raise InvalidInput(f"metric must be 'accuracy', 'f1' or 'macro_f1', got {metric!r}")
    classes = [1] if metric == "f1" else list(range(k))
    scores = []
    for c in classes:
        tp = int(((pred == c) & (gold == c)).sum())
        denominator = int((pred == c).sum() + (gold == c).sum())
        scores.append(0.0 if denominator == 0 else 2.0 * tp / denominator)
    return float(np.mean(scores))


__all__ = [
    "CoverageReport",
    "LFStats",
    "LFSummary",
    "PairwiseCache",
    "conflict_counts",
    "lf_summary",
    "score_with_abstains",
    "wilson_interval",
]
