"""Agreement on categories: percent agreement, Cohen's kappa, Scott's pi, Fleiss' kappa, AC1.

Conventions shared by every function here:

- ``ratings`` is units x coders with ``None`` (or NaN) for a missing rating. Missing ratings
  are left out, never counted as a category. Rows may have different lengths.
- ``a`` and ``b`` are two equally long label sequences, one label per unit; a pair with a
  missing side is dropped.
- Each coefficient is a float, ``math.nan`` when undefined; the ``*_result`` twin returns an
  :class:`AgreementResult` that also says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import cohen_kappa_score

from labelkitchen.agreement.ratings import (
    Counts,
    Label,
    Labels,
    Ratings,
    checked_categories,
    code_pairs,
    count_ratings,
    ranked,
)
from labelkitchen.agreement.result import (
    NO_PAIRABLE_UNITS,
    NO_SHARED_UNITS,
    AgreementResult,
    defined,
    one_category,
    undefined,
)
from labelkitchen.errors import InvalidInput

Weights = Literal["linear", "quadratic"]
WEIGHTS: tuple[str, ...] = ("linear", "quadratic")


def percent_agreement_result(ratings: Ratings) -> AgreementResult:
    """Percent agreement with its reason when undefined; see :func:`percent_agreement`."""
    counts = count_ratings(ratings)
    pairable = counts.per_unit >= 2
    if not pairable.any():
        return undefined(NO_PAIRABLE_UNITS)
    return defined(_pairwise_agreement(counts.counts[pairable]).mean(), int(pairable.sum()))


def percent_agreement(ratings: Ratings) -> float:
    """Share of agreeing coder pairs, averaged over units with at least two ratings.

    For a unit with ``r`` ratings of which ``r_k`` are category ``k`` the unit's agreement is
    ``sum_k r_k (r_k - 1) / (r (r - 1))``, the share of ordered coder pairs that agree (for two
    coders: 1 if they agree, else 0). This is the observed agreement of Fleiss' kappa and of
    Gwet's AC1 (Gwet 2014, ch. 2). It is not chance-corrected, so it is defined (1.0) when
    everyone chose one category; nan only when no unit has two ratings.
    """
    return percent_agreement_result(ratings).value


def cohen_kappa_result(a: Labels, b: Labels, *, weights: Weights | None = None) -> AgreementResult:
    """Cohen's kappa with its reason when undefined; see :func:`cohen_kappa`."""
    _check_weights(weights)
    codes_a, codes_b, categories = code_pairs(a, b)
    n_pairs = len(codes_a)
    if n_pairs == 0:
        return undefined(NO_SHARED_UNITS)
    if len(categories) == 1:
        return undefined(one_category(categories[0]), n_pairs)
    if weights is not None:
        order = ranked(categories, hint="weighted kappa ranks the labels by sorted order")
        rank = np.asarray([order.index(category) for category in categories], dtype=np.intp)
        codes_a, codes_b = rank[codes_a], rank[codes_b]
    value = cohen_kappa_score(codes_a, codes_b, labels=np.arange(len(categories)), weights=weights)
    return defined(value, n_pairs)


def cohen_kappa(a: Labels, b: Labels, *, weights: Weights | None = None) -> float:
    """Cohen's kappa between two coders, plain or weighted (scikit-learn's computation).

    ``weights`` is ``None`` (unweighted), ``"linear"`` or ``"quadratic"``; weighted kappa
    ranks the categories seen in the kept pairs by sorted order, and the disagreement between
    ranks ``i`` and ``j`` is ``|i - j|`` or ``(i - j) ** 2`` (Cohen 1968), so an unused
    category between two used ones does not widen the gap. nan when no unit was rated by
    both coders, or when both chose the same single category throughout.
    """
    return cohen_kappa_result(a, b, weights=weights).value


def scott_pi_result(a: Labels, b: Labels) -> AgreementResult:
    """Scott's pi with its reason when undefined; see :func:`scott_pi`."""
    codes_a, codes_b, categories = code_pairs(a, b)
    n_pairs = len(codes_a)
    if n_pairs == 0:
        return undefined(NO_SHARED_UNITS)
    if len(categories) == 1:
        return undefined(one_category(categories[0]), n_pairs)
    observed = float(np.mean(codes_a == codes_b))
    pooled = np.bincount(np.concatenate([codes_a, codes_b]), minlength=len(categories))
    expected = float(np.sum((pooled / (2 * n_pairs)) ** 2))
    return defined((observed - expected) / (1 - expected), n_pairs)


def scott_pi(a: Labels, b: Labels) -> float:
    """Scott's pi (1955) between two coders: chance agreement from the pooled label shares.

    ``(p_o - p_e) / (1 - p_e)`` with ``p_e = sum_k ((n_ak + n_bk) / 2n) ** 2``. nan when no
    unit was rated by both coders or when every kept label is the same category.
    """
    return scott_pi_result(a, b).value


def fleiss_kappa_result(ratings: Ratings) -> AgreementResult:
    """Fleiss' kappa with its reason when undefined; see :func:`fleiss_kappa`."""
    counts = count_ratings(ratings)
    pairable = counts.per_unit >= 2
    if not pairable.any():
        return undefined(NO_PAIRABLE_UNITS)
    if len(counts.categories) == 1:
        return undefined(one_category(counts.categories[0]), int(pairable.sum()))
    observed = float(_pairwise_agreement(counts.counts[pairable]).mean())
    shares = _category_shares(counts)
    expected = float(np.sum(shares**2))
    return defined((observed - expected) / (1 - expected), int(pairable.sum()))


def fleiss_kappa(ratings: Ratings) -> float:
    """Fleiss' kappa (1971) for any number of coders, with missing ratings.

    With every unit rated by the same number of coders this is Fleiss' 1971 statistic. With
    missing ratings it is the generalisation in Gwet (2014, ch. 2; R ``irrCAC``'s
    ``fleiss.kappa.raw``): observed agreement is :func:`percent_agreement` over units with two
    or more ratings; a category's chance share ``pi_k`` is the mean over rated units of the
    share of that unit's ratings in ``k``; ``p_e = sum_k pi_k ** 2``. nan when no unit has two
    ratings or everyone chose one category.
    """
    return fleiss_kappa_result(ratings).value


def gwet_ac1_result(
    ratings: Ratings,
    *,
    categories: Sequence[Label] | None = None,
    weights: Weights | None = None,
) -> AgreementResult:
    """Gwet's AC1 / AC2 with its reason when undefined; see :func:`gwet_ac1`."""
    _check_weights(weights)
    given = checked_categories(categories, "categories")
    counts = count_ratings(ratings, categories=given)
    pairable = counts.per_unit >= 2
    if not pairable.any():
        return undefined(NO_PAIRABLE_UNITS)
    n_pairable = int(pairable.sum())
    n_categories = len(counts.categories)
    if n_categories < 2:
        label = counts.categories[0] if counts.categories else None
        return undefined(
            f"{one_category(label)}; AC1 needs the number of possible categories, so pass "
            "categories= with the full label set",
            n_pairable,
        )
    if weights is not None and given is None:
        counts = counts.reordered(
            ranked(counts.categories, hint="pass categories= in scale order for weighted AC2")
        )
    weight = _agreement_weights(n_categories, weights)
    observed = float(_pairwise_agreement(counts.counts[pairable], weight).mean())
    shares = _category_shares(counts)
    expected = float(
        weight.sum() / (n_categories * (n_categories - 1)) * np.sum(shares * (1 - shares))
    )
    return defined((observed - expected) / (1 - expected), n_pairable)


def gwet_ac1(
    ratings: Ratings,
    *,
    categories: Sequence[Label] | None = None,
    weights: Weights | None = None,
) -> float:
    """Gwet's AC1 (2008) for any number of coders with missing ratings; AC2 when weighted.

    Follows Gwet (2014, ch. 4; R ``irrCAC``'s ``gwet.ac1.raw``). ``categories`` is the full
    label set: the chance agreement ``p_e = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k)``
    depends on the number of categories ``q``, so a category nobody used still counts when
    listed. Without it, ``q`` is the number of categories seen. ``weights`` (``"linear"``:
    ``1 - |i - j| / (q - 1)``, ``"quadratic"``: ``1 - (i - j)**2 / (q - 1)**2``) rank the
    categories in the order of ``categories``, or by sorted order when it is not given.

    Unlike kappa, AC1 is defined (1.0) when everyone chose one category, provided
    ``categories`` names at least two; nan when fewer than two categories are known or no
    unit has two ratings.
    """
    return gwet_ac1_result(ratings, categories=categories, weights=weights).value


def _pairwise_agreement(
    counts: NDArray[np.float64], weight: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Per unit: the (weighted) share of ordered coder pairs that agree."""
    per_unit = counts.sum(axis=1)
    credited = counts if weight is None else counts @ weight.T
    agreeing = np.sum(counts * (credited - 1), axis=1)
    return np.asarray(agreeing / (per_unit * (per_unit - 1)), dtype=np.float64)


def _category_shares(counts: Counts) -> NDArray[np.float64]:
    """Per category: the mean over rated units of the share of the unit's ratings in it."""
    shares = counts.counts / counts.per_unit[:, np.newaxis]
    return np.asarray(shares.mean(axis=0), dtype=np.float64)


def _agreement_weights(n_categories: int, weights: Weights | None) -> NDArray[np.float64]:
    ranks = np.arange(n_categories, dtype=np.float64)
    gap = np.abs(ranks[:, np.newaxis] - ranks[np.newaxis, :]) / (n_categories - 1)
    if weights == "linear":
        return np.asarray(1 - gap, dtype=np.float64)
    if weights == "quadratic":
        return np.asarray(1 - gap**2, dtype=np.float64)
    return np.eye(n_categories, dtype=np.float64)


def _check_weights(weights: object) -> None:
    if weights is not None and not (isinstance(weights, str) and weights in WEIGHTS):
        raise InvalidInput(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}")
