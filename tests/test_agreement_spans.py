"""Span F1 between two annotators: exact, overlap and token (character) matching."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelkitchen.agreement import span_f1, span_f1_result
from labelkitchen.errors import InvalidInput

# "Ada Lovelace met Charles Babbage in London"
A = [(0, 12, "PER"), (17, 32, "PER"), (36, 42, "LOC")]


@pytest.mark.parametrize("match", ["exact", "token", "overlap"])
def test_identical_spans_score_one(match: Any) -> None:
    assert span_f1(A, list(A), match=match) == 1.0


@pytest.mark.parametrize("match", ["exact", "token", "overlap"])
def test_spans_by_only_one_annotator_score_zero(match: Any) -> None:
    assert span_f1(A, [], match=match) == 0.0


@pytest.mark.parametrize("match", ["exact", "token", "overlap"])
def test_no_spans_at_all_is_undefined_with_a_reason(match: Any) -> None:
    result = span_f1_result([], [], match=match)
    assert math.isnan(result.value)
    assert result.reason is not None
    assert "neither annotator marked a span" in result.reason


def test_exact_match_needs_the_same_offsets() -> None:
    b = [(0, 3, "PER"), (17, 32, "PER"), (36, 42, "LOC")]  # "Ada" instead of "Ada Lovelace"
    assert span_f1(A, b, match="exact") == pytest.approx(2 * 2 / 6)


def test_exact_match_needs_the_same_label() -> None:
    assert span_f1([(0, 3, "PER")], [(0, 3, "ORG")], match="exact") == 0.0


def test_overlap_match_counts_a_shorter_span_of_the_same_label() -> None:
    b = [(0, 3, "PER"), (17, 32, "PER"), (36, 42, "LOC")]
    assert span_f1(A, b, match="overlap") == 1.0


def test_overlap_match_does_not_count_touching_spans() -> None:
    assert span_f1([(0, 3, "X")], [(3, 6, "X")], match="overlap") == 0.0


def test_overlap_match_uses_each_span_once() -> None:
    # One long span overlaps two short ones: one match, so F1 = 2 * 1 / (1 + 2).
    assert span_f1([(0, 10, "X")], [(0, 4, "X"), (6, 10, "X")], match="overlap") == pytest.approx(
        2 / 3
    )


def test_overlap_match_finds_the_largest_matching() -> None:
    # Greedy pairing of a[0] with b[0] would leave a[1] unmatched; the best matching pairs all.
    a = [(0, 10, "X"), (8, 12, "X")]
    b = [(9, 11, "X"), (0, 2, "X")]
    assert span_f1(a, b, match="overlap") == 1.0


def test_token_match_gives_credit_per_character() -> None:
    # a covers 0-10, b covers 5-15: 5 shared characters of 10 + 10.
    assert span_f1([(0, 10, "X")], [(5, 15, "X")], match="token") == pytest.approx(0.5)


def test_token_match_counts_each_character_once_per_annotator() -> None:
    assert span_f1([(0, 10, "X"), (5, 10, "X")], [(0, 10, "X")], match="token") == 1.0


def test_token_match_keeps_labels_apart() -> None:
    assert span_f1([(0, 10, "X")], [(0, 10, "Y")], match="token") == 0.0


def test_exact_match_pairs_repeated_spans_one_to_one() -> None:
    assert span_f1([(0, 3, "X"), (0, 3, "X")], [(0, 3, "X")], match="exact") == pytest.approx(2 / 3)


def test_documents_are_pooled_not_averaged() -> None:
    a = [[(0, 3, "X")], [(0, 3, "X"), (5, 8, "X"), (9, 12, "X")]]
    b = [[(0, 3, "X")], [(0, 3, "X")]]
    # matched 2 of 4 + 2 spans: micro F1 = 4 / 6 (the mean of per-document F1 would be 0.75).
    assert span_f1(a, b) == pytest.approx(4 / 6)


def test_splitting_spans_into_documents_keeps_token_counts() -> None:
    one = [(0, 3, "X"), (10, 13, "X")]
    split = [[(0, 3, "X")], [(10, 13, "X")]]
    other = [(0, 3, "X"), (11, 13, "X")]
    other_split = [[(0, 3, "X")], [(11, 13, "X")]]
    assert span_f1(split, other_split, match="token") == span_f1(one, other, match="token")


def test_spans_in_different_documents_do_not_match() -> None:
    assert span_f1([[(0, 3, "X")], []], [[], [(0, 3, "X")]]) == 0.0


def test_an_empty_list_takes_the_form_of_the_other_side() -> None:
    assert span_f1([], [(0, 3, "X")]) == 0.0


def test_empty_documents_with_no_spans_are_undefined() -> None:
    assert math.isnan(span_f1([[], []], [[], []]))


def test_result_counts_documents() -> None:
    assert span_f1_result([[(0, 1, "X")], []], [[(0, 1, "X")], []]).n_units == 2


def test_spans_may_be_lists() -> None:
    assert span_f1([[0, 3, "X"]], [(0, 3, "X")]) == 1.0


def test_rejects_an_unknown_match_mode() -> None:
    with pytest.raises(InvalidInput, match="'exact', 'token', 'overlap'"):
        span_f1(A, A, match="partial")  # type: ignore[arg-type]


def test_rejects_different_numbers_of_documents() -> None:
    with pytest.raises(InvalidInput, match="same documents"):
        span_f1([[(0, 1, "X")]], [[(0, 1, "X")], []])


def test_rejects_one_document_against_a_document_list() -> None:
    with pytest.raises(InvalidInput, match="same form"):
        span_f1([(0, 1, "X")], [[(0, 1, "X")]])


@pytest.mark.parametrize("span", [(3, 3, "X"), (5, 2, "X"), (-1, 2, "X")])
def test_rejects_empty_or_reversed_spans(span: Any) -> None:
    with pytest.raises(InvalidInput, match="start < end"):
        span_f1([span], [(0, 1, "X")])


def test_rejects_a_span_without_a_label() -> None:
    with pytest.raises(InvalidInput, match="span"):
        span_f1([[(0, 1)]], [[(0, 1, "X")]])


SPAN = st.tuples(st.integers(0, 30), st.integers(1, 8), st.sampled_from(["X", "Y"])).map(
    lambda t: (t[0], t[0] + t[1], t[2])
)


@pytest.mark.parametrize("match", ["exact", "token", "overlap"])
@given(a=st.lists(SPAN, max_size=6), b=st.lists(SPAN, max_size=6))
def test_span_f1_is_symmetric_and_between_zero_and_one(match: Any, a: Any, b: Any) -> None:
    forward, backward = span_f1(a, b, match=match), span_f1(b, a, match=match)
    if not a and not b:
        assert math.isnan(forward) and math.isnan(backward)
    else:
        assert forward == pytest.approx(backward)
        assert 0.0 <= forward <= 1.0


@given(a=st.lists(SPAN, max_size=6), b=st.lists(SPAN, max_size=6))
def test_overlap_f1_is_at_least_exact_f1(a: Any, b: Any) -> None:
    exact, overlap = span_f1(a, b, match="exact"), span_f1(a, b, match="overlap")
    assert (math.isnan(exact) and math.isnan(overlap)) or overlap >= exact - 1e-12
