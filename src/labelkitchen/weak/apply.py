"""Applying labelling functions to records: one loop over chunks, any applier.

:func:`apply_lfs` (classify) returns the sparse label matrix ``L``; :func:`apply_multilabel_lfs`
one binary matrix per label; :func:`apply_span_lfs` the span votes. All three cut the records into
chunks of plain :class:`~labelkitchen.weak.lf.Record` objects and hand chunk tasks to an
:mod:`applier <labelkitchen.weak.appliers>` (serial, process pool or Dask); each task runs every
LF over its chunk (declarative LFs vectorised over the chunk's column of texts, Python LFs record
by record) and returns sparse votes. A failing LF is counted per LF with its first traceback and
never stops the run unless ``raise_on_error=True``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.appliers import Applier, ProcessApplier, SerialApplier
from labelkitchen.weak.cache import FAULT, LFCache
from labelkitchen.weak.columns import TextColumn
from labelkitchen.weak.labels import ABSTAIN, LabelIndex, label_names
from labelkitchen.weak.lf import ColumnVotes, LabelingFunction, LFKind, Record, as_record
from labelkitchen.weak.matrix import LabelMatrix

_MAX_CHUNK = 50_000
_MIN_PARALLEL_CHUNK = 1_000


@dataclass(frozen=True)
class LFFault:
    """How often one LF raised, and the traceback of the first time."""

    lf: str
    count: int
    first_traceback: str


@dataclass(frozen=True)
class ApplyResult:
    """The label matrix of a classify run plus what happened per LF.

    ``computed`` names the LFs that ran on at least one record (the others came from the cache).
    """

    L: LabelMatrix
    lf_names: tuple[str, ...]
    lf_versions: tuple[str, ...]
    labels: LabelIndex | None
    faults: tuple[LFFault, ...] = ()
    computed: tuple[str, ...] = ()

    def fault_counts(self) -> dict[str, int]:
        """Faults per LF name (zero for LFs that never failed)."""
        counts = dict.fromkeys(self.lf_names, 0)
        counts.update({f.lf: f.count for f in self.faults})
        return counts


@dataclass(frozen=True)
class MultilabelApplyResult:
    """One binary label matrix per label (``1`` present, ``0`` absent, abstain not stored)."""

    L_by_label: dict[str, LabelMatrix]
    lf_names: tuple[str, ...]
    lf_versions: tuple[str, ...]
    labels: LabelIndex
    faults: tuple[LFFault, ...] = ()


@dataclass(frozen=True)
class SpanVotes:
    """Span votes as parallel arrays: record, lf, start, end (exclusive), label."""

    n_records: int
    n_lfs: int
    records: npt.NDArray[np.int64]
    lfs: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]

    def for_record(self, record: int) -> list[tuple[int, int, int, int]]:
        """``(lf, start, end, label)`` of one record's votes."""
        mask = self.records == record
        return [
            (int(j), int(s), int(e), int(lab))
            for j, s, e, lab in zip(
                self.lfs[mask], self.starts[mask], self.ends[mask], self.labels[mask], strict=True
            )
        ]


@dataclass(frozen=True)
class SpanApplyResult:
    votes: SpanVotes
    lf_names: tuple[str, ...]
    lf_versions: tuple[str, ...]
    labels: LabelIndex | None
    faults: tuple[LFFault, ...] = ()


@dataclass(frozen=True)
class _ChunkTask:
    lfs: tuple[LabelingFunction, ...]
    records: list[Record | str]  # a plain string is a record without meta, id offset + position
    labels: LabelIndex | None
    raise_on_error: bool
    offset: int = 0
    plain: bool = False  # every record is a plain string


@dataclass
class _Column:
    parts: list[ColumnVotes] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)


def _vote_chunk(task: _ChunkTask) -> list[ColumnVotes]:
    """The unit of work every applier runs: all given LFs over one chunk (declarative LFs share
    one text column, so the chunk is joined and lower-cased at most once)."""
    column = TextColumn(task.records, offset=task.offset, plain=task.plain)
    items: Sequence[Any] = task.records  # declarative LFs read the column; others need records
    return [
        lf.vote_chunk(
            items if lf.vectorised else column.records,
            task.labels,
            raise_on_error=task.raise_on_error,
            column=column,
        )
        for lf in task.lfs
    ]


def run_chunks(
    lfs: Sequence[LabelingFunction],
    records: Sequence[Record | str],
    *,
    labels: LabelIndex | None,
    applier: Applier,
    chunk_size: int,
    raise_on_error: bool,
) -> list[_Column]:
    """The shared loop: cut ``records`` into chunks, map them with ``applier``, collect per LF."""
    starts = list(range(0, len(records), chunk_size))
    plain = isinstance(records, PlainTexts)
    tasks = [
        _ChunkTask(tuple(lfs), list(records[s : s + chunk_size]), labels, raise_on_error, s, plain)
        for s in starts
    ]
    columns = [_Column() for _ in lfs]
    for start, results in zip(starts, applier.map(_vote_chunk, tasks), strict=True):
        for column, votes in zip(columns, results, strict=True):
            column.parts.append(votes)
            column.offsets.append(start)
    return columns


def apply_lfs(
    lfs: Sequence[LabelingFunction],
    records: Iterable[object],
    *,
    labels: LabelIndex | Sequence[str] | None = None,
    n_jobs: int = 1,
    applier: Applier | None = None,
    chunk_size: int | None = None,
    raise_on_error: bool = False,
    cache: LFCache | None = None,
) -> ApplyResult:
    """Apply classify LFs to ``records`` and return the label matrix with per-LF faults.

    ``records`` are :class:`~labelkitchen.weak.lf.Record` objects, objects with ``.text``
    (``.meta``, ``.id``), mappings with ``"text"``, or strings. ``labels`` lists the label names
    in class order (needed when LFs vote names). ``n_jobs > 1`` uses a process pool; ``applier``
    picks another backend (e.g. :class:`~labelkitchen.weak.appliers.DaskApplier`). With a
    ``cache``, only (LF version, record) pairs not seen before are computed.
    """
    lf_list = _check_lfs(lfs, ("classify",))
    items = as_records(records)
    index = label_names(labels)
    runner = _resolve_applier(n_jobs, applier)
    size = _chunk_size(chunk_size, len(items), runner)
    n = len(items)
    keys = [(lf.version, None if index is None else index.names) for lf in lf_list]

    codes = np.full((len(lf_list), n), ABSTAIN, dtype=np.int8)
    tracebacks: list[str | None] = [None] * len(lf_list)
    missing = np.ones((len(lf_list), n), dtype=bool)
    hashes = cache.content_hashes(items) if cache is not None else None
    if cache is not None and hashes is not None:
        for j, key in enumerate(keys):
            found, cached, first = cache.lookup(key, hashes)
            missing[j] = ~found
            codes[j, found] = cached[found]
            tracebacks[j] = first if found.any() else None

    for lf_positions, row_positions in _groups(missing):
        if row_positions.size == n:
            subset = items
        else:  # keep each record's id: strings become records with their position as id
            subset = [_record_at(items, i) for i in row_positions.tolist()]
        group_lfs = [lf_list[j] for j in lf_positions]
        columns = run_chunks(
            group_lfs,
            subset,
            labels=index,
            applier=runner,
            chunk_size=size,
            raise_on_error=raise_on_error,
        )
        for j, column in zip(lf_positions, columns, strict=True):
            computed_codes = np.full(row_positions.size, ABSTAIN, dtype=np.int8)
            for votes, offset in zip(column.parts, column.offsets, strict=True):
                computed_codes[votes.rows + offset] = votes.labels
                if votes.n_faults:
                    tracebacks[j] = tracebacks[j] or votes.first_traceback
            fault_mask = _fault_mask(column, row_positions.size)
            computed_codes[fault_mask] = FAULT
            codes[j, row_positions] = computed_codes
            if cache is not None and hashes is not None:
                cache.store(keys[j], hashes[row_positions], computed_codes, tracebacks[j])

    faults = tuple(
        LFFault(lf.name, int((codes[j] == FAULT).sum()), tracebacks[j] or "")
        for j, lf in enumerate(lf_list)
        if (codes[j] == FAULT).any()
    )
    L = LabelMatrix.from_dense(np.ascontiguousarray(np.where(codes >= 0, codes, ABSTAIN).T))
    return ApplyResult(
        L=L,
        lf_names=tuple(lf.name for lf in lf_list),
        lf_versions=tuple(lf.version for lf in lf_list),
        labels=index,
        faults=faults,
        computed=tuple(lf_list[j].name for j in range(len(lf_list)) if missing[j].any()),
    )


def apply_multilabel_lfs(
    lfs: Sequence[LabelingFunction],
    records: Iterable[object],
    *,
    labels: LabelIndex | Sequence[str],
    n_jobs: int = 1,
    applier: Applier | None = None,
    chunk_size: int | None = None,
    raise_on_error: bool = False,
) -> MultilabelApplyResult:
    """Apply multilabel LFs (and classify LFs, whose vote means "this label is present").

    Returns one binary :class:`LabelMatrix` per label name, fit for one binary label model per
    label.
    """
    lf_list = _check_lfs(lfs, ("multilabel", "classify"))
    items = as_records(records)
    index = LabelIndex.of(labels)
    runner = _resolve_applier(n_jobs, applier)
    columns = run_chunks(
        lf_list,
        items,
        labels=index,
        applier=runner,
        chunk_size=_chunk_size(chunk_size, len(items), runner),
        raise_on_error=raise_on_error,
    )
    k, n, m = index.n_classes, len(items), len(lf_list)
    values = np.full((k, n, m), ABSTAIN, dtype=np.int8)
    for j, column in enumerate(columns):
        for votes, offset in zip(column.parts, column.offsets, strict=True):
            present = np.ones_like(votes.rows) if votes.values is None else votes.values
            values[votes.labels, votes.rows + offset, j] = present
    by_label = {name: LabelMatrix.from_dense(values[c]) for c, name in enumerate(index.names)}
    return MultilabelApplyResult(
        L_by_label=by_label,
        lf_names=tuple(lf.name for lf in lf_list),
        lf_versions=tuple(lf.version for lf in lf_list),
        labels=index,
        faults=_faults(lf_list, columns),
    )


def apply_span_lfs(
    lfs: Sequence[LabelingFunction],
    records: Iterable[object],
    *,
    labels: LabelIndex | Sequence[str] | None = None,
    n_jobs: int = 1,
    applier: Applier | None = None,
    chunk_size: int | None = None,
    raise_on_error: bool = False,
) -> SpanApplyResult:
    """Apply span LFs; spans are ``[start, end)`` in code points of each record's text."""
    lf_list = _check_lfs(lfs, ("spans",))
    items = as_records(records)
    index = label_names(labels)
    runner = _resolve_applier(n_jobs, applier)
    columns = run_chunks(
        lf_list,
        items,
        labels=index,
        applier=runner,
        chunk_size=_chunk_size(chunk_size, len(items), runner),
        raise_on_error=raise_on_error,
    )
    parts: list[tuple[npt.NDArray[np.int64], ...]] = []
    for j, column in enumerate(columns):
        for votes, offset in zip(column.parts, column.offsets, strict=True):
            if votes.starts is None or votes.ends is None:
                continue
            lf_column = np.full(votes.rows.size, j, dtype=np.int64)
            parts.append((votes.rows + offset, lf_column, votes.starts, votes.ends, votes.labels))
    if parts:
        arrays = [np.concatenate(field) for field in zip(*parts, strict=True)]
    else:
        arrays = [np.zeros(0, np.int64) for _ in range(5)]
    span_votes = SpanVotes(len(items), len(lf_list), *arrays)
    return SpanApplyResult(
        votes=span_votes,
        lf_names=tuple(lf.name for lf in lf_list),
        lf_versions=tuple(lf.version for lf in lf_list),
        labels=index,
        faults=_faults(lf_list, columns),
    )


# helpers --------------------------------------------------------------------------------------


class PlainTexts(list):  # type: ignore[type-arg]
    """The records when every one is a plain string (:func:`as_records` found so), which spares
    the text columns another look at each item."""


def as_records(records: Iterable[object]) -> list[Record | str]:
    """Every item as a :class:`Record`, except plain strings, kept as they are (a record with
    that text, no meta and its position as id) so declarative LFs never wait for objects."""
    items = records if isinstance(records, list) else list(records)
    types = set(map(type, items))
    if types <= {str}:
        return PlainTexts(items)
    if types <= {str, Record}:  # nothing to convert
        return list(items)
    return [item if type(item) is str else as_record(item, i) for i, item in enumerate(items)]


def _record_at(items: Sequence[Record | str], position: int) -> Record | str:
    item = items[position]
    return Record(item, {}, position) if isinstance(item, str) else item


def _check_lfs(
    lfs: Sequence[LabelingFunction], kinds: tuple[LFKind, ...]
) -> list[LabelingFunction]:
    lf_list = list(lfs)
    for lf in lf_list:
        if not isinstance(lf, LabelingFunction):
            raise InvalidInput(
                f"expected LabelingFunction objects (use @labeling_function), got {lf!r}"
            )
    wrong = [lf.name for lf in lf_list if lf.kind not in kinds]
    if wrong:
        raise InvalidInput(f"these LFs are not of kind {list(kinds)}: {wrong}")
    names = [lf.name for lf in lf_list]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInput(f"LF names must be unique; repeated: {duplicates}")
    return lf_list


def _resolve_applier(n_jobs: int, applier: Applier | None) -> Applier:
    if applier is not None:
        if n_jobs != 1:
            raise InvalidInput("pass either n_jobs or applier, not both")
        return applier
    if n_jobs < 1:
        raise InvalidInput(f"n_jobs must be at least 1, got {n_jobs}")
    return SerialApplier() if n_jobs == 1 else ProcessApplier(n_jobs)


def _chunk_size(chunk_size: int | None, n_records: int, applier: Applier) -> int:
    if chunk_size is not None:
        if chunk_size < 1:
            raise InvalidInput(f"chunk_size must be at least 1, got {chunk_size}")
        return chunk_size
    workers = applier.n_workers
    if workers <= 1:
        return _MAX_CHUNK
    per_worker = math.ceil(n_records / (4 * workers))
    return max(_MIN_PARALLEL_CHUNK, min(_MAX_CHUNK, per_worker))


def _groups(missing: npt.NDArray[np.bool_]) -> list[tuple[list[int], npt.NDArray[np.int64]]]:
    """LFs that need the same records computed, grouped: (LF positions, record positions)."""
    groups: dict[bytes, tuple[list[int], npt.NDArray[np.int64]]] = {}
    for j in range(missing.shape[0]):
        if not missing[j].any():
            continue
        key = np.packbits(missing[j]).tobytes()
        if key not in groups:
            groups[key] = ([], np.flatnonzero(missing[j]).astype(np.int64))
        groups[key][0].append(j)
    return list(groups.values())


def _fault_mask(column: _Column, n_rows: int) -> npt.NDArray[np.bool_]:
    """Rows (of the computed subset) on which the LF raised."""
    mask = np.zeros(n_rows, dtype=bool)
    for votes, offset in zip(column.parts, column.offsets, strict=True):
        if votes.fault_rows is not None and votes.fault_rows.size:
            mask[votes.fault_rows + offset] = True
    return mask


def _faults(lfs: list[LabelingFunction], columns: list[_Column]) -> tuple[LFFault, ...]:
    faults = []
    for lf, column in zip(lfs, columns, strict=True):
        count = sum(v.n_faults for v in column.parts)
        if count:
            first = next((v.first_traceback for v in column.parts if v.first_traceback), "")
            faults.append(LFFault(lf.name, count, first or ""))
    return tuple(faults)


__all__ = [
    "ApplyResult",
    "LFFault",
    "MultilabelApplyResult",
    "SpanApplyResult",
    "SpanVotes",
    "apply_lfs",
    "apply_multilabel_lfs",
    "apply_span_lfs",
    "run_chunks",
]
