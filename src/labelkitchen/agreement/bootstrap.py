"""Percentile bootstrap confidence intervals for any agreement function, resampling units."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from labelkitchen.agreement.categorical import (
    cohen_kappa,
    cohen_kappa_result,
    scott_pi,
    scott_pi_result,
)
from labelkitchen.agreement.result import AgreementResult, ConfidenceInterval
from labelkitchen.errors import InvalidInput

Metric = Callable[..., float | AgreementResult]

_TWO_CODER_METRICS: frozenset[Callable[..., Any]] = frozenset(
    {cohen_kappa, cohen_kappa_result, scott_pi, scott_pi_result}
)


def bootstrap_ci(
    metric: Metric,
    ratings: Sequence[Any],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> ConfidenceInterval:
    """A percentile bootstrap interval for ``metric(ratings)``, resampling units.

    Each resample draws ``len(ratings)`` units (rows) with replacement and calls ``metric``
    on them; the interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
    quantiles of the results. ``metric`` is any function of the units returning a float or an
    :class:`AgreementResult`: ``fleiss_kappa``, ``functools.partial(krippendorff_alpha,
    level="ordinal")``, a lambda. :func:`cohen_kappa` and :func:`scott_pi` (also inside a
    ``functools.partial``) are called with the two coder columns of the resampled rows, which
    then must have exactly two ratings each. Units can be anything ``metric`` accepts, e.g.
    ``(spans_a, spans_b)`` document pairs.

    Resamples on which the metric is undefined (a resample where everyone chose one
    category) are left out; the interval is ``(nan, nan)`` when the metric is undefined on
    the full data or on every resample. Pass ``random_state`` (an int or a numpy
    ``Generator``) for a repeatable interval.
    """
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise InvalidInput(f"n_resamples must be a positive integer; got {n_resamples!r}")
    if not 0 < confidence < 1:
        raise InvalidInput(f"confidence must be between 0 and 1 (exclusive); got {confidence!r}")
    units = list(ratings)
    undefined_interval = ConfidenceInterval(math.nan, math.nan)
    if not units or math.isnan(_evaluate(metric, units)):
        return undefined_interval
    rng = np.random.default_rng(random_state)
    draws = rng.integers(0, len(units), size=(n_resamples, len(units)))
    values = np.asarray([_evaluate(metric, [units[i] for i in draw]) for draw in draws])
    values = values[~np.isnan(values)]
    if values.size == 0:
        return undefined_interval
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return ConfidenceInterval(float(low), float(high))


def _evaluate(metric: Metric, units: list[Any]) -> float:
    if _is_two_coder(metric):
        rows = [list(unit) for unit in units]
        if any(len(row) != 2 for row in rows):
            raise InvalidInput(
                "cohen_kappa and scott_pi compare two coders, so each unit must hold exactly "
                "two ratings (a, b)"
            )
        value = metric([row[0] for row in rows], [row[1] for row in rows])
    else:
        value = metric(units)
    return float(value.value if isinstance(value, AgreementResult) else value)


def _is_two_coder(metric: Metric) -> bool:
    while isinstance(metric, functools.partial):
        metric = metric.func
    return metric in _TWO_CODER_METRICS
