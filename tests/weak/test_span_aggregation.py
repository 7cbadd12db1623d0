from __future__ import annotations

import numpy as np
import pytest

from labelkitchen.weak import (
    DawidSkene,
    aggregate_spans,
    apply_span_lfs,
    gazetteer_span_lf,
    labeling_function,
    regex_span_lf,
    tags_to_spans,
    token_label_matrix,
)
from labelkitchen.weak.spans import tag_of, tokenize

LABELS = ["PER", "LOC"]
TEXTS = ["Ann flew to New York", "🎉 Bo met Ann in Paris", "nothing here"]


@labeling_function(kind="spans")
def lf_new_york_is_a_person(record):
    start = record.text.find("New York")
    return [] if start < 0 else [(start, start + 8, "PER")]


def span_votes(*extra):
    lfs = [
        gazetteer_span_lf("names", ["Ann", "Bo"], "PER"),
        gazetteer_span_lf("cities", ["New York", "Paris"], "LOC"),
        regex_span_lf("places", r"(?:to|in) ([A-Z]\w+(?: [A-Z]\w+)*)", "LOC", group=1),
        *extra,
    ]
    return apply_span_lfs(lfs, TEXTS, labels=LABELS).votes


def as_text(text, spans):
    return [(text[s:e], LABELS[label]) for s, e, label in spans]


def test_tokenizer_gives_code_point_offsets():
    assert tokenize("🎉 Bo!") == [(0, 1), (2, 4), (4, 5)]


def test_majority_over_bio_tags_gives_consensus_spans():
    result = aggregate_spans(span_votes(), TEXTS, n_classes=2)
    assert as_text(TEXTS[0], result[0]) == [("Ann", "PER"), ("New York", "LOC")]


def test_offsets_stay_right_after_emoji():
    result = aggregate_spans(span_votes(), TEXTS, n_classes=2)
    assert as_text(TEXTS[1], result[1]) == [("Bo", "PER"), ("Ann", "PER"), ("Paris", "LOC")]


def test_record_without_votes_has_no_spans():
    assert aggregate_spans(span_votes(), TEXTS, n_classes=2)[2] == []


def test_majority_outvotes_a_single_wrong_lf():
    result = aggregate_spans(span_votes(lf_new_york_is_a_person), TEXTS, n_classes=2)
    assert ("New York", "LOC") in as_text(TEXTS[0], result[0])


def test_token_matrix_has_bio_tags_per_lf():
    matrix = token_label_matrix(span_votes(), TEXTS, n_classes=2)
    first = matrix.L.to_dense()[: len(tokenize(TEXTS[0]))]
    new, york = 3, 4
    assert first[new].tolist() == [-1, tag_of(1, inside=False), tag_of(1, inside=False)]
    assert first[york].tolist() == [-1, tag_of(1, inside=True), tag_of(1, inside=True)]


def test_unmarked_outside_makes_silent_lfs_vote_o():
    matrix = token_label_matrix(span_votes(), TEXTS, n_classes=2, unmarked="outside")
    assert matrix.L.to_dense()[0].tolist() == [tag_of(0, inside=False), 0, 0]


def test_a_fitted_label_model_can_aggregate_tags():
    votes = span_votes()
    matrix = token_label_matrix(votes, TEXTS, n_classes=2)
    model = DawidSkene(n_classes=matrix.n_tags).fit(matrix.L)
    result = aggregate_spans(votes, TEXTS, n_classes=2, model=model)
    assert as_text(TEXTS[0], result[0])[0] == ("Ann", "PER")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([1, 2, 0, 3], [(0, 2, 0), (3, 4, 1)]),  # B-PER I-PER O B-LOC
        ([2, 2, 0, 0], [(0, 2, 0)]),  # an I without a B still starts a span
        ([1, 1, 0, 0], [(0, 1, 0), (1, 2, 0)]),  # B B: two spans
        ([1, 4, 0, 0], [(0, 1, 0), (1, 2, 1)]),  # label change splits
    ],
)
def test_decoding_bio_tags(tags, expected):
    tokens = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    probs = np.eye(5)[tags]
    assert tags_to_spans(probs, tokens) == expected
