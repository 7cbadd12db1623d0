"""Annotator quality as pure functions: consensus, agreement with a reference, active time,
Dawid-Skene accuracy over annotators' votes, disagreement, spot-check error rates.

Votes are plain Python values (labels, or any hashable answer) with ``None`` for "did not
answer"; label matrices are records x annotators integer arrays with ``ABSTAIN = -1``, the same
layout the weak supervision engine uses for labelling functions. The aggregation is that
engine's :class:`~labelkitchen.weak.DawidSkene`; nothing here fits a second EM.

>>> majority_label(["spam", "spam", "ham", None])
'spam'
>>> round(disagreement(["spam", "spam", "ham"]), 3)  # 1 - share of the top answer
0.333
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.analysis import wilson_interval
from labelkitchen.weak.dawid_skene import DawidSkene
from labelkitchen.weak.labels import ABSTAIN

IDLE_CAP_SECONDS = 300.0
"""A gap between two answers longer than this counts as a break, not as work."""


def majority_label(votes: Sequence[Hashable | None]) -> Hashable | None:
    """The strictly most frequent answer (``None`` votes left out); ``None`` on a tie or no vote."""
    counts = Counter(v for v in votes if v is not None).most_common(2)
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def top_share(votes: Sequence[Hashable | None]) -> float:
    """The share of the most frequent answer among the given votes; nan without votes."""
    given = [v for v in votes if v is not None]
    if not given:
        return math.nan
    return Counter(given).most_common(1)[0][1] / len(given)


def disagreement(votes: Sequence[Hashable | None]) -> float:
    """``1 - top_share(votes)``: 0 when everyone agrees, towards 1 as answers scatter."""
    return 1.0 - top_share(votes)


@dataclass(frozen=True)
class Rate:
    """``agreed`` of ``n`` comparisons; ``value`` is ``None`` when there was none."""

    agreed: int
    n: int

    @property
    def value(self) -> float | None:
        return self.agreed / self.n if self.n else None


def agreement_rate(votes: Sequence[Hashable | None], reference: Sequence[Hashable | None]) -> Rate:
    """How often ``votes[i] == reference[i]`` where both are given."""
    if len(votes) != len(reference):
        raise InvalidInput(
            f"votes and reference must be equally long; got {len(votes)} and {len(reference)}"
        )
    pairs = [
        (v, r) for v, r in zip(votes, reference, strict=True) if v is not None and r is not None
    ]
    return Rate(agreed=sum(v == r for v, r in pairs), n=len(pairs))


def consensus_of_others(
    rows: Sequence[Sequence[Hashable | None]], coder: int
) -> list[Hashable | None]:
    """Per unit, the strict majority answer of every coder except ``coder`` (``None`` on ties)."""
    return [majority_label([v for j, v in enumerate(row) if j != coder]) for row in rows]


def active_seconds(
    times: Sequence[float],
    durations_ms: Sequence[int | None],
    *,
    idle_cap_seconds: float = IDLE_CAP_SECONDS,
) -> float:
    """Seconds of work behind a run of answers given at ``times`` (epoch seconds).

    An answer with a measured ``duration_ms`` counts that long. One without counts the gap since
    the previous answer, capped at ``idle_cap_seconds`` (a longer gap is a break); the first
    answer without a duration counts nothing.
    """
    if len(times) != len(durations_ms):
        raise InvalidInput("times and durations_ms must be equally long")
    order = np.argsort(np.asarray(times, dtype=np.float64), kind="stable")
    total = 0.0
    previous: float | None = None
    for i in order:
        moment, duration = float(times[i]), durations_ms[i]
        if duration is not None:
            total += max(duration, 0) / 1000.0
        elif previous is not None:
            total += min(max(moment - previous, 0.0), idle_cap_seconds)
        previous = moment
    return total


def median_ms(durations_ms: Sequence[int | None]) -> float | None:
    """The median of the measured durations; ``None`` when none was measured."""
    given = [d for d in durations_ms if d is not None]
    return float(statistics.median(given)) if given else None


@dataclass(frozen=True)
class AnnotatorModel:
    """Dawid-Skene over annotators' votes.

    ``accuracy[j]``: probability that a vote of annotator ``j`` is right; ``confusion[j]``:
    ``n_classes x n_classes`` rows true class, columns vote (each row sums to one);
    ``probs``: records x classes posterior; ``predictions``: its argmax.
    """

    accuracy: npt.NDArray[np.float64]
    confusion: npt.NDArray[np.float64]
    probs: npt.NDArray[np.float64]
    predictions: npt.NDArray[np.int64]


def fit_annotator_model(
    L: npt.ArrayLike, *, n_classes: int, random_state: int | None = 0
) -> AnnotatorModel:
    """Fit Dawid-Skene on a records x annotators label matrix (``-1`` where one did not answer).

    Abstains are ignored (``abstain="ignore"``): an annotator who did not see a record says
    nothing about its class.
    """
    matrix = np.asarray(L, dtype=np.int64)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise InvalidInput(f"L must be a non-empty records x annotators matrix; got {matrix.shape}")
    model = DawidSkene(n_classes=n_classes, abstain="ignore", random_state=random_state)
    model.fit(matrix)
    probs = model.predict_proba(matrix)
    return AnnotatorModel(
        accuracy=np.asarray(model.accuracy_, dtype=np.float64),
        confusion=np.asarray(model.confusion_[:, :, :n_classes], dtype=np.float64),
        probs=probs,
        predictions=model.predict(matrix, tie_break="first"),
    )


def majority_vote(L: npt.ArrayLike, *, n_classes: int) -> npt.NDArray[np.int64]:
    """Per record, the most frequent vote (lowest class on ties; ``-1`` without votes)."""
    matrix = np.asarray(L, dtype=np.int64)
    counts = np.zeros((matrix.shape[0], n_classes), dtype=np.int64)
    for k in range(n_classes):
        counts[:, k] = (matrix == k).sum(axis=1)
    result = np.asarray(counts.argmax(axis=1), dtype=np.int64)
    result[counts.sum(axis=1) == 0] = ABSTAIN
    return np.asarray(result, dtype=np.int64)


@dataclass(frozen=True)
class ErrorRate:
    """Spot-check error rate: ``errors`` of ``checked`` with a 95% Wilson interval."""

    errors: int
    checked: int
    rate: float | None
    low: float | None
    high: float | None


def error_rate(errors: int, checked: int) -> ErrorRate:
    """The error rate of ``checked`` spot checks of which ``errors`` were wrong."""
    if errors < 0 or checked < errors:
        raise InvalidInput(f"need 0 <= errors <= checked; got {errors} of {checked}")
    interval = wilson_interval(errors, checked)
    if interval is None:
        return ErrorRate(errors, checked, None, None, None)
    return ErrorRate(errors, checked, errors / checked, interval[0], interval[1])


# --- over time --------------------------------------------------------------------------------

PERIOD_UNITS: tuple[tuple[str, float], ...] = (
    ("hour", 3600.0),
    ("day", 86400.0),
    ("week", 7 * 86400.0),
    ("month", 30 * 86400.0),
    ("quarter", 91 * 86400.0),
    ("year", 365 * 86400.0),
)


@dataclass(frozen=True)
class Periods:
    """Calendar-aligned periods covering a run of moments.

    ``unit`` names the period length (``hour`` ... ``year``), ``starts`` the epoch second each
    period begins (UTC, aligned to a multiple of its length), ``index[i]`` the period of moment
    ``i``. Only periods holding at least one moment are listed.
    """

    unit: str
    seconds: float
    starts: list[float]
    index: list[int]


def split_periods(times: Sequence[float], *, max_periods: int = 12) -> Periods:
    """Group epoch-second ``times`` into at most ``max_periods`` calendar-aligned periods.

    The shortest unit of hour, day, week, 30 days, 91 days and 365 days whose periods number at
    most ``max_periods`` over the span of ``times`` is chosen, so a day of work shows hours and
    a year of work months.

    >>> p = split_periods([0.0, 10.0, 7200.0])
    >>> p.unit, p.starts, p.index
    ('hour', [0.0, 7200.0], [0, 0, 1])
    """
    if max_periods < 1:
        raise InvalidInput(f"max_periods must be at least 1; got {max_periods}")
    if not times:
        return Periods("hour", 3600.0, [], [])
    low, high = min(times), max(times)
    unit, seconds = PERIOD_UNITS[-1]
    for name, length in PERIOD_UNITS:
        if math.floor(high / length) - math.floor(low / length) + 1 <= max_periods:
            unit, seconds = name, length
            break
    buckets = [math.floor(t / seconds) for t in times]
    distinct = sorted(set(buckets))
    position = {b: i for i, b in enumerate(distinct)}
    return Periods(unit, seconds, [b * seconds for b in distinct], [position[b] for b in buckets])


@dataclass(frozen=True)
class Drift:
    """Whether an annotator's agreement changed between the earlier and the later half of
    their answers: the two rates, the difference (later - earlier) and a two-sided p-value
    of the two-proportion z-test (``None`` when either half has no comparison)."""

    earlier: Rate
    later: Rate
    change: float | None
    p_value: float | None


def drift_test(flags: Sequence[bool | None]) -> Drift:
    """Split a time-ordered run of agree (True) / disagree (False) / not compared (None) flags
    into halves of the compared ones and test whether the agreement rate moved.

    >>> d = drift_test([True] * 20 + [False] * 20)
    >>> d.change, d.p_value is not None and d.p_value < 0.001
    (-1.0, True)
    """
    compared = [f for f in flags if f is not None]
    half = len(compared) // 2
    earlier = Rate(sum(compared[:half]), half)
    later = Rate(sum(compared[half:]), len(compared) - half)
    if earlier.value is None or later.value is None:
        return Drift(earlier, later, None, None)
    change = later.value - earlier.value
    pooled = (earlier.agreed + later.agreed) / (earlier.n + later.n)
    spread = math.sqrt(pooled * (1.0 - pooled) * (1.0 / earlier.n + 1.0 / later.n))
    if spread == 0.0:
        return Drift(earlier, later, change, 1.0 if change == 0.0 else 0.0)
    z = abs(change) / spread
    return Drift(earlier, later, change, math.erfc(z / math.sqrt(2.0)))


__all__ = [
    "IDLE_CAP_SECONDS",
    "PERIOD_UNITS",
    "AnnotatorModel",
    "Drift",
    "ErrorRate",
    "Periods",
    "Rate",
    "active_seconds",
    "agreement_rate",
    "consensus_of_others",
    "disagreement",
    "drift_test",
    "error_rate",
    "fit_annotator_model",
    "majority_label",
    "majority_vote",
    "median_ms",
    "split_periods",
    "top_share",
]
