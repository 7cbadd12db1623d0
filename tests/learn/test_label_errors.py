"""Suspected label errors (core): flipped labels on real data, near-duplicates, edge cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tests.conftest import shared_data

from labelkitchen.errors import InvalidInput
from labelkitchen.learn.label_errors import (
    CONFIDENT_LEARNING,
    NEAR_DUPLICATE,
    LabelErrors,
    contradicting_neighbours,
    find_label_errors,
    find_near_duplicates,
    fold_splits,
    normalise_text,
)

Flipped = tuple[list[str], list[int], np.ndarray]

# --- flipped labels on real data --------------------------------------------------------------


def _sms(n: int) -> tuple[list[str], list[int]]:
    """The first ``n`` messages of the SMS Spam Collection (``label<TAB>text``, UTF-8)."""
    texts, labels = [], []
    lines = shared_data("sms_spam", "SMSSpamCollection").read_text(encoding="utf-8").splitlines()
    for line in lines[:n]:
        label, text = line.split("\t", 1)
        texts.append(text)
        labels.append(["ham", "spam"].index(label))
    return texts, labels


@pytest.fixture(scope="module")
def flipped_sms() -> Flipped:
    texts, labels = _sms(1500)
    rng = np.random.default_rng(7)
    flipped = rng.choice(len(labels), size=75, replace=False)  # 5%
    noisy = list(labels)
    for i in flipped:
        noisy[i] = 1 - noisy[i]
    return texts, noisy, flipped


@pytest.fixture(scope="module")
def sms_result(flipped_sms: Flipped) -> LabelErrors:
    texts, noisy, _ = flipped_sms
    return find_label_errors(texts, noisy, class_names=["ham", "spam"], folds=3)


@pytest.mark.slow
def test_flipped_labels_fill_the_top_of_the_ranking(
    sms_result: LabelErrors, flipped_sms: Flipped
) -> None:
    _, _, flipped = flipped_sms
    top = set(sms_result.order[:150].tolist())  # the top 10%
    found = len(top & set(flipped.tolist())) / len(flipped)
    assert found >= 0.8, found


@pytest.mark.slow
def test_issue_set_is_mostly_flipped_labels(sms_result: LabelErrors, flipped_sms: Flipped) -> None:
    _, _, flipped = flipped_sms
    issues = set(np.flatnonzero(sms_result.is_issue).tolist())
    precision = len(issues & set(flipped.tolist())) / len(issues)
    assert precision >= 0.6, (precision, len(issues))


@pytest.mark.slow
def test_suggested_label_undoes_most_flips(sms_result: LabelErrors, flipped_sms: Flipped) -> None:
    _, noisy, flipped = flipped_sms
    undone = [sms_result.suggested[i] == 1 - noisy[i] for i in flipped]
    assert np.mean(undone) >= 0.8


@pytest.mark.slow
def test_ranking_is_by_score_and_items_carry_reasons(sms_result: LabelErrors) -> None:
    ranked = sms_result.ranked(20)
    assert [item.rank for item in ranked] == list(range(20))
    assert all(a.score <= b.score for a, b in itertools.pairwise(ranked))
    assert ranked[0].score == pytest.approx(sms_result.probs[ranked[0].index, ranked[0].given])
    flagged = [item for item in ranked if CONFIDENT_LEARNING in item.reasons]
    assert flagged  # the most suspect records include cleanlab's issues
    assert sms_result.folds == 3


# --- near-duplicates ------------------------------------------------------------------------


def test_normalised_text_ignores_case_width_and_spacing() -> None:
    assert normalise_text("  Free\tENTRY  now\n") == normalise_text("free entry now")
    assert normalise_text("\uff26\uff32\uff25\uff25") == "free"  # NFKC: full-width letters


def test_identical_texts_after_normalising_share_a_group() -> None:
    near = find_near_duplicates(["Call me NOW", "call  me now", "something else entirely"])
    assert near.group[0] == near.group[1] != near.group[2]


def test_near_identical_texts_are_paired() -> None:
    base = "Congratulations! You have won a 1000 pound prize, call 09061701461 to claim today"
    texts = [base, base.replace("today", "today!!"), "I will be home late tonight, sorry mum"]
    near = find_near_duplicates(texts, threshold=0.8)
    assert [(a, b) for a, b, _ in near.pairs] == [(0, 1)]
    assert near.pairs[0][2] >= 0.8


def test_different_texts_are_not_paired() -> None:
    texts = ["the cat sat on the mat", "a dog ran in the park", "where is the station?"]
    near = find_near_duplicates(texts, threshold=0.5)
    assert near.pairs == ()
    assert len(set(near.group.tolist())) == 3


def test_contradicting_labels_on_duplicates_name_each_other() -> None:
    texts = ["Win a prize now", "win a PRIZE now", "win a prize now", "hello there"]
    near = find_near_duplicates(texts)
    found = contradicting_neighbours(near, [1, 0, 1, 0])
    assert found == {0: (1,), 1: (0, 2), 2: (1,)}


def test_agreeing_duplicates_are_not_flagged() -> None:
    near = find_near_duplicates(["same text", "Same text", "other"])
    assert contradicting_neighbours(near, ["a", "a", "b"]) == {}


def test_neighbours_are_capped() -> None:
    near = find_near_duplicates(["spam offer"] * 30)
    found = contradicting_neighbours(near, [0] + [1] * 29, max_neighbours=5)
    assert found[0] == (1, 2, 3, 4, 5)
    assert found[7] == (0,)


@pytest.mark.slow
def test_near_duplicates_found_among_many_records() -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(3000)]
    texts = [" ".join(rng.choice(words, size=12)) for _ in range(20_000)]
    planted = {(i, i + 1) for i in range(0, 20_000, 1000)}
    for i, j in planted:
        texts[j] = texts[i] + " x"
    near = find_near_duplicates(texts, threshold=0.8)
    assert {(a, b) for a, b, _ in near.pairs} == planted


@pytest.mark.slow
def test_near_duplicate_reason_and_neighbours_in_the_result() -> None:
    texts, labels = _sms(300)
    texts = [*texts, texts[0].upper()]  # a duplicate of record 0 with the other label
    labels = [*labels, 1 - labels[0]]
    result = find_label_errors(texts, labels, class_names=["ham", "spam"], folds=3)
    assert NEAR_DUPLICATE in result.reasons(300)
    assert result.neighbours[300] == (0,)
    assert 300 in result.neighbours[0]
    assert result.flagged()[[0, 300]].all()


# --- edge cases -----------------------------------------------------------------------------

SMALL = ["win money", "free prize", "cheap pills", "my song", "nice voice", "love it", "hi mum"]


def test_folds_shrink_when_no_label_has_enough_records() -> None:
    result = find_label_errors(SMALL, [0, 0, 0, 1, 1, 1, 1], class_names=["spam", "ham"], folds=5)
    assert result.folds == 4
    assert sorted(result.order.tolist()) == list(range(7))


def test_a_label_with_one_record_is_ranked_not_refused() -> None:
    labels = [0, 0, 0, 1, 1, 1, 2]
    result = find_label_errors(SMALL, labels, class_names=["spam", "ham", "other"], folds=3)
    assert result.scores.shape == (7,)
    assert result.ranked(1)[0].index == 6  # no training fold saw "other"


def test_too_few_records_per_label_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least two labels with two records"):
        find_label_errors(SMALL[:3], [0, 0, 1], class_names=["spam", "ham"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "spans"}, "not supported"),
        ({"folds": 1}, "folds must be at least 2"),
        ({"class_names": ["only"]}, "at least two class names"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs: dict, message: str) -> None:
    options = {"class_names": ["spam", "ham"], **kwargs}
    with pytest.raises(InvalidInput, match=message):
        find_label_errors(SMALL, [0, 0, 0, 1, 1, 1, 1], **options)


@pytest.mark.parametrize("labels", [[0, 0, 0, 1, 1, 1, 2], [0, 0, 0, 1, 1, 1, -1]])
def test_labels_outside_the_classes_are_refused(labels: list[int]) -> None:
    with pytest.raises(InvalidInput, match=r"expected class indices 0\.\.1"):
        find_label_errors(SMALL, labels, class_names=["spam", "ham"])


def test_texts_and_labels_must_pair_up() -> None:
    with pytest.raises(InvalidInput, match="7 texts but 6 labels"):
        find_label_errors(SMALL, [0, 0, 0, 1, 1, 1], class_names=["spam", "ham"])


def test_stratified_folds_hold_out_every_record_once() -> None:
    labels = [0] * 10 + [1] * 5
    splits = fold_splits(labels, task="classify", n_classes=2, folds=5, random_state=0)
    held_out = np.sort(np.concatenate([test for _, test in splits]))
    assert held_out.tolist() == list(range(15))
    assert all(sum(labels[i] for i in test) == 1 for _, test in splits)  # one "1" per fold


# --- multilabel -----------------------------------------------------------------------------


def test_multilabel_mislabelled_record_ranks_first() -> None:
    billing = [f"my invoice and billing charge number {i}" for i in range(15)]
    login = [f"cannot login, password reset please {i}" for i in range(15)]
    both = [f"billing invoice wrong and password login broken {i}" for i in range(10)]
    texts = [*billing, *login, *both]
    labels: list[list[int]] = [[0]] * 15 + [[1]] * 15 + [[0, 1]] * 10
    labels[3] = [1]  # a billing message labelled "login"
    result = find_label_errors(
        texts, labels, class_names=["billing", "login"], task="multilabel", folds=5
    )
    top = result.ranked(1)[0]
    assert (top.index, top.given, top.suggested) == (3, (1,), (0,))
    assert result.task == "multilabel"
