"""A cache of LF votes keyed by (LF version, record content hash).

Re-applying a set of LFs after editing one of them recomputes only that LF's column: every other
LF's version is unchanged and its votes come from here. Records are identified by a 64-bit hash of
their text and meta (not their id), so an LF must depend on text and meta only for its cached votes
to be right. The label set is part of the key, since it decides the class indices.

The cache lives in memory; the caller owns it and passes it to
:func:`~labelkitchen.weak.apply.apply_lfs` (the store keeps votes per LF version for the workbench).
It also remembers the content hashes of the last records it saw: applying again to the very same
record objects (the usual edit loop) does not hash every text again. Records are immutable
(:class:`~labelkitchen.weak.lf.Record` is frozen, strings are), so the same objects have the same
content; a meta mapping changed in place is the one thing this cannot see.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.weak.lf import Record

FAULT = -2
"""Code stored for a record on which the LF raised."""


@dataclass
class _Column:
    hashes: npt.NDArray[np.uint64]  # sorted
    codes: npt.NDArray[np.int8]  # class index, -1 abstain, FAULT
    first_traceback: str | None


class LFCache:
    """In-memory votes per (LF version, label set), each a sorted table of record hashes."""

    def __init__(self) -> None:
        self._columns: dict[tuple[str, tuple[str, ...] | None], _Column] = {}
        # Columns over the same records share one hash table, so a lookup of many LFs finds
        # each record's position once (the last lookup's positions are kept for the next).
        self._tables: list[npt.NDArray[np.uint64]] = []
        self._last: tuple[Any, Any, npt.NDArray[np.bool_], npt.NDArray[np.int64]] | None = None
        self._hashed: tuple[list[Record | str], npt.NDArray[np.uint64]] | None = None

    def __len__(self) -> int:
        """Number of cached (LF version, label set) columns."""
        return len(self._columns)

    def clear(self) -> None:
        self._columns.clear()
        self._tables.clear()
        self._last = None
        self._hashed = None

    def content_hashes(self, records: Sequence[Record | str]) -> npt.NDArray[np.uint64]:
        """:func:`content_hashes` of ``records``, reused when they are the very objects of the
        previous call (kept referenced here, so no other object can take their identity)."""
        held = self._hashed
        if (
            held is not None
            and len(held[0]) == len(records)
            and all(map(operator.is_, held[0], records))
        ):
            return held[1]
        hashes = content_hashes(records)
        self._hashed = (list(records), hashes)
        return hashes

    def lookup(
        self, key: tuple[str, tuple[str, ...] | None], hashes: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int8], str | None]:
        """For each record hash: whether it is cached, and its code (meaningless where not)."""
        column = self._columns.get(key)
        codes = np.full(hashes.size, -1, dtype=np.int8)
        if column is None or column.hashes.size == 0:
            return np.zeros(hashes.size, dtype=bool), codes, None
        last = self._last
        if last is not None and last[0] is column.hashes and last[1] is hashes:
            found, positions = last[2], last[3]
        else:
            positions = np.searchsorted(column.hashes, hashes)
            positions = np.minimum(positions, column.hashes.size - 1)
            found = column.hashes[positions] == hashes
            self._last = (column.hashes, hashes, found, positions)
        codes[found] = column.codes[positions[found]]
        return found, codes, column.first_traceback

    def store(
        self,
        key: tuple[str, tuple[str, ...] | None],
        hashes: npt.NDArray[np.uint64],
        codes: npt.NDArray[np.int8],
        first_traceback: str | None,
    ) -> None:
        """Add votes (``codes`` per record hash); newer entries replace older ones."""
        column = self._columns.get(key)
        if column is not None:
            hashes = np.concatenate([hashes, column.hashes])
            codes = np.concatenate([codes, column.codes])
            first_traceback = first_traceback or column.first_traceback
        unique, first = np.unique(hashes, return_index=True)
        self._columns[key] = _Column(
            self._shared(unique), codes[first].astype(np.int8), first_traceback
        )

    def _shared(self, table: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        """An equal table already held, else ``table`` (kept for the next columns)."""
        for held in self._tables:
            if held.size == table.size and np.array_equal(held, table):
                return held
        in_use = {id(c.hashes) for c in self._columns.values()}
        self._tables = [t for t in self._tables if id(t) in in_use]
        self._tables.append(table)
        return table


def content_hashes(records: Sequence[Record | str]) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each record's text and meta (stable across processes and runs); a
    plain string hashes as a record with that text and no meta."""
    digests = [_digest(record) for record in records]
    return np.frombuffer(b"".join(digests), dtype="<u8").astype(np.uint64)


def _digest(record: Record | str) -> bytes:
    if isinstance(record, str):
        return hashlib.blake2b(record.encode("utf-8"), digest_size=8).digest()
    digest = hashlib.blake2b(record.text.encode("utf-8"), digest_size=8)
    if record.meta:
        digest.update(b"\x1f")
        digest.update(_meta_bytes(record.meta))
    return digest.digest()


def _meta_bytes(meta: Any) -> bytes:
    return json.dumps(meta, sort_keys=True, default=repr, ensure_ascii=False).encode("utf-8")


__all__ = ["FAULT", "LFCache", "content_hashes"]
