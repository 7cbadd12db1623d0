from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import (
    Record,
    apply_lfs,
    apply_span_lfs,
    gazetteer_span_lf,
    keyword_lf,
    lf_from_dict,
    lookup_lf,
    regex_lf,
    regex_span_lf,
    threshold_lf,
)

ALL_KINDS = [
    keyword_lf("kw", ["check out", "subscribe"], "spam", whole_word=False),
    regex_lf("rx", r"https?://", "spam", flags=["IGNORECASE"]),
    lookup_lf("lk", "author", {"bot": "spam", "alice": "ham"}),
    threshold_lf("short", "@length", below=20, label="ham"),
    regex_span_lf("caps", r"[A-Z]\w+", "PER"),
    gazetteer_span_lf("cities", ["New York", "Paris"], "LOC"),
]


@pytest.mark.parametrize("lf", ALL_KINDS, ids=lambda lf: lf.name)
def test_dict_round_trip_rebuilds_the_same_lf(lf):
    assert lf_from_dict(lf.to_dict()) == lf


@pytest.mark.parametrize("lf", ALL_KINDS, ids=lambda lf: lf.name)
def test_definition_survives_json_and_yaml(lf):
    via_json = lf_from_dict(json.loads(json.dumps(lf.to_dict())))
    via_yaml = lf_from_dict(yaml.safe_load(yaml.safe_dump(lf.to_dict())))
    assert via_json.version == via_yaml.version == lf.version


def test_version_changes_when_a_keyword_is_added():
    before = keyword_lf("kw", ["free"], "spam")
    after = keyword_lf("kw", ["free", "win"], "spam")
    assert before.version != after.version


def test_unknown_type_lists_the_available_types():
    with pytest.raises(InvalidInput, match=r"available: .*keyword"):
        lf_from_dict({"type": "oracle", "name": "x"})


@pytest.mark.parametrize(
    ("text", "whole_word", "expected"),
    [
        ("my channel rocks", True, "spam"),
        ("mychannel rocks", True, None),
        ("mychannel rocks", False, "spam"),
        ("MY CHANNEL", True, "spam"),
    ],
)
def test_keyword_matching_rules(text, whole_word, expected):
    lf = keyword_lf("kw", ["channel"], "spam", whole_word=whole_word)
    assert lf(Record(text)) == expected


def test_keyword_case_sensitive_needs_exact_case():
    assert keyword_lf("kw", ["Song"], "ham", case_sensitive=True)(Record("song")) is None


def test_keyword_with_punctuation_matches_as_a_word():
    assert keyword_lf("kw", ["c++"], "code")(Record("I write c++ daily")) == "code"


def test_keyword_can_read_a_meta_field():
    lf = keyword_lf("kw", ["promo"], "spam", field="title")
    assert lf(Record("body", {"title": "Big promo"})) == "spam"


def test_regex_flags_are_names():
    lf = regex_lf("rx", r"^check", "spam", flags=["IGNORECASE", "MULTILINE"])
    assert lf(Record("hello\nCheck this")) == "spam"
    assert lf.to_dict()["flags"] == ["IGNORECASE", "MULTILINE"]


def test_bad_regex_is_reported_with_the_lf_name():
    with pytest.raises(InvalidInput, match="'rx'"):
        regex_lf("rx", "(unclosed", "spam")


@pytest.mark.parametrize(
    ("meta", "expected"),
    [({"author": "bot"}, "spam"), ({"author": "carol"}, None), ({}, None), ({"author": 5}, None)],
)
def test_lookup_votes_from_the_table(meta, expected):
    assert lookup_lf("lk", "author", {"bot": "spam"})(Record("x", meta)) == expected


def test_lookup_default_votes_for_unknown_values():
    assert (
        lookup_lf("lk", "author", {"bot": "spam"}, default="ham")(Record("x", {"author": "z"}))
        == "ham"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, None), (10, None), (10.5, "spam"), ("12", "spam"), ("n/a", None), (None, None)],
)
def test_threshold_above_is_strict(value, expected):
    lf = threshold_lf("many_links", "links", above=10, label="spam")
    assert lf(Record("x", {"links": value})) == expected


def test_threshold_inclusive_includes_the_bound():
    lf = threshold_lf("many_links", "links", above=10, label="spam", inclusive=True)
    assert lf(Record("x", {"links": 10})) == "spam"


def test_threshold_needs_a_bound():
    with pytest.raises(InvalidInput, match="above"):
        threshold_lf("t", "x", label="a")


def test_threshold_on_word_count():
    lf = threshold_lf("wordy", "@words", above=3, label="ham")
    assert lf(Record("one two three four")) == "ham"


def test_regex_span_lf_returns_end_exclusive_offsets():
    assert regex_span_lf("caps", r"[A-Z]\w+", "PER")(Record("hi Ann and Bo")) == [
        (3, 6, "PER"),
        (11, 13, "PER"),
    ]


def test_gazetteer_offsets_count_code_points_after_emoji():
    text = "🎉 Paris e\u0301 Paris"
    spans = gazetteer_span_lf("cities", ["paris"], "LOC")(Record(text))
    assert [text[s:e] for s, e, _ in spans] == ["Paris", "Paris"]
    assert spans[0][:2] == (2, 7)


def test_whole_word_keyword_inside_a_rejected_longer_match_is_found():
    # "a-b" matches inside "xa-b" but is not a whole word there; the "b" after it is.
    lf = keyword_lf("kw", ["a-b", "b"], 1)
    assert apply_lfs([lf], ["xa-b", "xa-bc"]).L.to_dense()[:, 0].tolist() == [1, -1]


def test_gazetteer_offsets_survive_lowercasing_that_changes_length():
    texts = ["İstanbul and Paris", "Paris"]  # "İ".lower() is two code points
    lf = gazetteer_span_lf("cities", ["paris"], "LOC")
    votes = apply_span_lfs([lf], texts, labels=["LOC"]).votes
    assert votes.for_record(0) == [(0, 13, 18, 0)]
    assert votes.for_record(1) == [(0, 0, 5, 0)]


pieces = st.sampled_from(["ab", "a-b", "b", "Ab", "İb", "ß", "x", " ", "-", "\n", "é"])


@given(
    st.lists(st.lists(pieces, max_size=8).map("".join), min_size=1, max_size=8),
    st.lists(st.sampled_from(["ab", "a-b", "b", "ib", "ß", "é"]), min_size=1, max_size=3),
    st.booleans(),
    st.booleans(),
)
@settings(max_examples=150)
def test_vectorised_keyword_votes_equal_record_by_record_votes(texts, keywords, whole, case):
    lf = keyword_lf("kw", keywords, 1, whole_word=whole, case_sensitive=case)
    one_by_one = [-1 if lf(Record(t)) is None else 1 for t in texts]
    assert apply_lfs([lf], texts).L.to_dense()[:, 0].tolist() == one_by_one
