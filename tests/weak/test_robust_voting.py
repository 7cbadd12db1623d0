"""Weighted vote with a class balance and one-sided sources; majority vote with learned ties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import LabelMatrix, LabelModel, MajorityVote, WeightedVote
from labelkitchen.weak.label_model import tie_shares
from labelkitchen.weak.weighted_vote import (
    hold_polarity_level,
    log_odds,
    one_sided_polarity,
    vote_weights,
)


def logit(p):
    return math.log(p / (1 - p))


def one_sided(n=6000, n_lfs=10, seed=100):
    """Conditionally independent one-sided LFs (LF j votes class j % 2 only), balanced classes:
    each LF's precision and coverage drawn at random."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    L = np.full((n, n_lfs), -1)
    for j in range(n_lfs):
        c, precision, coverage = j % 2, rng.uniform(0.55, 0.95), rng.uniform(0.02, 0.25)
        fires = rng.random(n) < np.where(
            y == c, 2 * coverage * precision, 2 * coverage * (1 - precision)
        )
        L[fires, j] = c
    return L, y


def expected_accuracy(model, L, y):
    return float(tie_shares(model.predict_proba(L))[np.arange(y.size), y].mean())


# vote weights by hand ---------------------------------------------------------------------------


def test_vote_weights_with_a_uniform_balance_are_the_log_odds():
    accuracy = np.array([0.9, 0.6, 0.3])
    weights = vote_weights(accuracy, np.array([0, 1, 2], dtype=np.int8), np.full(3, 1 / 3))
    assert weights == pytest.approx(log_odds(accuracy, 3))


def test_vote_weight_is_the_lift_over_the_class_share():
    weights = vote_weights(
        np.array([0.75, 0.75]), np.array([1, 0], dtype=np.int8), np.array([0.87, 0.13])
    )
    assert weights[0] == pytest.approx(logit(0.75) - logit(0.13))
    assert weights[1] == 0.0  # 75% right is below the 87% a vote for class 0 gets by chance


def test_a_single_vote_keeps_its_accuracy_under_a_skewed_balance():
    # source 0 votes spam and is right 3 times in 4 on dev; the balance is 87% ham
    L_dev = np.array([[1], [1], [1], [1]])
    y_dev = np.array([1, 1, 1, 0])
    model = WeightedVote(accuracy_source="dev", prior_strength=0).fit(
        L_dev, L_dev=L_dev, y_dev=y_dev, class_balance=[0.87, 0.13]
    )
    assert model.predict_proba(np.array([[1]]))[0, 1] == pytest.approx(0.75)


# one-sided sources --------------------------------------------------------------------------


def test_polarity_names_the_one_class_a_source_votes():
    L = LabelMatrix.from_dense(np.array([[0, 1, -1, -1], [0, 0, -1, 2], [-1, 1, -1, 2]]))
    _, cols, labels = L.to_triplets()
    assert one_sided_polarity(cols, labels, 4).tolist() == [0, -1, -1, 2]


def test_holding_the_polarity_level_keeps_each_class_mean_at_the_prior():
    accuracy = np.array([0.99, 0.6, 0.95, 0.9, 0.8])
    polarity = np.array([0, 0, 1, 1, -1])
    held = hold_polarity_level(accuracy, polarity, float(log_odds(np.array([0.7]), 2)[0]), 2)
    weights = log_odds(held, 2)
    assert weights[:2].mean() == pytest.approx(logit(0.7))
    assert weights[2:4].mean() == pytest.approx(logit(0.7))
    assert weights[0] > weights[1]  # the order within a class survives
    assert held[4] == accuracy[4]  # a source voting several classes is left alone


def test_free_one_sided_weights_can_collapse_onto_one_class():
    L, y = one_sided()
    free = WeightedVote(one_sided="free").fit(L)
    majority = MajorityVote().fit(L)
    assert expected_accuracy(free, L, y) < expected_accuracy(majority, L, y) - 0.1


def test_held_one_sided_weights_do_not_collapse():
    L, y = one_sided()
    held = WeightedVote().fit(L)
    majority = MajorityVote().fit(L)
    assert expected_accuracy(held, L, y) >= expected_accuracy(majority, L, y) - 0.005


def test_unknown_one_sided_mode_is_refused():
    with pytest.raises(InvalidInput, match="one_sided"):
        WeightedVote(one_sided="maybe").fit(np.array([[0, 1]]))


# majority vote with learned tie-breaking ----------------------------------------------------


def test_ties_go_to_the_class_the_tie_model_rates_higher():
    # sources 0 and 2 agree wherever both vote; source 1 contradicts them: it is the less
    # reliable one (0 and 2 also vote apart, so they are two witnesses, not one rule twice)
    L = np.array(
        [[0, 1, 0], [1, 0, 1]] * 10
        + [[0, 1, -1], [1, 0, -1], [-1, 1, 0], [-1, 0, 1]] * 3
        + [[0, -1, -1], [-1, -1, 1]] * 5
        + [[0, 1, -1], [1, 0, -1]]
    )
    model = MajorityVote(tie_break_model="weighted_vote.v1").fit(L)
    probs = model.predict_proba(L[-2:])
    assert probs.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_tie_model_is_fitted_and_saved(tmp_path):
    L, _ = one_sided(n=500)
    model = MajorityVote(tie_break_model="weighted_vote.v1").fit(L)
    assert isinstance(model.tie_model_, WeightedVote)
    model.save(tmp_path / "m")
    restored = MajorityVote.load(tmp_path / "m")
    assert np.array_equal(restored.predict_proba(L), model.predict_proba(L))


def test_majority_vote_cannot_break_its_own_ties():
    with pytest.raises(InvalidInput, match="own ties"):
        MajorityVote(tie_break_model="majority_vote.v1").fit(np.array([[0, 1]]))


@given(
    hnp.arrays(
        np.int64, st.tuples(st.integers(2, 30), st.integers(2, 6)), elements=st.integers(-1, 2)
    )
)
@settings(max_examples=40, deadline=None)
def test_learned_ties_never_overrule_a_clear_majority(L):
    plain = MajorityVote(n_classes=3).fit(L).predict_proba(L)
    learned = MajorityVote(n_classes=3, tie_break_model="weighted_vote.v1").fit(L).predict_proba(L)
    clear = (plain == 1.0).any(axis=1)
    assert np.array_equal(plain[clear], learned[clear])
    assert np.all(learned[plain == 0.0] == 0.0)  # only tied classes can win
    assert np.allclose(learned.sum(axis=1), 1.0)


def test_label_model_default_is_majority_vote_with_learned_ties():
    L, y = one_sided()
    model = LabelModel().fit(L)
    assert model.selected_ == (
        "majority_vote.v1(tie_break_check='dawid_skene.v1', tie_break_model='weighted_vote.v1', "
        "tie_break_overrule=True)"
    )
    assert expected_accuracy(model, L, y) >= expected_accuracy(MajorityVote().fit(L), L, y)


# checked tie-breaking ---------------------------------------------------------------------------


def one_sided_unbalanced(seed, n=4000, n_lfs=12, k=3):
    """One-sided LFs (LF j votes class j % k) over unbalanced classes, each with a random
    precision in (0.55, 0.95) and coverage in (0.03, 0.4)."""
    rng = np.random.default_rng(seed)
    balance = rng.dirichlet(np.full(k, 3.0))
    y = rng.choice(k, n, p=balance)
    L = np.full((n, n_lfs), -1)
    for j in range(n_lfs):
        c, precision, coverage = j % k, rng.uniform(0.55, 0.95), rng.uniform(0.03, 0.4)
        fire = np.where(
            y == c, coverage * precision / balance[c], coverage * (1 - precision) / (1 - balance[c])
        )
        L[rng.random(n) < np.clip(fire, 0, 1), j] = c
    return L, y


def test_a_checked_tie_break_stays_above_majority_vote_where_one_model_alone_falls_below():
    L, y = one_sided_unbalanced(6)
    majority = expected_accuracy(MajorityVote(n_classes=3).fit(L), L, y)
    alone = MajorityVote(n_classes=3, tie_break_model="weighted_vote.v1").fit(L)
    checked = MajorityVote(
        n_classes=3, tie_break_model="weighted_vote.v1", tie_break_check="dawid_skene.v1"
    ).fit(L)
    assert expected_accuracy(alone, L, y) < majority - 0.02
    assert expected_accuracy(checked, L, y) >= majority


def test_a_tie_the_models_disagree_on_stays_a_tie():
    L = np.array([[0, 1, -1], [0, -1, -1], [-1, 1, 1], [0, 0, 1]] * 5)
    checked = MajorityVote(tie_break_model="weighted_vote.v1", tie_break_check="dawid_skene.v1")
    checked.fit(L)
    first = checked.tie_model_.predict_proba(L[:1]).argmax()
    second = checked.tie_check_model_.predict_proba(L[:1]).argmax()
    probs = checked.predict_proba(L[:1])[0]
    if first == second:
        assert probs[first] == 1.0
    else:
        assert probs.tolist() == [0.5, 0.5]


def test_a_tie_check_needs_a_tie_break_model():
    with pytest.raises(InvalidInput, match="tie_break_check"):
        MajorityVote(tie_break_check="dawid_skene.v1").fit(np.array([[0, 1]]))


def test_checked_majority_vote_round_trips(tmp_path):
    L, _ = one_sided_unbalanced(2, n=500)
    model = MajorityVote(
        n_classes=3, tie_break_model="weighted_vote.v1", tie_break_check="dawid_skene.v1"
    ).fit(L)
    loaded = MajorityVote.load(model.save(tmp_path / "mv"))
    assert np.array_equal(loaded.predict_proba(L), model.predict_proba(L))


def test_a_two_sided_source_keeps_the_one_coin_weight_under_a_skewed_balance():
    """A source that votes both classes, right 80% of the time, voting the 10% class: the
    posterior is 0.1 * 0.8 / (0.1 * 0.8 + 0.9 * 0.2) = 0.31, not the 0.8 a lift weight gives.
    A one-sided source with the same accuracy (its precision) does lift its class to 0.8."""
    rng = np.random.default_rng(0)
    y = (rng.random(20_000) < 0.1).astype(int)
    right = rng.random(y.size) < 0.8
    two_sided = np.where(right, y, 1 - y)[:, None]
    model = WeightedVote(accuracy_source="dev", prior_strength=0.0).fit(
        two_sided, L_dev=two_sided, y_dev=y, class_balance=[0.9, 0.1]
    )
    assert not model.one_sided_[0]
    assert model.predict_proba(np.array([[1]]))[0, 1] == pytest.approx(0.08 / 0.26, abs=0.01)
    fires = np.where(y == 1, right, rng.random(y.size) < 0.02)
    one_sided = np.where(fires, 1, -1)[:, None]
    precision = float(np.mean(y[fires] == 1))
    model = WeightedVote(accuracy_source="dev", prior_strength=0.0).fit(
        one_sided, L_dev=one_sided, y_dev=y, class_balance=[0.9, 0.1]
    )
    assert model.one_sided_[0]
    assert model.predict_proba(np.array([[1]]))[0, 1] == pytest.approx(precision, abs=0.01)
