"""The sparse label matrix ``L``: records x labelling functions, abstains not stored.

Storage: a ``scipy.sparse.csr_array`` of ``int8`` holding ``label + 1``, so class ``c`` is stored
as ``c + 1`` and an abstain is simply an entry that is not there (the implicit zero). One stored
vote costs one byte of data plus a four-byte column index (``int32`` while fewer than 2**31 votes
are stored); each record adds one four-byte row pointer.
Classes ``0..125`` fit (:data:`~labelkitchen.weak.labels.MAX_CLASSES`).

:meth:`LabelMatrix.to_dense` gives the dense form Snorkel users know (``-1`` for abstain) and
:meth:`LabelMatrix.from_dense` reads it back; :meth:`LabelMatrix.to_triplets` gives the
``(record, lf, label)`` arrays the store writes to ``lf_votes``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.labels import ABSTAIN, MAX_CLASSES

IntArray = npt.NDArray[np.integer[Any]]
_INT32_MAX = np.iinfo(np.int32).max


class LabelMatrix:
    """Votes of ``n_lfs`` sources on ``n_records`` records; immutable by convention.

    Build one with :meth:`from_dense`, :meth:`from_triplets` or
    :func:`~labelkitchen.weak.apply.apply_lfs`.
    """

    __slots__ = ("_csr",)

    def __init__(self, csr: Any) -> None:
        """Wrap a CSR array that already stores ``label + 1`` as int8 (see the module docs)."""
        matrix = sp.csr_array(csr, dtype=np.int8)
        matrix.eliminate_zeros()
        matrix.sort_indices()
        if matrix.nnz < _INT32_MAX and matrix.shape[1] < _INT32_MAX:  # 4-byte column indices
            matrix.indices = matrix.indices.astype(np.int32, copy=False)
            matrix.indptr = matrix.indptr.astype(np.int32, copy=False)
        self._csr = matrix

    # construction ---------------------------------------------------------------------------

    @classmethod
    def from_dense(cls, dense: npt.ArrayLike) -> LabelMatrix:
        """Read a dense integer array with ``-1`` for abstain (the Snorkel convention)."""
        array = np.asarray(dense)
        if array.ndim != 2:
            raise InvalidInput(
                f"a label matrix must be 2-D (records x LFs), got shape {array.shape}"
            )
        integral = np.issubdtype(array.dtype, np.integer)
        if array.size and not integral and not np.all(np.equal(np.mod(array, 1), 0)):
            raise InvalidInput("a label matrix must hold integers (-1 for abstain)")
        _check_values(array)
        voted = array != ABSTAIN
        indptr = np.zeros(array.shape[0] + 1, dtype=np.int64)
        np.cumsum(voted.sum(axis=1), out=indptr[1:])
        cols = np.nonzero(voted)[1]
        data = (array[voted] + 1).astype(np.int8)
        return cls._trusted(data, cols, indptr, array.shape)

    @classmethod
    def _trusted(
        cls, data: IntArray, cols: IntArray, indptr: IntArray, shape: tuple[int, ...]
    ) -> LabelMatrix:
        """Wrap CSR parts known to be canonical (no stored zeros, sorted column indices), as
        :meth:`from_dense` makes them, without checking them again."""
        small = len(data) < _INT32_MAX and shape[1] < _INT32_MAX
        index = np.int32 if small else np.int64
        matrix = sp.csr_array(
            (
                np.asarray(data, dtype=np.int8),
                np.asarray(cols, dtype=index),
                np.asarray(indptr, dtype=index),
            ),
            shape=(int(shape[0]), int(shape[1])),
            copy=False,
        )
        matrix.has_canonical_format = True
        wrapped = cls.__new__(cls)
        wrapped._csr = matrix
        return wrapped

    @classmethod
    def from_triplets(
        cls,
        rows: npt.ArrayLike,
        cols: npt.ArrayLike,
        labels: npt.ArrayLike,
        *,
        shape: tuple[int, int],
    ) -> LabelMatrix:
        """Build from parallel arrays ``(record, lf, label)``; label ``-1`` entries are dropped.

        A ``(record, lf)`` pair may appear at most once.
        """
        r = np.asarray(rows, dtype=np.int64).ravel()
        c = np.asarray(cols, dtype=np.int64).ravel()
        v = np.asarray(labels, dtype=np.int64).ravel()
        if not r.shape == c.shape == v.shape:
            raise InvalidInput(
                f"rows, cols and labels must have one length, got {r.size}, {c.size}, {v.size}"
            )
        n_records, n_lfs = (int(shape[0]), int(shape[1]))
        keep = v != ABSTAIN
        r, c, v = r[keep], c[keep], v[keep]
        _check_values(v)
        if r.size and (r.min() < 0 or r.max() >= n_records or c.min() < 0 or c.max() >= n_lfs):
            raise InvalidInput(f"a (record, lf) position lies outside the shape {shape}")
        if np.unique(r * max(n_lfs, 1) + c).size != r.size:
            raise InvalidInput("a (record, lf) pair appears more than once")
        csr = sp.csr_array(
            (v.astype(np.int8) + np.int8(1), (r, c)), shape=(n_records, n_lfs), dtype=np.int8
        )
        return cls(csr)

    @classmethod
    def empty(cls, n_records: int, n_lfs: int) -> LabelMatrix:
        """A matrix in which every source abstains on every record."""
        return cls(sp.csr_array((n_records, n_lfs), dtype=np.int8))

    @staticmethod
    def vstack(matrices: Sequence[LabelMatrix]) -> LabelMatrix:
        """Stack partitions of records (same LFs) on top of each other."""
        if not matrices:
            raise InvalidInput("vstack needs at least one label matrix")
        return LabelMatrix(sp.vstack([m._csr for m in matrices], format="csr"))

    @staticmethod
    def hstack(matrices: Sequence[LabelMatrix]) -> LabelMatrix:
        """Put the columns of several matrices (same records) side by side."""
        if not matrices:
            raise InvalidInput("hstack needs at least one label matrix")
        return LabelMatrix(sp.hstack([m._csr for m in matrices], format="csr"))

    # views ----------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        n_records, n_lfs = self._csr.shape
        return int(n_records), int(n_lfs)

    @property
    def n_records(self) -> int:
        return self.shape[0]

    @property
    def n_lfs(self) -> int:
        return self.shape[1]

    @property
    def n_votes(self) -> int:
        """Number of stored (non-abstain) votes."""
        return int(self._csr.nnz)

    @property
    def csr(self) -> Any:
        """The underlying CSR array storing ``label + 1`` (a copy; the matrix stays unchanged)."""
        return self._csr.copy()

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored votes, their column indices and the row pointers."""
        m = self._csr
        return int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)

    def max_label(self) -> int:
        """The largest class index voted, or ``-1`` when every source abstains everywhere."""
        return int(self._csr.data.max()) - 1 if self._csr.nnz else ABSTAIN

    def to_dense(self) -> npt.NDArray[np.int8]:
        """The dense ``int8`` array with ``-1`` for abstain."""
        return np.asarray(self._csr.toarray() - np.int8(1), dtype=np.int8)

    def to_triplets(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int8]]:
        """Parallel arrays ``(record, lf, label)`` of the stored votes, in row-major order."""
        m = self._csr
        rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
        return rows, m.indices.astype(np.int64), m.data - np.int8(1)

    def votes_per_record(self) -> npt.NDArray[np.int64]:
        """How many sources voted on each record."""
        return np.asarray(np.diff(self._csr.indptr), dtype=np.int64)

    def votes_per_lf(self) -> npt.NDArray[np.int64]:
        """How many records each source voted on."""
        return np.bincount(self._csr.indices, minlength=self.n_lfs).astype(np.int64)

    def one_hot(self, n_classes: int) -> Any:
        """Indicator CSR array ``records x (n_lfs * n_classes)``: column ``j * K + c`` is 1 where
        source ``j`` voted class ``c``."""
        m = self._csr
        if m.nnz and int(m.data.max()) > n_classes:
            raise InvalidInput(
                f"the label matrix holds class {int(m.data.max()) - 1}, "
                f"outside 0..{n_classes - 1} for n_classes={n_classes}"
            )
        cols = m.indices.astype(np.int64)
        cols *= n_classes
        cols += m.data  # label + 1
        cols -= 1
        return sp.csr_array(
            (np.ones(m.nnz, dtype=np.float64), cols, m.indptr.copy()),
            shape=(m.shape[0], m.shape[1] * n_classes),
        )

    def take_records(self, indices: npt.ArrayLike) -> LabelMatrix:
        """The rows at ``indices`` (an integer array or a boolean mask), in that order."""
        taken = self._csr[np.asarray(indices)]  # whole rows: still canonical, no re-check
        return LabelMatrix._trusted(taken.data, taken.indices, taken.indptr, taken.shape)

    def take_lfs(self, indices: npt.ArrayLike) -> LabelMatrix:
        """The columns at ``indices`` (an integer array or a boolean mask), in that order."""
        return LabelMatrix(self._csr[:, np.asarray(indices)])

    def iter_chunks(self, chunk_size: int) -> Iterator[LabelMatrix]:
        """Consecutive blocks of at most ``chunk_size`` records."""
        if chunk_size < 1:
            raise InvalidInput(f"chunk_size must be at least 1, got {chunk_size}")
        for start in range(0, self.n_records, chunk_size):
            yield LabelMatrix(self._csr[start : start + chunk_size])

    # dunder ---------------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelMatrix):
            return NotImplemented
        if self.shape != other.shape or self.n_votes != other.n_votes:
            return False
        a, b = self._csr, other._csr
        return bool(
            np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data)
        )

    def __repr__(self) -> str:
        n_records, n_lfs = self.shape
        return f"LabelMatrix(n_records={n_records}, n_lfs={n_lfs}, n_votes={self.n_votes})"


def as_label_matrix(L: LabelMatrix | npt.ArrayLike) -> LabelMatrix:
    """Accept a :class:`LabelMatrix` or a dense array with ``-1`` for abstain."""
    if isinstance(L, LabelMatrix):
        return L
    if sp.issparse(L):
        raise InvalidInput(
            "pass a LabelMatrix or a dense array with -1 for abstain, not a raw scipy sparse "
            "array (its zeros would be read as votes for class 0)"
        )
    return LabelMatrix.from_dense(L)


def _check_values(values: npt.NDArray[np.integer[Any]]) -> None:
    if values.size == 0:
        return
    low, high = int(values.min()), int(values.max())
    if low < ABSTAIN:
        raise InvalidInput(f"votes must be -1 (abstain) or a class index >= 0, got {low}")
    if high >= MAX_CLASSES:
        raise InvalidInput(f"class indices must be below {MAX_CLASSES}, got {high}")


__all__ = ["LabelMatrix", "as_label_matrix"]
