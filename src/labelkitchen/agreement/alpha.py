"""Krippendorff's alpha for any number of coders, missing ratings and four levels of measurement.

The computation follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability":
a coincidence matrix over the pairable values (units with at least two ratings), the
difference function of the level, and ``alpha = 1 - (n - 1) * sum(o * d) / sum(n_c n_k d)``.
It is our own rather than the ``krippendorff`` package's because that package (0.9.0)
materialises a units x values x values array (~2 GB for 10,000 units on a 0-100 scale,
pln-fing-udelar/fast-krippendorff#38); here the coincidences are one matrix product, memory
O(ratings + values ** 2). The tests check it against the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray

from labelkitchen.agreement.ratings import (
    Counts,
    Label,
    Ratings,
    checked_categories,
    count_ratings,
)
from labelkitchen.agreement.result import (
    NO_PAIRABLE_UNITS,
    AgreementResult,
    defined,
    undefined,
)
from labelkitchen.errors import InvalidInput

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")


def krippendorff_alpha_result(
    ratings: Ratings,
    *,
    level: Level = "nominal",
    value_order: Sequence[Label] | None = None,
) -> AgreementResult:
    """Krippendorff's alpha with its reason when undefined; see :func:`krippendorff_alpha`."""
    if not (isinstance(level, str) and level in LEVELS):
        raise InvalidInput(f"level must be one of {', '.join(map(repr, LEVELS))}; got {level!r}")
    order = checked_categories(value_order, "value_order")
    counts = count_ratings(ratings, categories=order)
    pairable = counts.per_unit >= 2
    n_pairable = int(pairable.sum())
    if n_pairable == 0:
        return undefined(NO_PAIRABLE_UNITS)
    counts = Counts(counts=counts.counts[pairable], categories=counts.categories)
    used = counts.counts.sum(axis=0) > 0
    values = [category for category, seen in zip(counts.categories, used, strict=True) if seen]
    if len(values) == 1:
        return undefined(
            f"every pairable rating is the same value ({values[0]!r}), so there is no "
            "variation to tell agreement from chance and alpha is 0/0",
            n_pairable,
        )
    if level == "ordinal" and order is None:
        values = list(_scale(values))
    counts = counts.reordered(values)
    coincidences = _coincidences(counts.counts)
    n_values = coincidences.sum(axis=0)
    distance = _distances(level, counts.categories, n_values)
    n_pairable_values = n_values.sum()
    observed = np.sum(coincidences * distance)
    expected = np.sum(np.outer(n_values, n_values) * distance)
    return defined(1 - (n_pairable_values - 1) * observed / expected, n_pairable)


def krippendorff_alpha(
    ratings: Ratings,
    *,
    level: Level = "nominal",
    value_order: Sequence[Label] | None = None,
) -> float:
    """Krippendorff's alpha for units x coders ratings with missing values.

    ``level`` is ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``. Units with a
    single rating are not pairable and are left out, as Krippendorff prescribes.

    - nominal: any hashable labels.
    - ordinal: the values are ranked by ``value_order`` when given (so labels such as
      ``"low" < "mid" < "high"`` work), else numbers by size; labels that are not numbers
      need ``value_order`` (sorting them alphabetically would silently invent a scale).
      Only the order matters.
    - interval and ratio: ratings must be real numbers (ratio: not negative).

    ``value_order`` lists the possible values; a rating outside it is an error. Values nobody
    used do not change alpha at any level (Krippendorff's ordinal distances count only used
    values). nan when no unit has two ratings or every pairable rating is the same value.
    """
    return krippendorff_alpha_result(ratings, level=level, value_order=value_order).value


def _coincidences(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Krippendorff's coincidence matrix: sum over units of (c c^T - diag c) / (m_u - 1)."""
    weighted = counts / (counts.sum(axis=1) - 1)[:, np.newaxis]
    return np.asarray(weighted.T @ counts - np.diag(weighted.sum(axis=0)), dtype=np.float64)


def _distances(
    level: str, values: Sequence[Label], n_values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The squared difference function ``delta(c, k)`` of the level over the used values."""
    size = len(values)
    if level == "nominal":
        return np.asarray(1 - np.eye(size), dtype=np.float64)
    if level == "ordinal":
        ranks = np.arange(size)
        low = np.minimum(ranks[:, np.newaxis], ranks[np.newaxis, :])
        high = np.maximum(ranks[:, np.newaxis], ranks[np.newaxis, :])
        cumulative = np.cumsum(n_values)
        between = cumulative[high] - cumulative[low] + n_values[low]
        ends = (n_values[:, np.newaxis] + n_values[np.newaxis, :]) / 2
        return np.asarray((between - ends) ** 2, dtype=np.float64)
    numbers = _numeric(values, level)
    difference = numbers[:, np.newaxis] - numbers[np.newaxis, :]
    if level == "interval":
        return np.asarray(difference**2, dtype=np.float64)
    total = numbers[:, np.newaxis] + numbers[np.newaxis, :]
    ratio = np.divide(difference, total, out=np.zeros_like(difference), where=total != 0)
    return np.asarray(ratio**2, dtype=np.float64)


def _scale(values: Sequence[Label]) -> Sequence[Label]:
    """Numeric ordinal values in ascending order; other labels need an explicit value_order."""
    hint = "for other labels pass value_order= in the order of the scale"
    numbers = _numeric(values, "ordinal", hint=hint)
    return [values[i] for i in np.argsort(numbers, kind="stable")]


def _numeric(values: Sequence[Label], level: str, *, hint: str = "") -> NDArray[np.float64]:
    wrong = [value for value in values if not isinstance(value, Real)]
    if wrong:
        raise InvalidInput(
            f"{level} alpha needs numeric ratings, got {wrong[:5]!r}; "
            f"{hint or 'for ordered labels use level=ordinal with value_order='}"
        )
    numbers = np.asarray([float(cast(Real, value)) for value in values], dtype=np.float64)
    if not np.isfinite(numbers).all():
        raise InvalidInput(f"{level} alpha needs finite ratings; got {values!r}")
    if level == "ratio" and (numbers < 0).any():
        raise InvalidInput(
            f"ratio alpha needs non-negative ratings (a ratio scale starts at 0); "
            f"got {[v for v, x in zip(values, numbers, strict=True) if x < 0][:5]!r}"
        )
    return numbers
