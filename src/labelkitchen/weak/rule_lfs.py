"""Declarative classify LFs: keyword lists, regular expressions, lookup tables, thresholds.

See :mod:`labelkitchen.weak.declarative` for the dict form they share.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.columns import TermMatcher, TextColumn, carry_offsets, replace_rows
from labelkitchen.weak.declarative import DeclarativeLF, Label, as_text, check_label, regex_flags
from labelkitchen.weak.lf import RecordLike
from labelkitchen.weak.regex_literals import (
    column_safe,
    literal_lead,
    lowercase_twin,
    required_literal,
)

TEXT_FEATURES = ("@length", "@words")
"""Pseudo-fields a threshold LF can read from the text instead of meta."""


class KeywordLF(DeclarativeLF):
    """Votes ``label`` when any keyword occurs in the text (or in ``meta[field]``)."""

    type_name = "keyword"

    def __init__(
        self,
        name: str,
        keywords: Sequence[str],
        label: Label,
        *,
        whole_word: bool = True,
        case_sensitive: bool = False,
        field: str | None = None,
    ) -> None:
        if isinstance(keywords, str):
            raise InvalidInput(f"keywords must be a list of strings, got the string {keywords!r}")
        self.keywords = [str(k) for k in keywords]
        self.label = check_label(label)
        self.whole_word = bool(whole_word)
        self.case_sensitive = bool(case_sensitive)
        self.field = field
        self._matcher = TermMatcher(
            self.keywords, whole_word=self.whole_word, case_sensitive=self.case_sensitive
        )
        super().__init__(name)

    def _fields(self) -> dict[str, Any]:
        return {
            "keywords": list(self.keywords),
            "label": self.label,
            "whole_word": self.whole_word,
            "case_sensitive": self.case_sensitive,
            "field": self.field,
        }

    def _vote_one(self, record: RecordLike) -> Any:
        text = record.text if self.field is None else as_text(record.meta.get(self.field))
        return self.label if self._matcher.search(text) else None

    def _hits(self, column: TextColumn) -> tuple[npt.NDArray[np.int64], Any]:
        return self._matcher.rows(column, self.field), self.label


class RegexLF(DeclarativeLF):
    """Votes ``label`` when ``pattern`` matches somewhere in the text (``re.search``)."""

    type_name = "regex"

    def __init__(
        self,
        name: str,
        pattern: str,
        label: Label,
        *,
        flags: Iterable[str] | int = (),
        field: str | None = None,
    ) -> None:
        self.pattern = str(pattern)
        self.label = check_label(label)
        value, self.flags = regex_flags(flags)
        self.field = field
        try:
            self._regex = re.compile(self.pattern, value)
        except re.error as error:
            raise InvalidInput(
                f"LF {name!r}: bad regular expression {pattern!r}: {error}"
            ) from error
        self._literal = required_literal(self._regex)
        self._lead = literal_lead(self._regex)
        # Fastest first: a literal every match holds finds candidate texts in one scan of the
        # column, then search runs on those; else one scan of the whole column when the pattern
        # cannot match across texts (IGNORECASE scans are slow in Python's engine: those scan
        # the lower-cased column with a case-sensitive twin); else search text by text.
        ignore_case = bool(self._regex.flags & re.IGNORECASE)
        self._column_safe = column_safe(self._regex) and not ignore_case
        self._twin = lowercase_twin(self._regex)
        super().__init__(name)

    def _fields(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "label": self.label,
            "flags": list(self.flags),
            "field": self.field,
        }

    def _vote_one(self, record: RecordLike) -> Any:
        text = record.text if self.field is None else as_text(record.meta.get(self.field))
        return self.label if self._regex.search(text) else None

    def _twin_rows(self, column: TextColumn) -> npt.NDArray[np.int64]:
        rows = column.rows_matching(self._twin, self.field, lower=True) if self._twin else None
        special = column.case_special_rows(self.field)
        if rows is None or not special.size:
            return np.zeros(0, np.int64) if rows is None else rows
        texts, search = column.texts(self.field), self._regex.search
        found = np.asarray([i for i in special.tolist() if search(texts[i])], dtype=np.int64)
        return replace_rows(rows, special, found, len(column))

    def _hits(self, column: TextColumn) -> tuple[npt.NDArray[np.int64], Any]:
        search = self._regex.search
        if self._literal is None:
            if self._column_safe:
                return column.rows_matching(self._regex, self.field), self.label
            if self._twin is not None:
                return self._twin_rows(column), self.label
            texts = column.texts(self.field)
            return np.asarray([i for i, t in enumerate(texts) if search(t)], np.int64), self.label
        literal, lower = self._literal
        texts = column.texts(self.field)
        candidates, offsets = column.literal_offsets(literal, self.field, lower=lower)
        special = column.case_special_rows(self.field) if lower else None
        if special is not None and special.size:  # lower-casing and IGNORECASE disagree there
            merged = replace_rows(candidates, special, special, len(column))
            offsets = carry_offsets(merged, candidates, offsets, unknown=special)
            candidates = merged
        # a match starts at most `lead` characters before an occurrence of the literal, so the
        # search starts there; at the text's start where the offset or the lead is unknown
        lead = sys.maxsize if self._lead is None else self._lead
        rows = [
            i
            for i, at in zip(candidates.tolist(), offsets.tolist(), strict=True)
            if search(texts[i], at - lead if at > lead else 0)
        ]
        return np.asarray(rows, dtype=np.int64), self.label


class LookupLF(DeclarativeLF):
    """Votes ``table[meta[field]]``; values not in the table vote ``default`` (``None``:
    abstain). Non-string meta values are looked up by ``str(value)``."""

    type_name = "lookup"

    def __init__(
        self,
        name: str,
        field: str,
        table: Mapping[str, Label | None],
        *,
        default: Label | None = None,
        case_sensitive: bool = True,
    ) -> None:
        self.field = str(field)
        self.case_sensitive = bool(case_sensitive)
        self.table = {str(k): (None if v is None else check_label(v)) for k, v in table.items()}
        self.default = None if default is None else check_label(default)
        self._keyed = {self._key(k): v for k, v in self.table.items()}
        super().__init__(name)

    def _key(self, value: Any) -> str:
        text = as_text(value)
        return text if self.case_sensitive else text.casefold()

    def _fields(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "table": dict(self.table),
            "default": self.default,
            "case_sensitive": self.case_sensitive,
        }

    def _vote_one(self, record: RecordLike) -> Any:
        value = record.meta.get(self.field)
        if value is None:
            return None
        return self._keyed.get(self._key(value), self.default)

    def _hits(self, column: TextColumn) -> tuple[npt.NDArray[np.int64], Any]:
        votes = [self._vote_one(r) for r in column.records]
        rows = [i for i, v in enumerate(votes) if v is not None]
        return np.asarray(rows, dtype=np.int64), [votes[i] for i in rows]


class ThresholdLF(DeclarativeLF):
    """Votes ``label`` when a number lies above ``above`` and/or below ``below`` (strictly,
    unless ``inclusive``). The number is ``meta[field]``, or for ``field="@length"`` /
    ``"@words"`` the text's length in characters / whitespace-separated words. Missing or
    non-numeric values abstain."""

    type_name = "threshold"

    def __init__(
        self,
        name: str,
        field: str,
        *,
        label: Label,
        above: float | None = None,
        below: float | None = None,
        inclusive: bool = False,
    ) -> None:
        if above is None and below is None:
            raise InvalidInput(f"threshold LF {name!r} needs 'above', 'below' or both")
        self.field = str(field)
        self.label = check_label(label)
        self.above = None if above is None else float(above)
        self.below = None if below is None else float(below)
        self.inclusive = bool(inclusive)
        super().__init__(name)

    def _fields(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "label": self.label,
            "above": self.above,
            "below": self.below,
            "inclusive": self.inclusive,
        }

    def _value(self, record: RecordLike) -> float:
        if self.field == "@length":
            return float(len(record.text))
        if self.field == "@words":
            return float(len(record.text.split()))
        raw = record.meta.get(self.field)
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            return math.nan
        try:
            return float(raw)
        except ValueError:
            return math.nan

    def _vote_one(self, record: RecordLike) -> Any:
        mask = self._passes(np.array([self._value(record)]))
        return self.label if bool(mask[0]) else None

    def _passes(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        ok = np.isfinite(values)
        greater: Callable[[Any, Any], Any] = np.greater_equal if self.inclusive else np.greater
        less: Callable[[Any, Any], Any] = np.less_equal if self.inclusive else np.less
        with np.errstate(invalid="ignore"):
            if self.above is not None:
                ok &= greater(values, self.above)
            if self.below is not None:
                ok &= less(values, self.below)
        return np.asarray(ok, dtype=bool)

    def _hits(self, column: TextColumn) -> tuple[npt.NDArray[np.int64], Any]:
        if self.field == "@length":
            values = column.lengths().astype(np.float64)
        elif self.field == "@words":
            values = column.word_counts().astype(np.float64)
        else:
            values = np.fromiter(
                (self._value(r) for r in column.records), dtype=np.float64, count=len(column)
            )
        rows = np.flatnonzero(self._passes(values)).astype(np.int64)
        return rows, self.label


# factories (the public spelling) ----------------------------------------------------------------


def keyword_lf(
    name: str,
    keywords: Sequence[str],
    label: Label,
    *,
    whole_word: bool = True,
    case_sensitive: bool = False,
    field: str | None = None,
) -> KeywordLF:
    """An LF voting ``label`` when any of ``keywords`` occurs (see :class:`KeywordLF`)."""
    return KeywordLF(
        name, keywords, label, whole_word=whole_word, case_sensitive=case_sensitive, field=field
    )


def regex_lf(
    name: str,
    pattern: str,
    label: Label,
    *,
    flags: Iterable[str] | int = (),
    field: str | None = None,
) -> RegexLF:
    """An LF voting ``label`` when ``pattern`` matches (see :class:`RegexLF`); ``flags`` are
    ``re`` flag names such as ``["IGNORECASE"]`` (or an ``re`` flag value)."""
    return RegexLF(name, pattern, label, flags=flags, field=field)


def lookup_lf(
    name: str,
    field: str,
    table: Mapping[str, Label | None],
    *,
    default: Label | None = None,
    case_sensitive: bool = True,
) -> LookupLF:
    """An LF voting ``table[meta[field]]`` (see :class:`LookupLF`)."""
    return LookupLF(name, field, table, default=default, case_sensitive=case_sensitive)


def threshold_lf(
    name: str,
    field: str,
    *,
    label: Label,
    above: float | None = None,
    below: float | None = None,
    inclusive: bool = False,
) -> ThresholdLF:
    """An LF voting ``label`` when a numeric meta field (or ``@length``/``@words``) lies beyond
    the bounds (see :class:`ThresholdLF`)."""
    return ThresholdLF(name, field, label=label, above=above, below=below, inclusive=inclusive)


__all__ = [
    "TEXT_FEATURES",
    "KeywordLF",
    "LookupLF",
    "RegexLF",
    "ThresholdLF",
    "keyword_lf",
    "lookup_lf",
    "regex_lf",
    "threshold_lf",
]
