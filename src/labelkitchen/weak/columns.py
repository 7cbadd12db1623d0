"""Column views of a chunk of records and the term matcher behind keyword and gazetteer LFs.

A :class:`TextColumn` holds one chunk's texts (or one meta field's values) and builds, once per
chunk and shared by every declarative LF that needs it, the lower-cased texts and the whole column
joined into one string with offsets. A :class:`TermMatcher` finds its terms in that joined
string with ``str.find`` (one fast substring search per term, skipping to the next text after a
hit; a long list of terms goes through one regular-expression alternation instead); word
boundaries are then checked only on the few records those searches found.

Case-insensitive matching compares ``str.lower()`` of text and terms.

ASCII terms and literals scan the column's UTF-8 bytes instead (:meth:`TextColumn.encoded`): one
byte per ASCII character however exotic the rest of the text (an emoji makes a Python string four
bytes a character), and lower-cased with ``bytes.lower()``, which only touches ASCII letters. That
finds an ASCII term exactly where ``str.lower()`` would, except in texts holding U+0130 or U+212A
(whose lower case is ASCII); those few texts are checked one by one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any, AnyStr

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

    def __init__(
        self, items: Sequence[Record | str], *, offset: int = 0, plain: bool = False
    ) -> None:
        """``items`` are records, or plain strings standing for records without meta whose id
        is ``offset`` plus their position; ``plain`` says every item is a string (known
        already, so not checked again)."""
        self.items = items
        self.offset = offset
        self.plain = plain
        self._records: list[Record] | None = None
        self._texts: dict[tuple[str | None, bool], list[str]] = {}
        self._joined: dict[tuple[str | None, bool], tuple[str, IntArray]] = {}
        self._special: dict[tuple[str | None, bool], IntArray] = {}
        self._encoded: dict[tuple[str | None, bool], tuple[bytes, IntArray] | None] = {}
        self._to_ascii: dict[str | None, IntArray] = {}
        self._ascii: dict[tuple[str | None, bool], npt.NDArray[np.bool_]] = {}

    def __len__(self) -> int:
        return len(self.items)

    @property
    def records(self) -> list[Record]:
        """The items as :class:`Record` objects (built once, only when asked for)."""
        if self._records is None:
            start = self.offset
            self._records = [
                Record(x, {}, start + i) if isinstance(x, str) else x
                for i, x in enumerate(self.items)
            ]
        return self._records

    def texts(self, field: str | None = None, *, lower: bool = False) -> list[str]:
        """Each record's text, or its ``meta[field]`` as text; lower-cased if asked."""
        key = (field, lower)
        cached = self._texts.get(key)
        if cached is None:
            if lower:
                cached = [t.lower() for t in self.texts(field)]
            elif field is None and (self.plain or set(map(type, self.items)) <= {str}):
                cached = list(self.items)  # type: ignore[arg-type]
            elif field is None:
                cached = [x if isinstance(x, str) else x.text for x in self.items]
            else:
                cached = [
                    "" if isinstance(x, str) else _as_text(x.meta.get(field)) for x in self.items
                ]
            self._texts[key] = cached
        return cached

    def joined(self, field: str | None = None, *, lower: bool = False) -> tuple[str, IntArray]:
        """All texts joined by a NUL separator, and where each text starts in the result.

        The lower-cased form lowers the joined string in one call when that keeps every
        offset (no character whose lower case is longer), else text by text.
        """
        key = (field, lower)
        cached = self._joined.get(key)
        if cached is None:
            cached = _lower_joined(self.joined(field)) if lower else None
            if cached is None:
                joined, starts, data = _join(self.texts(field, lower=lower))
                cached = (joined, starts)
                if data is not None and not lower:  # the bytes form came for free
                    self._encoded.setdefault(key, (data, starts))
            self._joined[key] = cached
        return cached

    def text_at(self, row: int, field: str | None = None, *, lower: bool = False) -> str:
        """One record's text (lower-cased if asked), cut from the joined column."""
        joined, starts = self.joined(field, lower=lower)
        start = int(starts[row])
        end = int(starts[row + 1]) - 1 if row + 1 < starts.size else len(joined)
        return joined[start:end]

    def lengths(self, field: str | None = None) -> IntArray:
        """Length of each text in code points."""
        joined, starts = self.joined(field)
        ends = np.append(starts[1:] - 1, len(joined))
        return np.asarray(ends - starts, dtype=np.int64)

    def encoded(
        self, field: str | None = None, *, lower: bool = False
    ) -> tuple[bytes, IntArray] | None:
        """The joined column as UTF-8 bytes (ASCII letters lower-cased if ``lower``) and where
        each text starts in them; ``None`` when a text holds a NUL (the separator)."""
        key = (field, lower)
        if key not in self._encoded:
            plain = self.encoded(field) if lower else None
            if lower:
                cached = None if plain is None else (plain[0].lower(), plain[1])
            else:
                data = self.joined(field)[0].encode("utf-8", "surrogatepass")
                ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
                starts = np.concatenate([np.zeros(1, np.int64), ends + 1]).astype(np.int64)
                cached = (data, starts) if starts.size == len(self.items) else None
            self._encoded[key] = cached
        return self._encoded[key]

    def literal_offsets(
        self, literals: str | Sequence[str], field: str | None = None, *, lower: bool
    ) -> tuple[IntArray, IntArray]:
        """Rows whose text (lower-cased by ``str.lower()`` if ``lower``) contains any of
        ``literals`` (one string or several), in order, and for each the character offset of
        the first occurrence in that text; ``-1`` where the offset is not known without looking
        at the text (a text with non-ASCII characters in the bytes scan, or one of
        :meth:`lower_to_ascii_rows`).

        ASCII literals are found in the column's bytes (one byte per ASCII character, however
        wide the rest of the text), others in the joined text."""
        wanted = [literals] if isinstance(literals, str) else list(literals)
        ascii_only = all(x.isascii() for x in wanted)
        encoded = self.encoded(field, lower=lower) if ascii_only else None
        if encoded is None or not self.items:
            joined, starts = self.joined(field, lower=lower)
            rows, first = _literal_first(joined, wanted, starts)
            return rows, first - starts[rows]
        data, starts = encoded
        rows, first = _literal_first(data, [x.encode("ascii") for x in wanted], starts)
        offsets = np.where(self._ascii_texts(field)[rows], first - starts[rows], -1)
        if lower:
            special = self.lower_to_ascii_rows(field)
            if special.size:
                texts = self.texts(field)
                found = np.asarray(
                    [i for i in special.tolist() if any(x in texts[i].lower() for x in wanted)],
                    dtype=np.int64,
                )
                merged = replace_rows(rows, special, found, len(self.items))
                offsets = carry_offsets(merged, rows, offsets, unknown=special)
                rows = merged
        return rows, np.asarray(offsets, dtype=np.int64)

    def _ascii_texts(self, field: str | None) -> npt.NDArray[np.bool_]:
        """Per row, whether its text is all ASCII (as many UTF-8 bytes as characters)."""
        key = (field, False)
        cached = self._ascii.get(key)
        if cached is None:
            joined, starts = self.joined(field)
            encoded = self.encoded(field)
            chars = np.diff(np.append(starts, len(joined)))
            if encoded is None:
                cached = np.zeros(chars.size, dtype=bool)
            else:
                data, byte_starts = encoded
                cached = np.diff(np.append(byte_starts, len(data))) == chars
            self._ascii[key] = cached
        return cached

    def lower_to_ascii_rows(self, field: str | None = None) -> IntArray:
        """Rows holding a character whose ``str.lower()`` is ASCII although it is not (U+0130,
        U+212A): there the bytes of the lower-cased column differ from ``str.lower()``."""
        cached = self._to_ascii.get(field)
        if cached is None:
            cached = self._rows_holding(LOWER_TO_ASCII, field)
            self._to_ascii[field] = cached
        return cached

    def word_counts(self, field: str | None = None) -> IntArray:
        """``len(text.split())`` of each text, counted over the whole column at once."""
        joined, starts = self.joined(field)
        if not joined:
            return np.zeros(len(starts), dtype=np.int64)
        encoded = self.encoded(field)
        if encoded is not None:
            # UTF-8 bytes: every non-ASCII character is a run of bytes >= 0x80, the few
            # non-ASCII spaces are marked byte by byte, and the NUL separators stay single bytes
            data = np.frombuffer(encoded[0] + b"\x00", dtype=np.uint8)
            space = data <= 32  # then the control characters that are not space
            controls = np.flatnonzero(data < 32)
            space[controls] = _BYTE_SPACE[data[controls]]
            if not joined.isascii():
                _mark_utf8_spaces(data, space)
            begins = ~space
            begins[1:] &= space[:-1]
            # per text, the word starts from its first byte on (an empty text's first byte is
            # the next separator, never a word start; the sentinel closes the last text)
            bounds = np.append(encoded[1], data.size)
            counts = np.diff(np.searchsorted(np.flatnonzero(begins), bounds))
            return np.asarray(counts, dtype=np.int64)
        if joined.isascii():
            space = _ASCII_SPACE[np.frombuffer(joined.encode("ascii"), dtype=np.uint8)]
        else:
            points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
            space = _SPACE[np.minimum(points, _SPACE.size - 1)]
        space[starts[1:] - 1] = True  # the separators end a word too
        begins = ~space
        begins[1:] &= space[:-1]
        rows = np.searchsorted(starts, np.flatnonzero(begins), side="right") - 1
        return np.bincount(rows, minlength=len(starts)).astype(np.int64)

    def rows_containing(self, literal: str, field: str | None = None, *, lower: bool) -> IntArray:
        """Rows whose text (lower-cased if ``lower``) contains ``literal``, in order."""
        return self.literal_offsets(literal, field, lower=lower)[0]

    def rows_matching(
        self, pattern: re.Pattern[str], field: str | None = None, *, lower: bool = False
    ) -> IntArray:
        """Rows in which ``pattern`` matches, from one scan of the joined column (only for
        patterns that cannot match across the separator; see ``regex_literals.column_safe``)."""
        joined, starts = self.joined(field, lower=lower)
        return _rows_of(_first_positions(pattern.pattern, pattern.flags, joined), starts)

    def case_special_rows(self, field: str | None = None) -> IntArray:
        """Rows holding a character that ``re.IGNORECASE`` matches to an ASCII letter other than
        its ``str.lower()`` (U+0130, U+0131, U+017F: dotted and dotless i, long s): lower-cased
        texts mislead a prefilter there."""
        key = (field, True)
        cached = self._special.get(key)
        if cached is None:
            cached = self._rows_holding(_CASE_SPECIAL_CHARS, field)
            self._special[key] = cached
        return cached

    def _rows_holding(self, chars: str, field: str | None) -> IntArray:
        """Rows holding any of ``chars`` (rare characters): ``str.find`` on the joined column,
        which answers at once where the column has no character that wide (far quicker than
        a search of the bytes)."""
        joined, starts = self.joined(field)
        return _rows_of(_char_positions(joined, chars), starts)


def carry_offsets(
    rows: IntArray, old_rows: IntArray, old_offsets: IntArray, *, unknown: IntArray
) -> IntArray:
    """Offsets for ``rows`` (ascending): ``old_offsets`` where the row is in ``old_rows``
    (ascending) and not in ``unknown``, else ``-1``."""
    offsets = np.full(rows.size, -1, dtype=np.int64)
    if old_rows.size:
        at = np.minimum(np.searchsorted(old_rows, rows), old_rows.size - 1)
        known = (old_rows[at] == rows) & ~np.isin(rows, unknown)
        offsets[known] = old_offsets[at[known]]
    return offsets


def replace_rows(rows: IntArray, checked: IntArray, found: IntArray, n_rows: int) -> IntArray:
    """``rows`` without those in ``checked``, plus ``found`` (the ``checked`` rows that do
    match), in order: a mask, far cheaper than the sorting set operations of numpy."""
    mask = np.zeros(n_rows, dtype=bool)
    mask[rows] = True
    mask[checked] = False
    mask[found] = True
    return np.flatnonzero(mask).astype(np.int64)


def _join(texts: list[str]) -> tuple[str, IntArray, bytes | None]:
    """The texts joined by the separator, where each starts, and, for an ASCII column whose
    texts hold no separator, its bytes (then the starts come from the separators found in
    them, quicker than asking every string its length)."""
    joined = SEPARATOR.join(texts)
    if texts and joined.isascii():
        data = joined.encode("ascii")
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
        if ends.size == len(texts) - 1:
            starts = np.zeros(len(texts), dtype=np.int64)
            starts[1:] = ends + 1
            return joined, starts, data
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        starts[1:] = np.cumsum(lengths + 1)[:-1]
    return joined, starts, None


def _lower_joined(plain: tuple[str, IntArray]) -> tuple[str, IntArray] | None:
    """The joined column lower-cased in one call, with the starts moved past the characters
    whose lower case is longer (``İ``); ``None`` if that does not account for the length."""
    joined, starts = plain
    lowered = joined.lower()
    if len(lowered) == len(joined):
        return lowered, starts
    positions = np.fromiter((m.start() for m in _EXPANDING.finditer(joined)), dtype=np.int64)
    grows = np.zeros(starts.size, dtype=np.int64)
    np.add.at(grows, np.searchsorted(starts, positions, side="right") - 1, 1)
    if len(lowered) != len(joined) + int(grows.sum()):
        return None
    moved = starts.copy()
    moved[1:] += np.cumsum(grows)[:-1]
    return lowered, moved


_FIND_LITERALS = 128
"""Up to this many literals are looked for one at a time with ``find`` (a fast substring
search each); more go through one regular-expression alternation, which Python's engine tries
at every position. On 50,000 texts of about 195 characters: 2 literals 10 ms by ``find``
against 73 ms as an alternation, 128 literals 0.63 s against 0.81 s, 256 literals 1.3 s
against 1.1 s."""


def _literal_rows(joined: AnyStr, literals: Sequence[AnyStr], starts: IntArray) -> IntArray:
    """The rows (ascending, distinct) of a joined column whose text contains any of
    ``literals``."""
    return _literal_first(joined, literals, starts)[0]


def _literal_first(
    joined: AnyStr, literals: Sequence[AnyStr], starts: IntArray
) -> tuple[IntArray, IntArray]:
    """The rows (ascending, distinct) of a joined column whose text contains any of
    ``literals``, and where in ``joined`` the first occurrence in each starts. Each literal is
    found with ``find``, one call per occurrence; once its occurrences outnumber the texts, the
    search goes on from the next text after each hit, so a literal that fills every text costs
    at most about two calls per text."""
    separator: Any = SEPARATOR if isinstance(joined, str) else SEPARATOR.encode()
    if len(literals) > _FIND_LITERALS or any(not x or separator in x for x in literals):
        ordered = sorted(set(literals), key=lambda x: (-len(x), x))
        pattern: Any = (b"|" if isinstance(joined, bytes) else "|").join(map(re.escape, ordered))
        return _first_of(_first_positions(pattern, 0, joined), starts)
    find = joined.find
    found: list[int] = []
    for literal in literals:
        width, first = len(literal), len(found)
        at = find(literal)
        # every occurrence, one call each, while they are no more than the texts; past that
        # (a literal many times per text) skip to the next text after each hit
        while at >= 0 and len(found) - first < starts.size:
            found.append(at)
            at = find(literal, at + width)
        while at >= 0:
            found.append(at)
            end = find(separator, at + width)
            if end < 0:
                break
            at = find(literal, end + 1)
    positions = np.asarray(found, dtype=np.int64)
    if len(literals) > 1:
        positions.sort()
    return _first_of(positions, starts)


@functools.lru_cache(maxsize=256)
def _to_row_end(pattern: AnyStr, flags: int) -> re.Pattern[AnyStr]:
    """``pattern`` followed by the rest of its text: a match then ends at the separator, so a
    scan of the joined column yields at most one match per text, at the same (leftmost) start
    the bare pattern would give (a trailing ``[^\\0]*`` can always match empty). Falls back to
    the bare pattern where wrapping it is not valid (a global inline flag such as ``(?i)``)."""
    tail = "[^" + SEPARATOR + "]*"
    wrapped = (
        f"(?:{pattern}){tail}"
        if isinstance(pattern, str)
        else b"(?:%s)%s" % (pattern, tail.encode())
    )
    try:
        return re.compile(wrapped, flags)
    except re.error:
        return re.compile(pattern, flags)


def _char_positions(text: str, chars: str) -> IntArray:
    """Ascending positions of any of ``chars`` (rare characters) in ``text``: ``str.find`` per
    character, far quicker than a character-class scan of a long text."""
    found: list[int] = []
    for char in chars:
        at = text.find(char)
        while at >= 0:
            found.append(at)
            at = text.find(char, at + 1)
    return np.asarray(sorted(found), dtype=np.int64)


def _first_positions(pattern: AnyStr, flags: int, joined: AnyStr) -> IntArray:
    """Where ``pattern`` first matches in each text of a joined column (ascending)."""
    scan = _to_row_end(pattern, flags)
    return np.fromiter((m.start() for m in scan.finditer(joined)), dtype=np.int64)


def _rows_of(positions: IntArray, starts: IntArray) -> IntArray:
    """The distinct rows holding the (ascending) ``positions`` of a joined column."""
    return _first_of(positions, starts)[0]


def _first_of(positions: IntArray, starts: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct rows holding the (ascending) ``positions`` of a joined column, and the
    first of those positions in each."""
    if positions.size == 0:
        return positions, positions
    rows = np.searchsorted(starts, positions, side="right") - 1
    keep = np.ones(rows.size, dtype=bool)
    keep[1:] = rows[1:] != rows[:-1]
    return np.asarray(rows[keep], dtype=np.int64), np.asarray(positions[keep], dtype=np.int64)


# Characters whose str.lower() is longer than one character: only U+0130 (a test checks).
EXPANDING_LOWER = "\u0130"
_EXPANDING = re.compile("[" + EXPANDING_LOWER + "]")
_CASE_SPECIAL_CHARS = "\u0130\u0131\u017f"
# Non-ASCII characters whose str.lower() holds ASCII letters (a test checks): the bytes scan of
# lower-cased texts checks texts holding them one by one.
LOWER_TO_ASCII = "\u0130\u212a"

# Characters ``str.split()`` splits on (``str.isspace``), as code points.
_SPACE = np.array([chr(c).isspace() for c in range(0x3002)], dtype=bool)  # last: "above"
_ASCII_SPACE = _SPACE[:256].copy()
_BYTE_SPACE = np.zeros(256, dtype=bool)  # as UTF-8 bytes: ASCII spaces and the NUL separator
_BYTE_SPACE[:128] = _SPACE[:128]
_BYTE_SPACE[0] = True
UNICODE_SPACES = "".join(chr(c) for c in range(128, 0x110000) if chr(c).isspace())


def _mark_utf8_spaces(data: npt.NDArray[np.uint8], space: npt.NDArray[np.bool_]) -> None:
    """Mark every byte of the non-ASCII spaces in ``data`` (valid UTF-8) as space: the bytes
    that can lead one (0xC2 for two bytes, 0xE1 to 0xE3 for three) are found at once, and the
    code points they start decoded and looked up."""
    leads = np.flatnonzero((data == 0xC2) | ((data >= 0xE1) & (data <= 0xE3)))
    if not leads.size:
        return
    padded = np.concatenate([data, np.zeros(2, dtype=np.uint8)])
    first = padded[leads].astype(np.int64)
    second = padded[leads + 1].astype(np.int64) & 0x3F
    third = padded[leads + 2].astype(np.int64) & 0x3F
    two = first == 0xC2
    points = np.where(
        two, ((first & 0x1F) << 6) | second, ((first & 0x0F) << 12) | (second << 6) | third
    )
    hit = _SPACE[np.minimum(points, _SPACE.size - 1)]
    starts = leads[hit]
    space[starts] = True
    space[starts + 1] = True
    space[starts[~two[hit]] + 2] = True


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
        self.terms = ordered
        self.scan = re.compile(f"(?:{body})")
        self.exact = re.compile(rf"(?<!\w)(?:{body})(?!\w)") if whole_word else self.scan
        self.fallback = re.compile(self.exact.pattern, 0 if case_sensitive else re.IGNORECASE)

    def search(self, text: str) -> bool:
        """Whether one text contains a term."""
        return self.exact.search(text.lower() if self.lower else text) is not None

    def candidate_rows(self, column: TextColumn, field: str | None = None) -> IntArray:
        """Rows where some term occurs as a substring (a superset of the matching rows)."""
        return column.literal_offsets(self.terms, field, lower=self.lower)[0]

    def rows(self, column: TextColumn, field: str | None = None) -> IntArray:
        """Rows where some term occurs (as a whole word when ``whole_word``)."""
        candidates = self.candidate_rows(column, field)
        if not self.whole_word or candidates.size == 0:
            return candidates
        search, texts = self.search, column.texts(field)
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


__all__ = ["SEPARATOR", "TermMatcher", "TextColumn", "carry_offsets", "replace_rows"]
