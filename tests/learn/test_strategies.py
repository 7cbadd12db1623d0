"""Query strategies: every registered one passes the same checks; batches; diversity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from labelkitchen.errors import InvalidInput
from labelkitchen.learn.strategies import available_strategies, get_strategy, select_batch

PROBS = np.array([[0.99, 0.01], [0.5, 0.5], [0.7, 0.3], [0.2, 0.8]])
L = np.array([[0, 0], [0, 1], [-1, -1], [1, -1]])


@pytest.mark.parametrize("name", available_strategies())
def test_every_strategy_scores_each_record(name: str) -> None:
    scores = get_strategy(name)(PROBS, L=L, n_classes=2, n=4, random_state=0)
    assert scores.shape == (4,) and np.isfinite(scores).all()


@pytest.mark.parametrize("name", ["least_confidence.v1", "margin.v1", "entropy.v1"])
def test_uncertainty_prefers_the_coin_flip(name: str) -> None:
    scores = get_strategy(name)(PROBS)
    assert int(np.argmax(scores)) == 1 and int(np.argmin(scores)) == 0


def test_lf_disagreement_is_zero_where_lfs_agree() -> None:
    scores = get_strategy("lf_disagreement.v1")(None, L=L, n_classes=2)
    assert scores[0] == 0 and scores[2] == 0 and scores[1] == pytest.approx(np.log(2))


def test_bare_name_takes_newest_version() -> None:
    assert get_strategy("entropy") is get_strategy("entropy.v1")


def test_unknown_strategy_lists_the_known() -> None:
    with pytest.raises(InvalidInput, match="available"):
        get_strategy("clairvoyance")


def test_select_batch_excludes_and_orders() -> None:
    assert select_batch([0.1, 0.9, 0.5, 0.7], 2, exclude=[1]).tolist() == [3, 2]


def test_diverse_batch_avoids_duplicates() -> None:
    features = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5)
    scores = np.array([0.9, 0.89, 0.88, 0.87, 0.86, 0.5, 0.4, 0.3, 0.2, 0.1])
    chosen = select_batch(scores, 2, features=features, diversity=True, random_state=0)
    assert chosen[0] == 0 and chosen[1] >= 5  # one from each cluster


def test_diverse_batch_is_the_same_on_sparse_features() -> None:
    from scipy import sparse

    rng = np.random.default_rng(0)
    features = rng.random((40, 6)) * (rng.random((40, 6)) > 0.5)
    scores = rng.random(40)
    dense = select_batch(scores, 5, features=features, diversity=True, random_state=3)
    csr = select_batch(
        scores, 5, features=sparse.csr_matrix(features), diversity=True, random_state=3
    )
    assert dense.tolist() == csr.tolist() and len(set(dense.tolist())) == 5


@given(arrays(np.float64, (20, 3), elements=st.floats(0.01, 1.0)))
def test_entropy_is_non_negative(raw: np.ndarray) -> None:
    probs = raw / raw.sum(axis=1, keepdims=True)
    assert (get_strategy("entropy.v1")(probs) >= -1e-12).all()
