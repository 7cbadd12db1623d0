from __future__ import annotations

import numpy as np
import pytest
from tests.weak.conftest import DATA, _need

from labelkitchen.errors import NotFitted
from labelkitchen.weak import (
    DawidSkene,
    TagHMM,
    aggregate_spans,
    apply_span_lfs,
    gazetteer_span_lf,
    labeling_function,
    regex_span_lf,
    tags_to_spans,
    token_label_matrix,
)
from labelkitchen.weak.span_hmm import allowed_transitions
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


# the HMM over BIO tags ---------------------------------------------------------------------------


def test_bio_allows_inside_only_after_its_own_begin_or_inside():
    start, step = allowed_transitions(1)  # tags O, B-X, I-X
    assert start.tolist() == [True, True, False]
    assert step.tolist() == [[True, True, False], [True, True, True], [True, True, True]]


def test_hmm_never_learns_a_forbidden_transition():
    matrix = token_label_matrix(span_votes(lf_new_york_is_a_person), TEXTS, n_classes=2)
    hmm = TagHMM().fit(matrix)
    start, step = allowed_transitions(2)
    assert np.all(hmm.start_[~start] == 0)
    assert np.all(hmm.transition_[~step] == 0)
    assert hmm.transition_.sum(axis=1) == pytest.approx(np.ones(5))


def test_hmm_token_posteriors_sum_to_one():
    matrix = token_label_matrix(span_votes(), TEXTS, n_classes=2)
    probs = TagHMM().fit(matrix).predict_proba(matrix)
    assert probs.shape == (matrix.L.n_records, 5)
    assert probs.sum(axis=1) == pytest.approx(np.ones(matrix.L.n_records))


def test_hmm_gives_the_consensus_spans():
    result = aggregate_spans(span_votes(), TEXTS, n_classes=2, model=TagHMM())
    assert as_text(TEXTS[0], result[0]) == [("Ann", "PER"), ("New York", "LOC")]
    assert as_text(TEXTS[1], result[1]) == [("Bo", "PER"), ("Ann", "PER"), ("Paris", "LOC")]
    assert result[2] == []


def cut_lf(name, *, cut):
    """Marks "New York" as LOC; with ``cut``, only "York" in the record about flying."""

    @labeling_function(name=name, kind="spans")
    def lf(record):
        start = record.text.find("New York")
        if start < 0:
            return []
        if cut and record.text.startswith("Flying"):
            return [(start + 4, start + 8, "LOC")]
        return [(start, start + 8, "LOC")]

    return lf


def test_hmm_reads_silence_where_majority_splits_a_span():
    # Twenty records where all three LFs mark "New York", one where two of them mark only
    # "York". Per token, majority vote sees B (two votes) beat I (one) on "York" and splits
    # the name in two; the HMM has learned that the two LFs never stay silent on a real
    # first token, so their silence on "New" makes it O: one span, "York".
    texts = ["I love New York"] * 20 + ["Flying to New York"]
    lfs = [cut_lf("full", cut=False), cut_lf("cut_1", cut=True), cut_lf("cut_2", cut=True)]
    votes = apply_span_lfs(lfs, texts, labels=["LOC"]).votes
    majority = aggregate_spans(votes, texts, n_classes=1)
    hmm = aggregate_spans(votes, texts, n_classes=1, model=TagHMM())
    assert majority[-1] == [(10, 13, 0), (14, 18, 0)]
    assert hmm[-1] == [(14, 18, 0)]
    assert hmm[0] == [(7, 15, 0)]


def test_hmm_needs_fitting_before_predicting():
    matrix = token_label_matrix(span_votes(), TEXTS, n_classes=2)
    with pytest.raises(NotFitted):
        TagHMM().predict_proba(matrix)


def wnut_sentences(path):
    """WNUT-17 CoNLL as texts (tokens joined by one space) and gold ``(start, end, label)``."""
    out, tokens = [], []
    for line in [*path.read_text(encoding="utf-8").split("\n"), ""]:
        if line.strip():
            token, tag = line.split("\t")
            tokens.append((token, tag))
            continue
        if not tokens:
            continue
        text, spans = "", []
        for token, tag in tokens:
            start = len(text) + (1 if text else 0)
            text = f"{text} {token}" if text else token
            if tag.startswith("B-"):
                spans.append((start, len(text), tag[2:]))
            elif tag.startswith("I-") and spans and spans[-1][2] == tag[2:]:
                spans[-1] = (spans[-1][0], len(text), tag[2:])
        out.append((text, spans))
        tokens = []
    return out


@pytest.fixture(scope="module")
def wnut_votes():
    """Gazetteer LFs (one per WNUT-17 type, from the train entities) voting on the dev texts."""
    folder = _need(DATA / "wnut17")
    train = wnut_sentences(folder / "wnut17train.conll")
    dev = wnut_sentences(folder / "emerging.dev.conll")
    labels = sorted({label for _, spans in train for *_, label in spans})
    names = {label: sorted({t[s:e] for t, spans in train for s, e, lab in spans if lab == label})
             for label in labels}  # fmt: skip
    lfs = [gazetteer_span_lf(f"gazetteer_{label}", names[label], label) for label in labels]
    texts = [text for text, _ in dev]
    return apply_span_lfs(lfs, texts, labels=labels).votes, texts, labels


def test_hmm_on_wnut17_learns_that_inside_follows_begin(wnut_votes):
    votes, texts, labels = wnut_votes
    matrix = token_label_matrix(votes, texts, n_classes=len(labels))
    hmm = TagHMM().fit(matrix)
    person = labels.index("person")
    begin, inside = tag_of(person, inside=False), tag_of(person, inside=True)
    assert hmm.transition_[begin, inside] > hmm.transition_[begin, begin]
    assert hmm.transition_[0, 0] > 0.9  # most tokens are O and stay O
    spans = aggregate_spans(votes, texts, n_classes=len(labels), model=hmm)
    bounds = [{t for pair in tokenize(text) for t in pair} for text in texts]
    assert all(s in b and e in b for one, b in zip(spans, bounds, strict=True) for s, e, _ in one)
