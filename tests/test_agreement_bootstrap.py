"""Bootstrap confidence intervals over units."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest

from labelkitchen.agreement import (
    bootstrap_ci,
    cohen_kappa,
    cohen_kappa_result,
    fleiss_kappa,
    krippendorff_alpha,
    span_f1,
)
from labelkitchen.errors import InvalidInput

RATINGS = [
    ["a", "a", "a"],
    ["a", "b", "a"],
    ["b", "b", "b"],
    ["b", "b", None],
    ["a", "a", "b"],
    ["c", "c", "c"],
    ["a", "c", "a"],
    ["b", "b", "b"],
    ["c", "c", None],
    ["a", "a", "a"],
]
PAIRS = [("x", "x"), ("x", "y"), ("y", "y"), ("y", "y"), ("x", "x"), ("y", "x"), ("x", "x")]


def test_interval_contains_the_estimate() -> None:
    low, high = bootstrap_ci(fleiss_kappa, RATINGS, n_resamples=200, random_state=0)
    assert low <= fleiss_kappa(RATINGS) <= high


def test_interval_is_repeatable_with_a_seed() -> None:
    first = bootstrap_ci(fleiss_kappa, RATINGS, n_resamples=50, random_state=7)
    second = bootstrap_ci(fleiss_kappa, RATINGS, n_resamples=50, random_state=7)
    assert first == second


def test_interval_accepts_a_generator() -> None:
    interval = bootstrap_ci(
        fleiss_kappa, RATINGS, n_resamples=50, random_state=np.random.default_rng(3)
    )
    assert interval.low <= interval.high


def test_wider_confidence_gives_a_wider_interval() -> None:
    narrow = bootstrap_ci(fleiss_kappa, RATINGS, n_resamples=300, confidence=0.5, random_state=1)
    wide = bootstrap_ci(fleiss_kappa, RATINGS, n_resamples=300, confidence=0.99, random_state=1)
    assert wide.low <= narrow.low and narrow.high <= wide.high


def test_two_coder_metrics_get_the_two_columns() -> None:
    low, high = bootstrap_ci(cohen_kappa, PAIRS, n_resamples=100, random_state=0)
    assert low <= cohen_kappa(*zip(*PAIRS, strict=True)) <= high


@pytest.mark.parametrize(
    "metric",
    [
        functools.partial(cohen_kappa, weights="linear"),
        cohen_kappa_result,
    ],
    ids=["partial", "result"],
)
def test_two_coder_metric_variants_are_recognised(metric: Any) -> None:
    low, high = bootstrap_ci(metric, PAIRS, n_resamples=50, random_state=0)
    assert not math.isnan(low) and low <= high


def test_two_coder_metric_rejects_units_with_more_ratings() -> None:
    with pytest.raises(InvalidInput, match="exactly two"):
        bootstrap_ci(cohen_kappa, RATINGS, n_resamples=10, random_state=0)


def test_keyword_options_pass_through_partial() -> None:
    ordinal = functools.partial(krippendorff_alpha, level="ordinal")
    numbers = [[1, 1], [2, 2], [3, 2], [4, 4], [1, 2], [5, 5]]
    low, high = bootstrap_ci(ordinal, numbers, n_resamples=100, random_state=0)
    assert low <= ordinal(numbers) <= high


def test_span_documents_can_be_resampled() -> None:
    documents = [([(0, 3, "X")], [(0, 3, "X")]), ([(0, 3, "X")], [(1, 3, "X")]), ([], [])]

    def metric(units: list[Any]) -> float:
        return span_f1([u[0] for u in units], [u[1] for u in units])

    low, high = bootstrap_ci(metric, documents, n_resamples=100, random_state=0)
    assert 0.0 <= low <= high <= 1.0


def test_interval_is_nan_when_the_metric_is_undefined_on_the_data() -> None:
    interval = bootstrap_ci(fleiss_kappa, [["a", "a"], ["a", "a"]], random_state=0)
    assert math.isnan(interval.low) and math.isnan(interval.high)


def test_interval_is_nan_for_no_units() -> None:
    assert all(math.isnan(x) for x in bootstrap_ci(fleiss_kappa, [], random_state=0))


def test_undefined_resamples_are_left_out() -> None:
    # Half the resamples of two units see one category only; the others have kappa 1.
    ratings = [["a", "a"], ["b", "b"]]
    assert bootstrap_ci(fleiss_kappa, ratings, n_resamples=100, random_state=0) == (1.0, 1.0)


@pytest.mark.parametrize("n_resamples", [0, -5, 2.5, True])
def test_rejects_a_bad_number_of_resamples(n_resamples: Any) -> None:
    with pytest.raises(InvalidInput, match="n_resamples"):
        bootstrap_ci(fleiss_kappa, RATINGS, n_resamples=n_resamples)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95])
def test_rejects_a_confidence_outside_zero_and_one(confidence: float) -> None:
    with pytest.raises(InvalidInput, match="confidence"):
        bootstrap_ci(fleiss_kappa, RATINGS, confidence=confidence)
