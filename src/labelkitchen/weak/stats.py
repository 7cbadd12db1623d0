"""Sufficient statistics of a label matrix: its unique rows and how often each occurs.

Label models never need to see records one by one: two records with the same votes get the same
posterior. :func:`compute_stats` reduces ``L`` to its distinct rows with counts (far fewer than
records when LFs are few or sparse), per partition if need be; :func:`merge_stats` (or ``+``) sums
partitions exactly, so a Dask job can compute statistics where the votes are and send only these
small tables to the fitting process. Everything a model fits on (class-conditional vote counts for
EM, the overlap matrix for matrix completion) is derived from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.labels import ABSTAIN, MAX_CLASSES
from labelkitchen.weak.matrix import LabelMatrix, as_label_matrix

_CHUNK_BYTES = 1 << 25  # dense int8 bytes per block while finding unique rows
_HASH_SEED = 20_240_611  # fixed: the same rows always hash alike


@dataclass(frozen=True, eq=False)
class LabelStats:
    """Distinct rows of a label matrix (``-1`` for abstain) and how many records share each."""

    rows: npt.NDArray[np.int8]
    counts: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        rows = np.asarray(self.rows, dtype=np.int8)
        counts = np.asarray(self.counts, dtype=np.int64)
        if rows.ndim != 2 or counts.ndim != 1 or rows.shape[0] != counts.shape[0]:
            raise InvalidInput(
                f"rows must be 2-D with one count per row, got {rows.shape} and {counts.shape}"
            )
        if counts.size and counts.min() < 1:
            raise InvalidInput("every count must be at least 1")
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "counts", counts)

    @property
    def n_records(self) -> int:
        return int(self.counts.sum())

    @property
    def n_lfs(self) -> int:
        return int(self.rows.shape[1])

    @property
    def n_unique(self) -> int:
        return int(self.rows.shape[0])

    def matrix(self) -> LabelMatrix:
        """The distinct rows as a :class:`LabelMatrix` (one record per distinct row; built once)."""
        return self._matrix

    @cached_property
    def _matrix(self) -> LabelMatrix:
        return LabelMatrix.from_dense(self.rows)

    def max_label(self) -> int:
        return int(self.rows.max()) if self.rows.size else ABSTAIN

    def take(self, indices: npt.ArrayLike, counts: npt.ArrayLike | None = None) -> LabelStats:
        """The distinct rows at ``indices``, with their counts or the given ``counts`` (and,
        when this one's :meth:`matrix` is built, the rows of it rather than a new one)."""
        keep = np.asarray(indices, dtype=np.int64)
        kept = self.counts[keep] if counts is None else np.asarray(counts, dtype=np.int64)
        taken = LabelStats(self.rows[keep], kept)
        if "_matrix" in self.__dict__:
            taken.__dict__["_matrix"] = self._matrix.take_records(keep)  # the cached_property
        return taken

    def overlaps(self, n_classes: int) -> npt.NDArray[np.float64]:
        """Counts ``O[j*K + a, i*K + b]`` of records on which source ``j`` voted ``a`` and ``i``
        voted ``b`` (its diagonal holds each source's per-class vote counts)."""
        one_hot = self.matrix().one_hot(n_classes)
        weighted = one_hot.copy()
        weighted.data = np.repeat(self.counts.astype(np.float64), np.diff(one_hot.indptr))
        product = one_hot.T.tocsr() @ weighted
        return np.asarray(product.toarray(), dtype=np.float64)

    def __add__(self, other: object) -> LabelStats:
        if not isinstance(other, LabelStats):
            return NotImplemented
        return merge_stats([self, other])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelStats):
            return NotImplemented
        a, b = _canonical(self), _canonical(other)
        return a.rows.shape == b.rows.shape and bool(
            np.array_equal(a.rows, b.rows) and np.array_equal(a.counts, b.counts)
        )


def compute_stats(L: LabelMatrix | npt.ArrayLike) -> LabelStats:
    """Reduce ``L`` (a :class:`LabelMatrix` or dense ``-1``-for-abstain array) to its statistics.

    Works block by block so the dense form of a large sparse matrix never exists in full.
    """
    matrix = as_label_matrix(L)
    n_lfs = matrix.n_lfs
    if matrix.n_records == 0:
        return LabelStats(np.zeros((0, n_lfs), dtype=np.int8), np.zeros(0, dtype=np.int64))
    block = max(1, _CHUNK_BYTES // max(n_lfs, 1))
    if matrix.n_records <= block:  # one block: keep its sparse form for the distinct rows
        return _hashed_unique_rows(matrix)
    parts = [_unique_rows(chunk.to_dense()) for chunk in matrix.iter_chunks(block)]
    return merge_stats(parts)


def merge_stats(parts: Iterable[LabelStats]) -> LabelStats:
    """Sum statistics computed on disjoint partitions of the records (same LFs, same order)."""
    parts = list(parts)
    if not parts:
        raise InvalidInput("merge_stats needs at least one LabelStats")
    widths = {p.n_lfs for p in parts}
    if len(widths) != 1:
        raise InvalidInput(f"statistics must cover the same LFs, got widths {sorted(widths)}")
    rows = np.concatenate([p.rows for p in parts])
    counts = np.concatenate([p.counts for p in parts])
    return _unique_rows(rows, counts)


def expand_to_records(L: LabelMatrix | npt.ArrayLike) -> tuple[LabelStats, npt.NDArray[np.int64]]:
    """Statistics of ``L`` plus, for each record, the index of its distinct row."""
    dense = as_label_matrix(L).to_dense()
    if dense.shape[0] == 0:
        empty = LabelStats(np.zeros((0, dense.shape[1]), dtype=np.int8), np.zeros(0, np.int64))
        return empty, np.zeros(0, dtype=np.int64)
    keys = _row_keys(dense)
    _, first, inverse, counts = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    return LabelStats(dense[first], counts), inverse.astype(np.int64).ravel()


def _hash_table(n_lfs: int) -> npt.NDArray[np.uint64]:
    """One fixed random 64-bit number per (source, class) vote."""
    rng = np.random.default_rng(_HASH_SEED)
    high = np.iinfo(np.uint64).max
    return rng.integers(0, high, size=max(n_lfs, 1) * MAX_CLASSES, dtype=np.uint64)


def _hashed_unique_rows(
    matrix: LabelMatrix, table: npt.NDArray[np.uint64] | None = None
) -> LabelStats:
    """The statistics of one block from a 64-bit hash per row summed over its votes (no sort
    of whole rows), checked against the dense rows; the distinct rows' :meth:`LabelStats.matrix`
    is taken from ``matrix`` itself. Rows keep the records' order when all are distinct, else
    come in the order of their hashes; should two distinct rows ever share a hash, the exact
    sort of whole rows decides instead. ``table`` (a number per source and class, summed per
    row) is a parameter so that a test can make every row collide."""
    _, cols, labels = matrix.to_triplets()
    table = _hash_table(matrix.n_lfs) if table is None else table
    hashes = np.zeros(matrix.n_records, dtype=np.uint64)
    per_vote = table[cols * MAX_CLASSES + labels]
    n_votes = matrix.votes_per_record()
    voted = np.flatnonzero(n_votes > 0)
    if voted.size:
        starts = np.cumsum(n_votes) - n_votes  # each record's first vote
        hashes[voted] = np.add.reduceat(per_vote, starts[voted])
    order = np.argsort(hashes)  # equal hashes are grouped below, whatever their order
    ordered = hashes[order]
    new_group = np.empty(ordered.size, dtype=bool)
    new_group[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new_group[1:])
    group_starts = np.flatnonzero(new_group)
    if group_starts.size == matrix.n_records:  # distinct hashes: distinct rows, kept as they are
        stats = LabelStats(matrix.to_dense(), np.ones(matrix.n_records, dtype=np.int64))
        stats.__dict__["_matrix"] = matrix  # the cached_property, filled
        return stats
    first = np.minimum.reduceat(order, group_starts)  # each hash's first record, as np.unique
    counts = np.diff(np.append(group_starts, ordered.size))
    distinct = matrix.take_records(first)
    rows = distinct.to_dense()
    shared = np.flatnonzero(counts > 1)  # only records whose hash is shared need comparing
    members = np.repeat(shared, counts[shared])
    records = order[np.repeat(counts > 1, counts)]  # in the same order as ``members``
    if not np.array_equal(matrix.take_records(records).to_dense(), rows[members]):  # collision
        return _unique_rows(matrix.to_dense())
    stats = LabelStats(rows, counts.astype(np.int64))
    stats.__dict__["_matrix"] = distinct
    return stats


def _unique_rows(
    dense: npt.NDArray[np.int8], counts: npt.NDArray[np.int64] | None = None
) -> LabelStats:
    dense = np.ascontiguousarray(dense, dtype=np.int8)
    if dense.shape[0] == 0:
        return LabelStats(dense, np.zeros(0, dtype=np.int64))
    keys = _row_keys(dense)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    weights = np.ones(dense.shape[0], np.int64) if counts is None else counts
    summed = np.bincount(inverse.ravel(), weights=weights, minlength=first.size)
    return LabelStats(dense[first], np.rint(summed).astype(np.int64))


def _row_keys(dense: npt.NDArray[np.int8]) -> Any:
    """One opaque bytes key per row, so ``np.unique`` compares whole rows at once."""
    dense = np.ascontiguousarray(dense, dtype=np.int8)
    width = max(dense.shape[1], 1)
    if dense.shape[1] == 0:
        return np.zeros(dense.shape[0], dtype=np.int8)
    return dense.view(np.dtype((np.void, width))).ravel()


def _canonical(stats: LabelStats) -> LabelStats:
    return _unique_rows(stats.rows, stats.counts)


__all__ = ["LabelStats", "compute_stats", "expand_to_records", "merge_stats"]
