"""Declarative span LFs: every match of a regular expression, or of a gazetteer's terms.

Spans are ``(start, end, label)`` with ``end`` exclusive, offsets in Python ``str`` code points.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.columns import TermMatcher, TextColumn
from labelkitchen.weak.declarative import DeclarativeLF, Label, check_label, regex_flags
from labelkitchen.weak.labels import ABSTAIN, LabelIndex, to_index
from labelkitchen.weak.lf import ColumnVotes, Record, RecordLike


class _SpanLF(DeclarativeLF):
    label: Label

    def __init__(self, name: str) -> None:
        super().__init__(name, kind="spans")

    def _matches(
        self, column: TextColumn
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        raise NotImplementedError

    def _vote_one(self, record: RecordLike) -> Any:
        _, starts, ends = self._matches(TextColumn([Record(record.text)]))
        return [(int(s), int(e), self.label) for s, e in zip(starts, ends, strict=True)]

    def _column_votes(self, column: TextColumn, labels: LabelIndex | None) -> ColumnVotes:
        rows, starts, ends = self._matches(column)
        code = to_index(self.label, labels)
        keep = ends > starts
        if code == ABSTAIN:
            keep[:] = False
        return ColumnVotes(
            rows=rows[keep],
            labels=np.full(int(keep.sum()), code, dtype=np.int64),
            starts=starts[keep],
            ends=ends[keep],
        )


class RegexSpanLF(_SpanLF):
    """Every match of ``pattern`` (or of its group ``group``) is a span labelled ``label``."""

    type_name = "regex_span"

    def __init__(
        self,
        name: str,
        pattern: str,
        label: Label,
        *,
        group: int | str = 0,
        flags: Iterable[str] | int = (),
    ) -> None:
        self.pattern = str(pattern)
        self.label = check_label(label)
        self.group = group
        value, self.flags = regex_flags(flags)
        try:
            self._regex = re.compile(self.pattern, value)
        except re.error as error:
            raise InvalidInput(
                f"LF {name!r}: bad regular expression {pattern!r}: {error}"
            ) from error
        super().__init__(name)

    def _fields(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "label": self.label,
            "group": self.group,
            "flags": list(self.flags),
        }

    def _matches(
        self, column: TextColumn
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        found = [
            (row, *m.span(self.group))
            for row, text in enumerate(column.texts())
            for m in self._regex.finditer(text)
            if m.start(self.group) >= 0
        ]
        table = np.asarray(found, dtype=np.int64).reshape(-1, 3)
        return table[:, 0], table[:, 1], table[:, 2]


class GazetteerSpanLF(_SpanLF):
    """Every occurrence of one of ``terms`` is a span labelled ``label`` (one alternation, one
    pass over the column)."""

    type_name = "gazetteer"

    def __init__(
        self,
        name: str,
        terms: Sequence[str],
        label: Label,
        *,
        whole_word: bool = True,
        case_sensitive: bool = False,
    ) -> None:
        if isinstance(terms, str):
            raise InvalidInput(f"terms must be a list of strings, got the string {terms!r}")
        self.terms = [str(t) for t in terms]
        self.label = check_label(label)
        self.whole_word = bool(whole_word)
        self.case_sensitive = bool(case_sensitive)
        self._matcher = TermMatcher(
            self.terms, whole_word=self.whole_word, case_sensitive=self.case_sensitive
        )
        super().__init__(name)

    def _fields(self) -> dict[str, Any]:
        return {
            "terms": list(self.terms),
            "label": self.label,
            "whole_word": self.whole_word,
            "case_sensitive": self.case_sensitive,
        }

    def _matches(
        self, column: TextColumn
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        return self._matcher.spans(column)


# factories (the public spelling) ----------------------------------------------------------------


def regex_span_lf(
    name: str, pattern: str, label: Label, *, group: int | str = 0, flags: Iterable[str] | int = ()
) -> RegexSpanLF:
    """A span LF marking every match of ``pattern`` (see :class:`RegexSpanLF`)."""
    return RegexSpanLF(name, pattern, label, group=group, flags=flags)


def gazetteer_span_lf(
    name: str,
    terms: Sequence[str],
    label: Label,
    *,
    whole_word: bool = True,
    case_sensitive: bool = False,
) -> GazetteerSpanLF:
    """A span LF marking every occurrence of one of ``terms`` (see :class:`GazetteerSpanLF`)."""
    return GazetteerSpanLF(name, terms, label, whole_word=whole_word, case_sensitive=case_sensitive)


__all__ = ["GazetteerSpanLF", "RegexSpanLF", "gazetteer_span_lf", "regex_span_lf"]
