"""Vectorised declarative LFs give exactly what one record at a time gives."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelkitchen.weak import (
    LabelMatrix,
    Record,
    apply_lfs,
    keyword_lf,
    regex_lf,
    threshold_lf,
)
from labelkitchen.weak.columns import (
    _FIND_LITERALS,
    EXPANDING_LOWER,
    LOWER_TO_ASCII,
    UNICODE_SPACES,
    TextColumn,
    _literal_rows,
)
from labelkitchen.weak.regex_literals import (
    column_safe,
    literal_lead,
    lowercase_twin,
    required_literal,
)

TRICKY = [
    "Check it out",
    "check",
    "out first, then CHECK",
    "İstanbul is in Turkey",
    "\u017fubscribe now",
    "KILO with a Kelvin sign",
    "\u0131i dotless",
    "winner winners WIN",
    "",
    "   spaced\u3000out\u00a0words  ",
    "tab\tand\nnewline",
    "nul\x00inside",
    "emoji 🎵 song",
    "ΟΔΟΣ ΣΤΟ",
    "winwin then a winner",
    "x-out 7-out 42-OUT",
]
PATTERNS = [
    r"check.*out",
    r"\bwin(?:s|ner)?\b",
    r"^check",
    r"out$",
    r"\bist",
    r"subscribe",
    r"[a-z]+ing",
    r"\d+",
    r"song|tab",
    r"ki",
    "\u0131",
    r"\Bnner",
    r"\d{2}-out",
    r"(?<=n)ner",
    r"x?win",
    r"(?:th|a )winner",
]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("flags", [[], ["IGNORECASE"]])
def test_regex_lf_over_a_column_equals_search_text_by_text(pattern, flags):
    lf = regex_lf("r", pattern, 1, flags=flags)
    texts = TRICKY * 3
    expected = [1 if lf(Record(t)) is not None else -1 for t in texts]
    got = apply_lfs([lf], texts).L.to_dense()[:, 0].tolist()
    assert got == expected


@given(st.lists(st.text(max_size=20), min_size=1, max_size=12), st.sampled_from(PATTERNS))
@settings(max_examples=80, deadline=None)
def test_regex_lf_column_scan_matches_search_on_any_text(texts, pattern):
    lf = regex_lf("r", pattern, 0, flags=["IGNORECASE"])
    expected = [0 if lf(Record(t)) is not None else -1 for t in texts]
    assert apply_lfs([lf], texts).L.to_dense()[:, 0].tolist() == expected


@given(st.lists(st.text(max_size=15), min_size=1, max_size=12))
@settings(max_examples=80, deadline=None)
def test_word_counts_equal_str_split(texts):
    assert TextColumn(texts).word_counts().tolist() == [len(t.split()) for t in texts]


@given(st.lists(st.text(max_size=15), min_size=1, max_size=12))
@settings(max_examples=80, deadline=None)
def test_lower_cased_column_keeps_each_text(texts):
    column = TextColumn(texts)
    assert [column.text_at(i, lower=True) for i in range(len(texts))] == [t.lower() for t in texts]


def test_short_text_threshold_counts_words():
    lf = threshold_lf("short", "@words", label=0, below=3)
    assert apply_lfs([lf], ["a b", "a b c", " ", "x\u3000y z"]).L.to_dense()[:, 0].tolist() == [
        0,
        -1,
        0,
        -1,
    ]


@pytest.mark.parametrize(
    ("pattern", "flags", "literal"),
    [
        (r"check.*out", re.IGNORECASE, ("check", True)),
        (r"\bQABC(?:s|ed)?\b", 0, ("QABC", False)),
        (r"a|b", 0, None),
        (r"x?abc", 0, ("abc", False)),
        (r"(?:ab|cd)efg", 0, ("efg", False)),
        (r"(?i)héllo", 0, None),  # non-ASCII under IGNORECASE: no prefilter
    ],
)
def test_required_literal(pattern, flags, literal):
    assert required_literal(re.compile(pattern, flags)) == literal


@pytest.mark.parametrize(
    ("pattern", "safe"),
    [(r"\bwin\b", True), (r"[a-z]+\d", True), (r"check.*out", False), (r"^a", False),
     (r"[^a]b", False), (r"(?<=a)b", False), (r"\Sx", False)],
)  # fmt: skip
def test_column_safe(pattern, safe):
    assert column_safe(re.compile(pattern)) is safe


def test_lowercase_twin_only_for_lower_case_patterns():
    assert lowercase_twin(re.compile(r"\bwin\b", re.IGNORECASE)).flags & re.IGNORECASE == 0
    assert lowercase_twin(re.compile(r"\bWin\b", re.IGNORECASE)) is None
    assert lowercase_twin(re.compile(r"\bwin\b")) is None


@pytest.mark.slow
def test_expanding_lower_lists_every_character_whose_lower_case_grows():
    grows = "".join(chr(c) for c in range(sys.maxunicode + 1) if len(chr(c).lower()) > 1)
    assert grows == EXPANDING_LOWER


def test_label_matrix_stores_four_byte_indices():
    dense = np.where(np.random.default_rng(0).random((2000, 50)) < 0.2, 1, -1)
    L = LabelMatrix.from_dense(dense)
    assert L.csr.indices.dtype == np.int32
    assert L.nbytes / L.n_votes < 6


@pytest.mark.parametrize(
    "texts",
    [
        ["plain ascii words", "two  words", ""],
        ["caf\u00e9 au lait", "\ufeffbom then words", "emoji 🎵 song"],  # UTF-8 byte path
        ["no\u00a0break", "ideographic\u3000space", "x"],  # a non-ASCII space: code points
        ["nul\x00inside text", "next"],  # a NUL inside a text is not a separator
    ],
)
def test_word_counts_on_each_path_equal_str_split(texts):
    assert TextColumn(texts).word_counts().tolist() == [len(t.split()) for t in texts]


def test_rows_matching_scans_one_match_per_text():
    texts = ["aaa aaa aaa", "b", "xa"]
    column = TextColumn(texts)
    assert column.rows_matching(re.compile("a")).tolist() == [0, 2]
    assert column.rows_containing("a", lower=False).tolist() == [0, 2]


def test_rows_matching_keeps_a_pattern_with_a_global_inline_flag():
    column = TextColumn(["Hello there", "nothing", "HELLO"])
    assert column.rows_matching(re.compile("(?i)hello")).tolist() == [0, 2]


ASCII_TERMS = [["ki"], ["k", "is"], ["i"], ["ss", "out"], ["check"]]
CASE_TEXTS = st.lists(
    st.text(alphabet=st.sampled_from(list("kKiIsS oOut\u0130\u212a\u0131\u017f\u00e9🎵\x00")),
            max_size=12),
    min_size=1,
    max_size=12,
)  # fmt: skip


@given(CASE_TEXTS, st.sampled_from(ASCII_TERMS), st.booleans(), st.booleans())
@settings(max_examples=120, deadline=None)
def test_keyword_lf_over_the_bytes_equals_record_by_record(texts, terms, whole_word, case):
    lf = keyword_lf("k", terms, 1, whole_word=whole_word, case_sensitive=case)
    expected = [1 if lf(Record(t)) is not None else -1 for t in texts]
    assert apply_lfs([lf], texts).L.to_dense()[:, 0].tolist() == expected


@pytest.mark.parametrize("literal", ["ki", "is", "out"])
def test_rows_containing_an_ascii_literal_follow_str_lower(literal):
    texts = ["\u212aI", "\u0130s", "KI", "ki", "Out", "nothing", "\u0131s"]
    column = TextColumn(texts)
    assert column.encoded() is not None  # the bytes path
    expected = [i for i, t in enumerate(texts) if literal in t.lower()]
    assert column.rows_containing(literal, lower=True).tolist() == expected


def test_a_nul_inside_a_text_leaves_the_bytes_path():
    column = TextColumn(["a\x00b", "ab"])
    assert column.encoded() is None
    assert column.rows_containing("ab", lower=False).tolist() == [1]


@pytest.mark.slow
def test_lower_to_ascii_lists_every_character_whose_lower_case_holds_ascii():
    found = "".join(
        chr(c) for c in range(128, sys.maxunicode + 1) if any(ch.isascii() for ch in chr(c).lower())
    )
    assert found == LOWER_TO_ASCII


def test_every_non_ascii_space_is_one_the_byte_scan_decodes():
    for space in UNICODE_SPACES:
        encoded = space.encode("utf-8")
        assert encoded[0] == 0xC2 if len(encoded) == 2 else 0xE1 <= encoded[0] <= 0xE3
        assert len(encoded) in (2, 3)
        assert ord(space) < 0x3001


def test_word_counts_see_every_unicode_space():
    texts = [f"a{space}b{space}" for space in UNICODE_SPACES] + ["\u2665\u00e9 x\u20ac"]
    assert TextColumn(texts).word_counts().tolist() == [len(t.split()) for t in texts]


@given(
    st.lists(st.text(alphabet=st.sampled_from(list("abc \u00e9")), max_size=15), max_size=20),
    st.lists(st.text(alphabet=st.sampled_from(list("abc\u00e9")), min_size=1, max_size=3),
             min_size=1, max_size=6),
)  # fmt: skip
@settings(max_examples=150, deadline=None)
def test_literal_rows_by_find_equal_the_alternation_scan(texts, literals):
    joined, starts = TextColumn(texts).joined()
    expected = [i for i, t in enumerate(texts) if any(x in t for x in literals)]
    assert _literal_rows(joined, literals, starts).tolist() == expected
    data = joined.encode("utf-8")
    byte_starts = np.array([len(joined[:s].encode("utf-8")) for s in starts.tolist()], np.int64)
    encoded = [x.encode("utf-8") for x in literals]
    assert _literal_rows(data, encoded, byte_starts).tolist() == expected
    many = literals * (_FIND_LITERALS // len(literals) + 1)  # past the cut-off: one alternation
    assert _literal_rows(joined, many, starts).tolist() == expected


@pytest.mark.parametrize(
    ("pattern", "lead"),
    [
        (r"(?i)\bqxryyu(?:s|ed|ing)?\b", 0),
        (r"check.*out", 0),
        (r"\d{2}-xyz", 2),
        (r"(?:ab|cde)xyz", 3),
        (r"x?hello", 1),
        (r"(?<=foo)barbaz", 0),
        (r"a+bcd", None),  # what precedes the literal has no bound
        (r".*hello", None),
        (r"(check)\s+out", None),  # the literal lies in a group
        (r"ab(cdef)gh", None),
        (r"abc|def", None),  # no literal at all
    ],
)
def test_literal_lead_bounds_what_a_match_holds_before_its_literal(pattern, lead):
    assert literal_lead(re.compile(pattern)) == lead


LEAD_PATTERNS = [r"\bwin(?:s|ner)?\b", r"\d{2}-out", r"x?win", r"(?<=n)ner", r"(?:th|a )win"]


@given(
    st.lists(st.text(alphabet=st.sampled_from(list("winerxthaout-12 İK\u017f")), max_size=20),
             min_size=1, max_size=12),
    st.sampled_from(LEAD_PATTERNS),
    st.booleans(),
)  # fmt: skip
@settings(max_examples=150, deadline=None)
def test_regex_lf_searching_from_the_literal_equals_search_from_the_start(texts, pattern, case):
    lf = regex_lf("r", pattern, 0, flags=[] if case else ["IGNORECASE"])
    assert lf._lead is not None  # the path under test
    expected = [0 if lf(Record(t)) is not None else -1 for t in texts]
    assert apply_lfs([lf], texts).L.to_dense()[:, 0].tolist() == expected


@given(
    st.lists(st.text(alphabet=st.sampled_from(list("abK \u00e9\u0130\u212a\x00")), max_size=15),
             min_size=1, max_size=20),
    st.sampled_from(["a", "ab", "k", "ba", "\u00e9a"]),
    st.booleans(),
)  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_literal_offsets_give_each_first_occurrence_or_unknown(texts, literal, lower):
    column = TextColumn(texts)
    rows, offsets = column.literal_offsets(literal, lower=lower)
    seen = [t.lower() if lower else t for t in texts]
    assert rows.tolist() == [i for i, t in enumerate(seen) if literal in t]
    for row, offset in zip(rows.tolist(), offsets.tolist(), strict=True):
        assert offset in (-1, seen[row].find(literal))
    if all(t.isascii() and "\x00" not in t for t in texts):
        assert -1 not in offsets.tolist()  # ASCII texts: every offset known
