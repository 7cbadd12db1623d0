"""Behaviour of the agreement functions: undefined cases, missing ratings, input errors, and
invariants (Hypothesis). Published worked examples live in test_agreement_examples.py."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from labelkitchen.agreement import (
    AgreementResult,
    cohen_kappa,
    cohen_kappa_result,
    fleiss_kappa,
    fleiss_kappa_result,
    gwet_ac1,
    gwet_ac1_result,
    krippendorff_alpha,
    krippendorff_alpha_result,
    percent_agreement,
    percent_agreement_result,
    scott_pi,
    scott_pi_result,
)
from labelkitchen.errors import InvalidInput

RATINGS_METRICS: dict[str, Callable[..., AgreementResult]] = {
    "fleiss_kappa": fleiss_kappa_result,
    "gwet_ac1": gwet_ac1_result,
    "krippendorff_alpha": krippendorff_alpha_result,
    "krippendorff_alpha_interval": functools.partial(krippendorff_alpha_result, level="interval"),
}
PAIR_METRICS: dict[str, Callable[..., AgreementResult]] = {
    "cohen_kappa": cohen_kappa_result,
    "cohen_kappa_linear": functools.partial(cohen_kappa_result, weights="linear"),
    "scott_pi": scott_pi_result,
}

# --- undefined is nan with a reason, never 0 ---------------------------------------------


@pytest.mark.parametrize("metric", RATINGS_METRICS.values(), ids=RATINGS_METRICS.keys())
def test_ratings_metric_is_undefined_when_everyone_chose_one_category(
    metric: Callable[..., AgreementResult],
) -> None:
    result = metric([[1, 1, None], [1, 1, 1], [None, 1, 1]])
    assert math.isnan(result.value)
    assert result.reason is not None
    assert "one category" in result.reason or "same value" in result.reason


@pytest.mark.parametrize("metric", PAIR_METRICS.values(), ids=PAIR_METRICS.keys())
def test_pair_metric_is_undefined_when_everyone_chose_one_category(
    metric: Callable[..., AgreementResult],
) -> None:
    result = metric(["x", "x", "x", None], ["x", "x", "x", "y"])
    assert math.isnan(result.value)
    assert result.reason is not None
    assert "one category ('x')" in result.reason


@pytest.mark.parametrize(
    "metric",
    [*RATINGS_METRICS.values(), percent_agreement_result],
    ids=[*RATINGS_METRICS.keys(), "percent_agreement"],
)
def test_ratings_metric_is_undefined_when_no_unit_has_two_ratings(
    metric: Callable[..., AgreementResult],
) -> None:
    result = metric([[1, None], [None, 2], [None, None], [3]])
    assert math.isnan(result.value)
    assert result.reason is not None
    assert "no unit has two ratings" in result.reason


@pytest.mark.parametrize("metric", PAIR_METRICS.values(), ids=PAIR_METRICS.keys())
def test_pair_metric_is_undefined_when_no_unit_was_rated_by_both(
    metric: Callable[..., AgreementResult],
) -> None:
    result = metric(["x", None, "y"], [None, "y", None])
    assert math.isnan(result.value)
    assert result.reason is not None
    assert "rated by both" in result.reason


@pytest.mark.parametrize(
    "metric",
    [percent_agreement, fleiss_kappa, gwet_ac1, krippendorff_alpha],
)
def test_ratings_metric_of_no_units_is_nan(metric: Callable[..., float]) -> None:
    assert math.isnan(metric([]))


def test_float_function_returns_the_value_of_its_result_twin() -> None:
    ratings = [["a", "b"], ["a", "a"], ["b", "b"], ["a", None]]
    assert fleiss_kappa(ratings) == fleiss_kappa_result(ratings).value


def test_defined_result_has_no_reason_and_counts_pairable_units() -> None:
    result = fleiss_kappa_result([["a", "b"], ["a", "a"], ["b", "b"], ["a", None]])
    assert result.defined
    assert result.reason is None
    assert result.n_units == 3


def test_undefined_result_is_not_defined() -> None:
    assert not cohen_kappa_result(["a"], ["a"]).defined


def test_result_converts_to_float() -> None:
    assert float(scott_pi_result(["a", "b"], ["a", "b"])) == 1.0


def test_percent_agreement_is_one_when_everyone_chose_one_category() -> None:
    assert percent_agreement([["x", "x"], ["x", "x", "x"]]) == 1.0


def test_gwet_ac1_is_one_for_one_category_when_categories_are_given() -> None:
    assert gwet_ac1([["x", "x"], ["x", "x"]], categories=["x", "y"]) == pytest.approx(1.0)


def test_gwet_ac1_reason_asks_for_categories_when_only_one_is_known() -> None:
    result = gwet_ac1_result([["x", "x"], ["x", "x"]])
    assert math.isnan(result.value)
    assert result.reason is not None
    assert "categories=" in result.reason


# --- small hand-computed fixtures --------------------------------------------------------


def test_percent_agreement_averages_agreeing_pairs_per_unit() -> None:
    # unit 1: 1 of 3 pairs agree; unit 2: all agree; unit 3: one rating, left out.
    ratings = [["a", "a", "b"], ["b", "b", None], ["a", None, None]]
    assert percent_agreement(ratings) == pytest.approx((1 / 3 + 1) / 2)


def test_cohen_kappa_drops_pairs_with_a_missing_side() -> None:
    a = ["x", "y", None, "x", "y", "z"]
    b = ["x", "y", "z", None, "x", float("nan")]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa(["x", "y", "y"], ["x", "y", "x"]))


def test_cohen_kappa_weights_rank_categories_by_sorted_order() -> None:
    a, b = [1, 2, 10, 10, 2], [2, 2, 10, 1, 1]
    ranked_a, ranked_b = [1, 2, 3, 3, 2], [2, 2, 3, 1, 1]
    assert cohen_kappa(a, b, weights="quadratic") == pytest.approx(
        cohen_kappa(ranked_a, ranked_b, weights="quadratic")
    )


def test_cohen_kappa_weights_do_not_depend_on_first_seen_order() -> None:
    a, b = ["c", "a", "b", "a"], ["c", "b", "b", "c"]
    relabelled = {"a": 1, "b": 2, "c": 3}
    assert cohen_kappa(a, b, weights="linear") == pytest.approx(
        cohen_kappa([relabelled[x] for x in a], [relabelled[x] for x in b], weights="linear")
    )


def test_fleiss_kappa_leaves_missing_ratings_out_rather_than_counting_them() -> None:
    with_missing = [["a", "a", None], ["a", "b", "b"], [None, "b", "b"], ["b", None, "a"]]
    without = [["a", "a"], ["a", "b", "b"], ["b", "b"], ["b", "a"]]
    assert fleiss_kappa(with_missing) == pytest.approx(fleiss_kappa(without))


def test_nan_is_a_missing_rating() -> None:
    nan = float("nan")
    assert krippendorff_alpha([[1, nan, 1], [2, 2, np.nan], [1, 2, None]]) == pytest.approx(
        krippendorff_alpha([[1, 1], [2, 2], [1, 2]])
    )


def test_fleiss_kappa_of_units_with_one_rating_uses_them_for_chance_only() -> None:
    # Gwet's generalisation: a lone rating enters the category shares, not the agreement.
    ratings = [["a", "a"], ["b", "b"], ["a", "b"], ["b", None]]
    shares_a = (1 + 0 + 0.5 + 0) / 4
    chance = shares_a**2 + (1 - shares_a) ** 2
    observed = (1 + 1 + 0) / 3
    assert fleiss_kappa(ratings) == pytest.approx((observed - chance) / (1 - chance))


def test_scott_pi_equals_fleiss_kappa_for_two_complete_coders() -> None:
    a = ["x", "y", "y", "z", "x", "x", "z"]
    b = ["x", "y", "z", "z", "y", "x", "x"]
    assert scott_pi(a, b) == pytest.approx(fleiss_kappa(list(zip(a, b, strict=True))))


def test_gwet_ac1_counts_listed_categories_nobody_used() -> None:
    ratings = [["a", "a"], ["a", "b"], ["b", "b"], ["a", "a"]]
    # pi_a = 5/8, pi_b = 3/8, pi_c = 0; p_a = 3/4; p_e = sum_k pi_k (1 - pi_k) / (q - 1), q = 3.
    chance = 2 * (5 / 8) * (3 / 8) / (3 - 1)
    expected = (0.75 - chance) / (1 - chance)
    assert gwet_ac1(ratings, categories=["a", "b", "c"]) == pytest.approx(expected)


def test_krippendorff_alpha_leaves_units_with_one_rating_out() -> None:
    ratings = [[1, 1], [2, 2], [1, 2], [3, None]]
    assert krippendorff_alpha(ratings) == pytest.approx(krippendorff_alpha(ratings[:3]))


def test_krippendorff_alpha_is_undefined_when_pairable_values_do_not_vary() -> None:
    result = krippendorff_alpha_result([[1, 1], [1, 1], [2, None]], level="interval")
    assert math.isnan(result.value)
    assert result.reason is not None
    assert "same value (1)" in result.reason


def test_krippendorff_alpha_ordinal_follows_value_order() -> None:
    words = [["low", "mid"], ["mid", "mid"], ["high", "high"], ["low", "high"]]
    numbers = [[1, 2], [2, 2], [3, 3], [1, 3]]
    assert krippendorff_alpha(
        words, level="ordinal", value_order=["low", "mid", "high"]
    ) == pytest.approx(krippendorff_alpha(numbers, level="ordinal"))


def test_krippendorff_alpha_ignores_unused_values_in_value_order() -> None:
    ratings = [[1, 2], [2, 2], [4, 4], [1, 4]]
    assert krippendorff_alpha(
        ratings, level="ordinal", value_order=[0, 1, 2, 3, 4, 5]
    ) == pytest.approx(krippendorff_alpha(ratings, level="ordinal"))


def test_krippendorff_alpha_ratio_of_zeros_and_values_is_defined() -> None:
    assert krippendorff_alpha([[0, 0], [1, 1], [2, 2]], level="ratio") == 1.0


def test_ratings_rows_may_have_different_lengths() -> None:
    assert fleiss_kappa([["a", "a", "a"], ["b", "b"], ["a", "b", "b", "b"]]) == pytest.approx(
        fleiss_kappa([["a", "a", "a", None], ["b", "b", None, None], ["a", "b", "b", "b"]])
    )


def test_ratings_accept_a_numpy_array() -> None:
    array = np.array([[1.0, 1.0, np.nan], [2.0, 2.0, 2.0], [1.0, 2.0, 2.0]])
    assert krippendorff_alpha(array) == pytest.approx(
        krippendorff_alpha([[1, 1, None], [2, 2, 2], [1, 2, 2]])
    )


# --- bad input is InvalidInput (a ValueError) with a useful message -----------------------


def test_cohen_kappa_rejects_unequal_lengths() -> None:
    with pytest.raises(InvalidInput, match="got 3 and 2"):
        cohen_kappa(["a", "b", "a"], ["a", "b"])


def test_scott_pi_rejects_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="same number"):
        scott_pi(["a"], [])


@pytest.mark.parametrize("weights", ["squared", "Linear", 2])
def test_cohen_kappa_rejects_unknown_weights(weights: Any) -> None:
    with pytest.raises(InvalidInput, match="'linear' or 'quadratic'"):
        cohen_kappa(["a", "b"], ["a", "b"], weights=weights)


def test_gwet_ac1_rejects_unknown_weights() -> None:
    with pytest.raises(InvalidInput, match="weights"):
        gwet_ac1([["a", "b"]], weights="ordinal")  # type: ignore[arg-type]


def test_krippendorff_alpha_rejects_unknown_level() -> None:
    with pytest.raises(InvalidInput, match="'nominal', 'ordinal', 'interval', 'ratio'"):
        krippendorff_alpha([[1, 2]], level="categorical")  # type: ignore[arg-type]


@pytest.mark.parametrize("level", ["interval", "ratio"])
def test_krippendorff_alpha_rejects_labels_at_numeric_levels(level: Any) -> None:
    with pytest.raises(InvalidInput, match="numeric"):
        krippendorff_alpha([["a", "b"], ["b", "b"]], level=level)


def test_krippendorff_alpha_ordinal_needs_value_order_for_words() -> None:
    with pytest.raises(InvalidInput, match="value_order"):
        krippendorff_alpha([["low", "high"], ["high", "high"]], level="ordinal")


def test_krippendorff_alpha_rejects_negative_ratio_values() -> None:
    with pytest.raises(InvalidInput, match="non-negative"):
        krippendorff_alpha([[-1, 1], [1, 1]], level="ratio")


def test_krippendorff_alpha_rejects_values_outside_value_order() -> None:
    with pytest.raises(InvalidInput, match="'huge'"):
        krippendorff_alpha([["low", "huge"]], level="ordinal", value_order=["low", "high"])


def test_gwet_ac1_rejects_ratings_outside_categories() -> None:
    with pytest.raises(InvalidInput, match="not one of the categories"):
        gwet_ac1([["a", "z"]], categories=["a", "b"])


def test_gwet_ac1_rejects_duplicate_categories() -> None:
    with pytest.raises(InvalidInput, match="twice"):
        gwet_ac1([["a", "b"]], categories=["a", "b", "a"])


@pytest.mark.parametrize("ratings", [["a", "b", "a"], [1, 2, 3], "abc"])
def test_ratings_metric_rejects_a_flat_label_list(ratings: Any) -> None:
    with pytest.raises(InvalidInput, match="units x coders"):
        fleiss_kappa(ratings)


def test_ratings_metric_rejects_unhashable_ratings() -> None:
    with pytest.raises(InvalidInput, match="hashable"):
        percent_agreement([[["a"], ["a"]]])


# --- invariants (Hypothesis) --------------------------------------------------------------

LABELS = st.sampled_from([0, 1, 2, 3, 5])
MAYBE_LABEL = st.one_of(st.none(), LABELS)


@st.composite
def rating_matrices(draw: st.DrawFn, *, max_units: int = 8, max_coders: int = 5) -> list[Any]:
    n_units = draw(st.integers(1, max_units))
    n_coders = draw(st.integers(2, max_coders))
    return [
        draw(st.lists(MAYBE_LABEL, min_size=n_coders, max_size=n_coders)) for _ in range(n_units)
    ]


@st.composite
def label_pairs(draw: st.DrawFn) -> tuple[list[Any], list[Any]]:
    n = draw(st.integers(0, 12))
    a = draw(st.lists(MAYBE_LABEL, min_size=n, max_size=n))
    b = draw(st.lists(MAYBE_LABEL, min_size=n, max_size=n))
    return a, b


IDENTICAL_RATER_METRICS: dict[str, Callable[[list[Any]], float]] = {
    "fleiss_kappa": fleiss_kappa,
    "gwet_ac1": gwet_ac1,
    "gwet_ac1_quadratic": functools.partial(gwet_ac1, weights="quadratic"),
    "alpha_nominal": krippendorff_alpha,
    "alpha_ordinal": functools.partial(krippendorff_alpha, level="ordinal"),
    "alpha_interval": functools.partial(krippendorff_alpha, level="interval"),
    "alpha_ratio": functools.partial(krippendorff_alpha, level="ratio"),
    "percent_agreement": percent_agreement,
}


@pytest.mark.parametrize(
    "metric", IDENTICAL_RATER_METRICS.values(), ids=IDENTICAL_RATER_METRICS.keys()
)
@given(labels=st.lists(LABELS, min_size=1, max_size=10), n_coders=st.integers(2, 4))
def test_identical_raters_agree_perfectly_when_defined(
    metric: Callable[[list[Any]], float], labels: list[Any], n_coders: int
) -> None:
    value = metric([[label] * n_coders for label in labels])
    assert math.isnan(value) or value == pytest.approx(1.0)


@pytest.mark.parametrize("metric", PAIR_METRICS.values(), ids=PAIR_METRICS.keys())
@given(labels=st.lists(MAYBE_LABEL, max_size=12))
def test_identical_pair_agrees_perfectly_when_defined(
    metric: Callable[..., AgreementResult], labels: list[Any]
) -> None:
    value = metric(labels, labels).value
    assert math.isnan(value) or value == pytest.approx(1.0)


@given(ratings=rating_matrices())
def test_percent_agreement_lies_between_zero_and_one(ratings: list[Any]) -> None:
    value = percent_agreement(ratings)
    assert math.isnan(value) or 0.0 <= value <= 1.0


@pytest.mark.parametrize("metric", PAIR_METRICS.values(), ids=PAIR_METRICS.keys())
@given(pair=label_pairs())
def test_pair_metric_is_symmetric_in_a_and_b(
    metric: Callable[..., AgreementResult], pair: tuple[list[Any], list[Any]]
) -> None:
    a, b = pair
    forward, backward = metric(a, b).value, metric(b, a).value
    assert (math.isnan(forward) and math.isnan(backward)) or forward == pytest.approx(backward)


@given(pair=label_pairs(), weights=st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_kappa_equals_scikit_learn_on_complete_pairs(
    pair: tuple[list[Any], list[Any]], weights: Any
) -> None:
    a, b = ([x for x in side if x is not None] for side in pair)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ours = cohen_kappa(a, b, weights=weights)
    if math.isnan(ours):
        assert len(set(a) | set(b)) <= 1
    else:
        assert ours == pytest.approx(cohen_kappa_score(a, b, weights=weights))


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@settings(max_examples=60)
@given(ratings=rating_matrices(max_units=10, max_coders=6))
def test_krippendorff_alpha_equals_the_krippendorff_package(level: Any, ratings: list[Any]) -> None:
    ours = krippendorff_alpha(ratings, level=level)
    pairable = [[x for x in unit if x is not None] for unit in ratings]
    pairable = [unit for unit in pairable if len(unit) >= 2]
    if len({x for unit in pairable for x in unit}) < 2:
        assert math.isnan(ours)
        return
    reliability_data = np.array(
        [[np.nan if x is None else x for x in unit] for unit in ratings], dtype=float
    ).T
    reference = krippendorff.alpha(reliability_data, level_of_measurement=level)
    assert ours == pytest.approx(reference, abs=1e-9)


@given(ratings=rating_matrices(), data=st.data())
def test_fleiss_kappa_does_not_depend_on_coder_order(ratings: list[Any], data: Any) -> None:
    permutation = data.draw(st.permutations(range(len(ratings[0]))))
    shuffled = [[unit[i] for i in permutation] for unit in ratings]
    before, after = fleiss_kappa(ratings), fleiss_kappa(shuffled)
    assert (math.isnan(before) and math.isnan(after)) or before == pytest.approx(after)


@pytest.mark.parametrize(
    "metric",
    [fleiss_kappa, gwet_ac1, krippendorff_alpha, percent_agreement],
    ids=["fleiss_kappa", "gwet_ac1", "krippendorff_alpha", "percent_agreement"],
)
@given(ratings=rating_matrices())
def test_nominal_metric_does_not_depend_on_label_names(
    metric: Callable[[list[Any]], float], ratings: list[Any]
) -> None:
    renamed = [[None if x is None else f"label-{x}" for x in unit] for unit in ratings]
    before, after = metric(ratings), metric(renamed)
    assert (math.isnan(before) and math.isnan(after)) or before == pytest.approx(after)
