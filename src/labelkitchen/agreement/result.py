"""What an agreement function hands back: a value, or nan with the reason it is undefined."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class AgreementResult:
    """An agreement coefficient with the reason when it is undefined.

    ``value`` is a float, ``math.nan`` when the coefficient is undefined; ``reason`` then says
    why in words a reviewer can read ("everyone chose one category ('spam') ..."), and is
    ``None`` when the value is defined. ``n_units`` counts the units that entered the
    computation: units with at least two ratings, pairs rated by both coders, or documents.
    """

    value: float
    reason: str | None = None
    n_units: int = 0

    @property
    def defined(self) -> bool:
        """True when ``value`` is a number rather than nan."""
        return self.reason is None

    def __float__(self) -> float:
        return self.value


class ConfidenceInterval(NamedTuple):
    """A two-sided interval; unpacks as ``low, high``. Both are nan when it is undefined."""

    low: float
    high: float


def defined(value: float, n_units: int) -> AgreementResult:
    """A defined result; ``value`` is converted to a plain float."""
    return AgreementResult(value=float(value), reason=None, n_units=n_units)


def undefined(reason: str, n_units: int = 0) -> AgreementResult:
    """An undefined result: nan with its reason."""
    return AgreementResult(value=math.nan, reason=reason, n_units=n_units)


NO_PAIRABLE_UNITS = "no unit has two ratings, so there is nothing to compare"
NO_SHARED_UNITS = "no unit was rated by both coders, so there is nothing to compare"
NO_SPANS = "neither annotator marked a span, so there is nothing to compare"


def one_category(label: object) -> str:
    """The reason used when every rating is the same category."""
    return (
        f"everyone chose one category ({label!r}), so agreement expected by chance is "
        "total and the coefficient is 0/0"
    )
