"""Near-copy LFs merged before tie-breaking, the run-away check, overruling clear majorities, and
the random LF sets."""

from __future__ import annotations

import numpy as np
import pytest

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import LabelMatrix, MajorityVote, lf_summary
from labelkitchen.weak.label_model import tie_shares
from labelkitchen.weak.model_base import clear_majority, vote_counts
from labelkitchen.weak.redundancy import merge_columns, merge_stats_columns, near_copy_groups
from labelkitchen.weak.stats import LabelStats, compute_stats
from labelkitchen.weak.synthetic import random_label_matrix

CHECKED = {"tie_break_model": "weighted_vote.v1", "tie_break_check": "dawid_skene.v1"}


def expected_accuracy(probs, y):
    return float(tie_shares(probs)[np.arange(y.size), y].mean())


def independent_with_copies(seed=7, n=4000):
    """Eight independent two-sided LFs (accuracy 0.7-0.9, coverage 0.2-0.4) over 3 classes;
    LF 8 is an exact copy of LF 0 and LF 9 keeps 80% of LF 3's votes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    L = np.full((n, 10), -1)
    for j in range(8):
        fires = rng.random(n) < rng.uniform(0.2, 0.4)
        wrong = (y + rng.integers(1, 3, n)) % 3
        L[fires, j] = np.where(rng.random(n) < rng.uniform(0.7, 0.9), y, wrong)[fires]
    L[:, 8] = L[:, 0]
    L[:, 9] = np.where(rng.random(n) < 0.8, L[:, 3], -1)
    return L, y


def test_copies_are_grouped_and_independent_lfs_are_not():
    L, _ = independent_with_copies()
    groups = near_copy_groups(compute_stats(L), 3)
    assert groups.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 0, 3]


def test_the_lf_summary_names_near_copies():
    L, _ = independent_with_copies()
    names = [f"rule_{j}" for j in range(10)]
    summary = lf_summary(L, lf_names=names, n_classes=3)
    assert summary.row("rule_0").near_copies == ("rule_8",)
    assert summary.row("rule_9").near_copies == ("rule_3",)
    assert summary.row("rule_1").near_copies == ()


def test_lfs_that_fire_together_but_disagree_now_and_then_stay_apart():
    """Two accurate workers given the same items fire together far more than chance, yet are
    not copies: they disagree on some items."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 3000)
    batch = rng.random(3000) < 0.3  # both label this batch, nobody else does
    L = np.full((3000, 4), -1)
    for j in range(2):
        L[batch, j] = np.where(rng.random(3000) < 0.93, y, 1 - y)[batch]
    for j in (2, 3):
        fires = rng.random(3000) < 0.5
        L[fires, j] = np.where(rng.random(3000) < 0.8, y, 1 - y)[fires]
    assert near_copy_groups(compute_stats(L), 2).tolist() == [0, 1, 2, 3]


def test_merge_columns_keeps_the_first_vote_of_each_group():
    L = LabelMatrix.from_dense([[-1, 1, 0, 2], [1, -1, 0, -1], [-1, -1, -1, 2], [0, 1, 1, 1]])
    merged = merge_columns(L, np.array([0, 1, 0, 1]))
    assert merged.to_dense().tolist() == [[0, 1], [1, -1], [-1, 2], [0, 1]]
    assert merge_columns(L, np.arange(4)) is L


def test_merged_statistics_sum_rows_that_become_equal():
    stats = LabelStats(np.array([[0, -1], [-1, 0], [1, 1]]), np.array([2, 3, 4]))
    merged = merge_stats_columns(stats, np.array([0, 0]))
    order = np.argsort(merged.rows[:, 0])
    assert merged.rows[order].tolist() == [[0], [1]]
    assert merged.counts[order].tolist() == [5, 4]


def test_merging_copies_keeps_the_tie_break_above_majority_vote():
    """A random LF set with near-copies (seed 353: two classes, 24 one-sided LFs) where
    Dawid-Skene, fitted with the copies counted twice, ran away and agreed with the weighted
    vote on the wrong class in most ties."""
    data = random_label_matrix(353)
    L, y, k = data.L, data.y, data.n_classes
    majority = expected_accuracy(MajorityVote(n_classes=k).fit(L).predict_proba(L), y)
    unmerged = MajorityVote(
        n_classes=k, **CHECKED, tie_break_merge_copies=False, tie_break_min_agreement=0.0
    ).fit(L)
    merged = MajorityVote(n_classes=k, **CHECKED).fit(L)
    assert unmerged.tie_agreement_["dawid_skene.v1"] < 0.5  # it ran away
    assert expected_accuracy(unmerged.predict_proba(L), y) < majority - 0.02
    assert len(set(merged.tie_groups_.tolist())) < L.shape[1]
    assert merged.tie_break_used_
    assert expected_accuracy(merged.predict_proba(L), y) > majority


def test_a_tie_breaker_that_overturns_clear_majorities_is_not_used():
    data = random_label_matrix(309)  # no copies; Dawid-Skene still runs away (agreement ~0.48)
    L, k = data.L, data.n_classes
    model = MajorityVote(n_classes=k, **CHECKED).fit(L)
    assert model.tie_agreement_["dawid_skene.v1"] < model.tie_break_min_agreement
    assert not model.tie_break_used_
    plain = MajorityVote(n_classes=k).fit(L).predict_proba(L)
    assert np.array_equal(model.predict_proba(L), plain)
    trusting = MajorityVote(n_classes=k, **CHECKED, tie_break_min_agreement=0.0).fit(L)
    assert trusting.tie_break_used_
    assert not np.array_equal(trusting.predict_proba(L), plain)


def test_min_agreement_outside_zero_one_is_refused():
    with pytest.raises(InvalidInput, match="tie_break_min_agreement"):
        MajorityVote(**CHECKED, tie_break_min_agreement=1.5).fit(np.array([[0, 1], [1, 1]]))


def test_merged_tie_break_round_trips(tmp_path):
    L, _ = independent_with_copies(n=1500)
    model = MajorityVote(n_classes=3, **CHECKED).fit(L)
    loaded = MajorityVote.load(model.save(tmp_path / "mv"))
    assert loaded.tie_groups_.tolist() == model.tie_groups_.tolist()
    assert loaded.tie_break_used_ == model.tie_break_used_
    assert loaded.tie_agreement_ == pytest.approx(model.tie_agreement_)
    assert np.allclose(loaded.predict_proba(L), model.predict_proba(L))


def test_random_label_matrix_is_reproducible_and_as_described():
    a, b = random_label_matrix(11), random_label_matrix(11)
    assert np.array_equal(a.L, b.L) and np.array_equal(a.y, b.y)
    one = random_label_matrix(4, n_classes=3, n_lfs=9, kind="one-sided", correlated=False)
    assert one.L.shape == (3000, 9) and one.y.max() < 3 and one.L.max() < 3
    for j in range(9):
        assert np.unique(one.L[:, j][one.L[:, j] >= 0]).size <= 1  # one class per LF
    assert one.description == "k=3, 9 LFs, one-sided"
    copied = random_label_matrix(4, n_lfs=20, kind="two-sided", correlated=True)
    assert one.copy_of.tolist() == [-1] * 9
    copies = np.flatnonzero(copied.copy_of >= 0)
    assert copies.size  # some LFs only ever repeat an earlier LF's votes
    for j in copies:
        source = copied.L[:, copied.copy_of[j]]
        voted = copied.L[:, j] >= 0
        assert copied.copy_of[j] < j and np.array_equal(copied.L[voted, j], source[voted])
    with pytest.raises(InvalidInput, match="kind"):
        random_label_matrix(1, kind="sideways")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="n_records"):
        random_label_matrix(1, n_records=0)


def test_tie_models_fitted_in_threads_match_the_ones_fitted_in_turn(monkeypatch):
    L, y = independent_with_copies(n=6000)
    in_turn = MajorityVote(n_classes=3, random_state=0, **CHECKED).fit(L)
    monkeypatch.setattr("labelkitchen.weak.majority._THREADED_CELLS", 0)  # threads from here
    threaded = MajorityVote(n_classes=3, random_state=0, **CHECKED).fit(L)
    np.testing.assert_array_equal(threaded.tie_model_.accuracy_, in_turn.tie_model_.accuracy_)
    np.testing.assert_array_equal(
        threaded.tie_check_model_.confusion_, in_turn.tie_check_model_.confusion_
    )
    np.testing.assert_array_equal(threaded.predict_proba(L), in_turn.predict_proba(L))
    assert threaded.tie_agreement_ == in_turn.tie_agreement_
    assert expected_accuracy(threaded.predict_proba(L), y) > 0.8


def test_tie_models_fit_on_a_sample_of_records_above_the_cap():
    data = random_label_matrix(1, n_records=20_000)  # thousands of distinct rows
    distinct = compute_stats(data.L).n_unique
    assert distinct > 5_000
    capped = MajorityVote(n_classes=data.n_classes, random_state=0, tie_break_sample=5_000,
                          **CHECKED).fit(data.L)  # fmt: skip
    full = MajorityVote(n_classes=data.n_classes, random_state=0, tie_break_sample=None,
                        **CHECKED).fit(data.L)  # fmt: skip
    seen = capped.tie_check_model_.class_balance_
    assert capped.tie_model_.n_lfs_ == full.tie_model_.n_lfs_ == data.L.shape[1]
    assert not np.array_equal(capped.tie_model_.accuracy_, full.tie_model_.accuracy_)
    np.testing.assert_allclose(seen, full.tie_check_model_.class_balance_, atol=0.03)
    again = MajorityVote(n_classes=data.n_classes, random_state=1, tie_break_sample=5_000,
                         **CHECKED).fit(data.L)  # fmt: skip
    # evenly spaced records, no draw: the same sample whatever the random_state
    np.testing.assert_array_equal(again.tie_model_.accuracy_, capped.tie_model_.accuracy_)
    np.testing.assert_array_equal(again.predict_proba(data.L), capped.predict_proba(data.L))
    gap = expected_accuracy(full.predict_proba(data.L), data.y) - expected_accuracy(
        capped.predict_proba(data.L), data.y
    )
    assert abs(gap) < 0.01
    below = MajorityVote(n_classes=data.n_classes, random_state=0, tie_break_sample=distinct,
                         **CHECKED).fit(data.L)  # fmt: skip
    np.testing.assert_array_equal(below.tie_model_.accuracy_, full.tie_model_.accuracy_)


@pytest.mark.parametrize("cap", [0, -5, 2.5, True])
def test_tie_break_sample_must_be_a_positive_int(cap):
    with pytest.raises(InvalidInput, match="tie_break_sample must be None or a positive int"):
        MajorityVote(n_classes=3, tie_break_sample=cap, **CHECKED).fit(np.array([[0, 1, 2]]))


# overruling a clear majority ----------------------------------------------------------------


OVERRULING = {
    "tie_break_model": "weighted_vote.v1",
    "tie_break_check": "dawid_skene.v1",
    "tie_break_overrule": True,
}


def strict_top(probs):
    best = probs.max(axis=1, keepdims=True)
    return np.where((probs >= best - 1e-12).sum(axis=1) == 1, probs.argmax(axis=1), -1)


def test_two_agreeing_models_overrule_a_clear_majority_and_nothing_else():
    data = random_label_matrix(600_036)  # two classes, one-sided LFs with near-copies
    L, y, k = data.L, data.y, data.n_classes
    checked = MajorityVote(n_classes=k, **CHECKED).fit(L)
    overruling = MajorityVote(n_classes=k, **OVERRULING).fit(L)
    before, after = checked.predict_proba(L), overruling.predict_proba(L)
    changed = np.flatnonzero((before != after).any(axis=1))
    assert changed.size > 50
    merged = merge_columns(LabelMatrix.from_dense(L), overruling.tie_groups_)
    first = strict_top(overruling.tie_model_.predict_proba(merged))
    second = strict_top(overruling.tie_check_model_.predict_proba(merged))
    clear = clear_majority(vote_counts(LabelMatrix.from_dense(L), k))
    # exactly the clear majorities both models rate another class strictly above
    expected = np.flatnonzero((clear >= 0) & (first >= 0) & (first == second) & (first != clear))
    assert changed.tolist() == expected.tolist()
    assert np.array_equal(after[changed].argmax(axis=1), first[changed])
    assert np.all(after[changed].max(axis=1) == 1.0)
    assert np.mean(y[changed] == first[changed]) > 0.7  # mostly right where they overrule
    assert expected_accuracy(after, y) > expected_accuracy(before, y) + 0.03


def test_overruling_needs_a_check():
    with pytest.raises(InvalidInput, match="tie_break_overrule needs a tie_break_check"):
        MajorityVote(tie_break_model="weighted_vote.v1", tie_break_overrule=True).fit(
            np.array([[0, 1], [1, 1]])
        )


def test_a_run_away_model_overrules_nothing():
    data = random_label_matrix(309)  # Dawid-Skene runs away (agreement ~0.48)
    L, k = data.L, data.n_classes
    model = MajorityVote(n_classes=k, **OVERRULING).fit(L)
    assert not model.tie_break_used_
    assert np.array_equal(model.predict_proba(L), MajorityVote(n_classes=k).fit(L).predict_proba(L))


def test_overruling_round_trips(tmp_path):
    data = random_label_matrix(600_036)
    model = MajorityVote(n_classes=data.n_classes, **OVERRULING).fit(data.L)
    loaded = MajorityVote.load(model.save(tmp_path / "mv"))
    assert loaded.tie_break_overrule
    assert np.array_equal(loaded.predict_proba(data.L), model.predict_proba(data.L))
