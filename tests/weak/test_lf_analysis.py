"""lf_summary on the 6 x 4 matrix of conftest.py, every figure counted by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import (
    PairwiseCache,
    conflict_counts,
    lf_summary,
    score_with_abstains,
    wilson_interval,
)

NAMES = ["a", "b", "c", "d"]


@pytest.fixture
def summary(tiny_L, tiny_y):
    return lf_summary(tiny_L, tiny_y, lf_names=NAMES)


@pytest.mark.parametrize(
    ("name", "coverage"), [("a", 4 / 6), ("b", 4 / 6), ("c", 2 / 6), ("d", 2 / 6)]
)
def test_coverage_ignores_abstains(summary, name, coverage):
    assert summary.row(name).coverage == pytest.approx(coverage)


@pytest.mark.parametrize(
    ("name", "overlaps"), [("a", 4 / 6), ("b", 4 / 6), ("c", 2 / 6), ("d", 2 / 6)]
)
def test_overlaps_count_records_shared_with_another_lf(summary, name, overlaps):
    assert summary.row(name).overlaps == pytest.approx(overlaps)


@pytest.mark.parametrize(
    ("name", "conflicts"), [("a", 2 / 6), ("b", 3 / 6), ("c", 1 / 6), ("d", 2 / 6)]
)
def test_conflicts_count_records_with_a_different_vote(summary, name, conflicts):
    assert summary.row(name).conflicts == pytest.approx(conflicts)


def test_polarity_lists_the_classes_voted(summary):
    assert summary.row("c").polarity == (0, 1)


def test_pairwise_conflicts_are_symmetric_counts(tiny_L):
    assert conflict_counts(tiny_L).tolist() == [
        [0, 1, 1, 0],
        [1, 0, 1, 2],
        [1, 1, 0, 0],
        [0, 2, 0, 0],
    ]


@pytest.mark.parametrize(("name", "partner"), [("b", "d"), ("d", "b"), ("a", "b")])
def test_names_the_lf_it_conflicts_with_most(summary, name, partner):
    assert summary.row(name).conflicts_most_with == partner


@pytest.mark.parametrize(
    ("name", "correct", "incorrect"), [("a", 4, 0), ("b", 3, 1), ("c", 1, 1), ("d", 1, 1)]
)
def test_correct_and_incorrect_against_gold(summary, name, correct, incorrect):
    row = summary.row(name)
    assert (row.correct, row.incorrect) == (correct, incorrect)


def test_accuracy_has_a_wilson_interval(summary):
    row = summary.row("b")
    assert row.accuracy == 0.75
    assert (row.accuracy_low, row.accuracy_high) == pytest.approx((0.3006, 0.9544), abs=1e-4)


def test_per_class_precision_and_recall(summary):
    row = summary.row("b")
    assert row.precision == {0: 1.0, 1: 0.5}
    assert row.recall == pytest.approx({0: 2 / 3, 1: 1 / 3})


def test_without_gold_accuracy_is_absent(tiny_L):
    assert lf_summary(tiny_L).rows[0].accuracy is None


def test_unknown_gold_is_left_out(tiny_L, tiny_y):
    tiny_y[0] = -1
    assert lf_summary(tiny_L, tiny_y).rows[0].correct == 3


def test_lf_that_never_voted_has_undefined_accuracy():
    row = lf_summary(np.array([[0, -1], [1, -1]]), [0, 1]).rows[1]
    assert (row.coverage, row.accuracy, row.accuracy_low) == (0.0, None, None)


def test_to_records_gives_plain_dicts(summary):
    records = summary.to_records()
    assert records[0]["name"] == "a" and records[0]["n_votes"] == 4


def test_summary_needs_one_name_per_lf(tiny_L):
    with pytest.raises(InvalidInput, match="names"):
        lf_summary(tiny_L, lf_names=["a"])


def test_wilson_interval_of_a_published_example():
    # Newcombe (1998), Statistics in Medicine 17, Table I: 81/263 -> 0.2553 to 0.3662.
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)


def test_wilson_interval_without_trials_is_undefined():
    assert wilson_interval(0, 0) is None


def test_abstain_aware_report_side_by_side():
    y = np.array([0, 1, 1, 0, 1])
    pred = np.array([0, 1, 0, -1, -1])
    report = score_with_abstains(y, pred, fill="wrong")
    assert (report.coverage, report.on_covered, report.filled) == pytest.approx((0.6, 2 / 3, 0.4))


@pytest.mark.parametrize(("fill", "filled"), [(0, 0.6), (1, 0.6), ("majority", 0.6)])
def test_uncovered_records_filled_by_policy(fill, filled):
    report = score_with_abstains([0, 1, 1, 0, 1], [0, 1, 0, -1, -1], fill=fill)
    assert report.filled == pytest.approx(filled)
    assert report.fill_policy == str(fill)


def test_f1_on_covered_records():
    report = score_with_abstains([1, 1, 0, 1], [1, 0, 0, -1], metric="f1", fill="wrong")
    assert report.on_covered == pytest.approx(2 / 3)
    assert report.filled == pytest.approx(0.5)


def test_covered_mask_can_come_from_the_label_matrix(tiny_L, tiny_y):
    covered = tiny_L.votes_per_record() > 0
    report = score_with_abstains(tiny_y, np.zeros(6, dtype=int), covered=covered, fill=1)
    assert report.n_covered == 5
    assert report.filled == pytest.approx(4 / 6)


def edited(L, column, rng):
    """``L`` with one LF's votes redrawn (an edited LF)."""
    changed = np.array(L, copy=True)
    changed[:, column] = rng.integers(-1, 3, size=changed.shape[0])
    return changed


def test_pairwise_cache_recomputes_only_the_edited_lf():
    rng = np.random.default_rng(0)
    L = rng.integers(-1, 3, size=(200, 6))
    cache = PairwiseCache()
    lf_summary(L, n_classes=3, cache=cache)
    assert cache.recomputed == (0, 1, 2, 3, 4, 5)
    after = edited(L, 4, rng)
    summary = lf_summary(after, n_classes=3, cache=cache)
    assert cache.recomputed == (4,)
    assert np.array_equal(summary.conflict_counts, conflict_counts(after, 3))


def test_pairwise_cache_starts_afresh_when_records_change():
    rng = np.random.default_rng(1)
    L = rng.integers(-1, 2, size=(50, 3))
    cache = PairwiseCache()
    lf_summary(L, cache=cache)
    more = np.vstack([L, rng.integers(-1, 2, size=(5, 3))])
    summary = lf_summary(more, cache=cache)
    assert cache.recomputed == (0, 1, 2)
    assert np.array_equal(summary.conflict_counts, conflict_counts(more))


@given(
    hnp.arrays(
        np.int64, st.tuples(st.integers(1, 30), st.integers(2, 6)), elements=st.integers(-1, 2)
    ),
    st.data(),
)
@settings(max_examples=60, deadline=None)
def test_cached_summary_equals_a_fresh_one_after_any_edit(L, data):
    cache = PairwiseCache()
    lf_summary(L, n_classes=3, cache=cache)
    column = data.draw(st.integers(0, L.shape[1] - 1))
    votes = data.draw(hnp.arrays(np.int64, L.shape[0], elements=st.integers(-1, 2)))
    after = L.copy()
    after[:, column] = votes
    cached = lf_summary(after, n_classes=3, cache=cache)
    fresh = lf_summary(after, n_classes=3)
    assert cached.rows == fresh.rows
    assert np.array_equal(cached.conflict_counts, fresh.conflict_counts)
