"""Reading a units x coders layout: what is missing, what a category is, and the counts.

Every rating metric works on one matrix: ``counts[u, k]`` is how many coders put unit ``u`` in
category ``k``. A missing rating is ``None`` or a float NaN; it is left out, never a category.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelkitchen.errors import InvalidInput

Label = Hashable
"""A category: any hashable value (a string, an int, a bool, ...)."""

Ratings = Iterable[Any]
"""Units x coders: one row per unit (a list, tuple or numpy row), one rating per coder, ``None``
where a coder gave none. Typed loosely so that ``[["a", "b"], ["a", None]]`` (inferred as
``list[object]``) and 2-D numpy arrays type-check; the shape is checked at run time."""

Labels = Iterable[Any]
"""One label per unit (``None`` for missing), as for one coder in :func:`cohen_kappa`."""


def is_missing(value: object) -> bool:
    """True for ``None`` and for a float NaN (as pandas and numpy write missing values)."""
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


@dataclass(frozen=True)
class Counts:
    """Units x categories rating counts; units with no rating at all are left out."""

    counts: NDArray[np.float64]
    categories: tuple[Label, ...]

    @property
    def per_unit(self) -> NDArray[np.float64]:
        """How many ratings each unit has."""
        return np.asarray(self.counts.sum(axis=1), dtype=np.float64)

    def reordered(self, order: Sequence[Label]) -> Counts:
        """The same counts with the categories in ``order`` (which must hold all of them)."""
        index = {category: i for i, category in enumerate(self.categories)}
        columns = [index[category] for category in order]
        return Counts(counts=self.counts[:, columns], categories=tuple(order))


def count_ratings(ratings: Ratings, *, categories: Sequence[Label] | None = None) -> Counts:
    """Count each unit's ratings per category.

    Categories are the given ``categories`` in their order, or those seen, in the order first
    seen. A rating outside the given ``categories`` is an error, not a new category.
    """
    index = _category_index(categories, "categories")
    fixed = categories is not None
    unit_ids: list[int] = []
    codes: list[int] = []
    n_units = 0
    for unit, row in enumerate(_rows(ratings)):
        n_units += 1
        for value in row:
            if is_missing(value):
                continue
            code = _code(value, index, fixed=fixed, where=f"unit {unit}")
            unit_ids.append(unit)
            codes.append(code)
    counts = np.zeros((n_units, len(index)), dtype=np.float64)
    np.add.at(counts, (np.asarray(unit_ids, dtype=np.intp), np.asarray(codes, dtype=np.intp)), 1)
    rated = counts.sum(axis=1) > 0
    return Counts(counts=counts[rated], categories=tuple(index))


def code_pairs(
    a: Labels, b: Labels
) -> tuple[NDArray[np.intp], NDArray[np.intp], tuple[Label, ...]]:
    """Integer codes of the pairs where both ``a`` and ``b`` have a label, and the categories.

    Categories are in the order first seen; ``a`` and ``b`` must be equally long.
    """
    first, second = list(a), list(b)
    if len(first) != len(second):
        raise InvalidInput(
            "a and b must hold one label per unit, so the same number of items; "
            f"got {len(first)} and {len(second)}"
        )
    index: dict[Label, int] = {}
    codes_a: list[int] = []
    codes_b: list[int] = []
    for unit, (x, y) in enumerate(zip(first, second, strict=True)):
        if is_missing(x) or is_missing(y):
            continue
        codes_a.append(_code(x, index, fixed=False, where=f"a[{unit}]"))
        codes_b.append(_code(y, index, fixed=False, where=f"b[{unit}]"))
    return (
        np.asarray(codes_a, dtype=np.intp),
        np.asarray(codes_b, dtype=np.intp),
        tuple(index),
    )


def ranked(labels: Iterable[Label], *, hint: str) -> list[Label]:
    """``labels`` in sorted order; an error naming ``hint`` when they cannot be compared."""
    values = list(labels)
    try:
        return sorted(values)  # type: ignore[type-var]
    except TypeError as error:
        raise InvalidInput(
            f"these labels have no natural order to rank them by: {values!r}; {hint}"
        ) from error


def checked_categories(categories: Sequence[Label] | None, name: str) -> list[Label] | None:
    """``categories`` as a list, after checking for missing values and duplicates."""
    if categories is None:
        return None
    return list(_category_index(categories, name))


def _category_index(categories: Iterable[Label] | None, name: str) -> dict[Label, int]:
    if categories is None:
        return {}
    if isinstance(categories, str | bytes):
        raise InvalidInput(f"{name} must be a sequence of labels, got the string {categories!r}")
    index: dict[Label, int] = {}
    for category in categories:
        if is_missing(category) or not isinstance(category, Hashable):
            raise InvalidInput(f"{name} must hold hashable labels, not {category!r}")
        if category in index:
            raise InvalidInput(f"{name} lists {category!r} twice")
        index[category] = len(index)
    return index


def _code(value: object, index: dict[Label, int], *, fixed: bool, where: str) -> int:
    if not isinstance(value, Hashable):
        raise InvalidInput(
            f"a rating must be a hashable label or None; {where} is {type(value).__name__} "
            f"{value!r}"
        )
    code = index.get(value)
    if code is not None:
        return code
    if fixed:
        raise InvalidInput(
            f"{where} has the rating {value!r}, which is not one of the categories {list(index)!r}"
        )
    index[value] = len(index)
    return len(index) - 1


def _rows(ratings: Ratings) -> Iterable[Iterable[object]]:
    if isinstance(ratings, str | bytes):
        raise InvalidInput("ratings must be units x coders (a sequence of rows), got a string")
    for unit, row in enumerate(ratings):
        if isinstance(row, str | bytes) or not isinstance(row, Iterable):
            raise InvalidInput(
                "ratings must be units x coders: each unit a sequence of ratings with None "
                f"for a missing one; unit {unit} is {type(row).__name__} {row!r} "
                "(for two label lists a and b, pass list(zip(a, b)); for a DataFrame, "
                "df.to_numpy())"
            )
        yield row
