"""Column views of a chunk of records and the term matcher behind keyword and gazetteer LFs.

A :class:`TextColumn` holds one chunk's texts (or one meta field's values) and builds, once per
chunk and shared by every declarative LF that needs it, the lower-cased texts and the whole column
joined into one string with offsets. A :class:`TermMatcher` runs a list of terms over that joined
string in a single regular-expression pass, as a plain alternation that Python's engine scans
quickly; word boundaries (which defeat that fast scan) are then checked only on the few records
the pass found.

Case-insensitive matching compares ``str.lower()`` of text and terms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.lf import Record

SEPARATOR = "\x00"
IntArray = npt.NDArray[np.int64]


def _as_text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


class TextColumn:
    """The texts (or ``meta[field]`` values) of one chunk, with cached derived forms."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self._texts: dict[tuple[str | None, bool], list[str]] = {}
        self._joined: dict[tuple[str | None, bool], tuple[str, IntArray]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def texts(self, field: str | None = None, *, lower: bool = False) -> list[str]:
        """Each record's text, or its ``meta[field]`` as text; lower-cased if asked."""
        key = (field, lower)
        cached = self._texts.get(key)
        if cached is None:
            if lower:
                cached = [t.lower() for t in self.texts(field)]
            elif field is None:
                cached = [r.text for r in self.records]
            else:
                cached = [_as_text(r.meta.get(field)) for r in self.records]
            self._texts[key] = cached
        return cached

    def joined(self, field: str | None = None, *, lower: bool = False) -> tuple[str, IntArray]:
        """All texts joined by a NUL separator, and where each text starts in the result."""
        key = (field, lower)
        cached = self._joined.get(key)
        if cached is None:
            texts = self.texts(field, lower=lower)
            lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
            starts = np.zeros(len(texts), dtype=np.int64)
            if len(texts) > 1:
                starts[1:] = np.cumsum(lengths + 1)[:-1]
            cached = (SEPARATOR.join(texts), starts)
            self._joined[key] = cached
        return cached


class TermMatcher:
    """Finds any of ``terms`` (whole words or substrings, with or without case) in a column."""

    def __init__(self, terms: Sequence[str], *, whole_word: bool, case_sensitive: bool) -> None:
        cleaned = [t for t in terms if t]
        if not cleaned:
            raise InvalidInput("a keyword or gazetteer LF needs at least one non-empty term")
        if any(SEPARATOR in t for t in cleaned):
            raise InvalidInput("terms must not contain the NUL character")
        self.lower = not case_sensitive
        normal = [t.lower() if self.lower else t for t in cleaned]
        ordered = sorted(set(normal), key=lambda t: (-len(t), t))
        body = "|".join(re.escape(t) for t in ordered)
        self.whole_word = whole_word
        self.scan = re.compile(f"(?:{body})")
        self.exact = re.compile(rf"(?<!\w)(?:{body})(?!\w)") if whole_word else self.scan
        self.fallback = re.compile(self.exact.pattern, 0 if case_sensitive else re.IGNORECASE)

    def search(self, text: str) -> bool:
        """Whether one text contains a term."""
        return self.exact.search(text.lower() if self.lower else text) is not None

    def candidate_rows(self, column: TextColumn, field: str | None = None) -> IntArray:
        """Rows where some term occurs as a substring (a superset of the matching rows)."""
        joined, starts = column.joined(field, lower=self.lower)
        positions = np.fromiter((m.start() for m in self.scan.finditer(joined)), dtype=np.int64)
        if positions.size == 0:
            return positions
        return np.unique(np.searchsorted(starts, positions, side="right") - 1)

    def rows(self, column: TextColumn, field: str | None = None) -> IntArray:
        """Rows where some term occurs (as a whole word when ``whole_word``)."""
        candidates = self.candidate_rows(column, field)
        if not self.whole_word or candidates.size == 0:
            return candidates
        texts = column.texts(field, lower=self.lower)
        search = self.exact.search
        keep = [i for i in candidates.tolist() if search(texts[i])]
        return np.asarray(keep, dtype=np.int64)

    def spans(self, column: TextColumn) -> tuple[IntArray, IntArray, IntArray]:
        """Every occurrence over the records' texts: (row, start, end), offsets in the original
        text (a text whose lower-casing changes its length is matched ignoring case instead)."""
        candidates = self.candidate_rows(column)
        found: list[tuple[int, int, int]] = []
        originals = column.texts()
        matched = column.texts(lower=self.lower)
        for row in candidates.tolist():
            text, original = matched[row], originals[row]
            pattern = self.exact if len(text) == len(original) else self.fallback
            target = text if pattern is self.exact else original
            found.extend((row, *m.span()) for m in pattern.finditer(target))
        table = np.asarray(found, dtype=np.int64).reshape(-1, 3)
        return table[:, 0], table[:, 1], table[:, 2]


__all__ = ["SEPARATOR", "TermMatcher", "TextColumn"]
