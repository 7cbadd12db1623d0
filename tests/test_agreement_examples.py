"""Published worked examples, checked to 1e-6.

Where the source prints only a few digits, the expected value is the exact fraction worked out
by hand from the source's own data and formulas; each test also checks that our value rounds
to the printed figure, so a wrong fraction cannot hide.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest

from labelkitchen.agreement import (
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
    scott_pi,
)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers
# (A-D, rows here) x 12 units, values 1-5, None where an observer gave no value.
KRIPPENDORFF_2011_BY_OBSERVER = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
KRIPPENDORFF_2011 = [list(unit) for unit in zip(*KRIPPENDORFF_2011_BY_OBSERVER, strict=True)]

# The Wikipedia "Krippendorff's alpha" example (3 coders x 15 units), also the krippendorff
# package's own test data (0.691358 nominal, 0.810845 interval).
WIKIPEDIA_ALPHA_BY_CODER = [
    [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
    [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
    [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],
]
WIKIPEDIA_ALPHA = [list(unit) for unit in zip(*WIKIPEDIA_ALPHA_BY_CODER, strict=True)]


def _units_from_counts(counts: list[list[int]]) -> list[list[int]]:
    """Ratings rows from a subjects x categories count table (category k is the label k)."""
    return [[k for k, n in enumerate(row) for _ in range(n)] for row in counts]


def _pairs_from_table(table: list[list[int]]) -> tuple[list[int], list[int]]:
    """Two coders' label lists from a contingency table (rows: coder a, columns: coder b)."""
    a: list[int] = []
    b: list[int] = []
    for i, row in enumerate(table):
        for j, n in enumerate(row):
            a += [i] * n
            b += [j] * n
    return a, b


# Wikipedia "Fleiss' kappa", worked example: 10 subjects x 5 categories, 14 raters each.
# P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Fleiss (1971), 30 patients x 6 psychiatrists, 5 diagnoses; as distributed in R's irr
# package (`diagnoses`), whose kappam.fleiss gives 0.4302445 (Fleiss 1971: 0.430).
FLEISS_1971_DIAGNOSES = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]  # fmt: skip

# Gwet (2014), Handbook of Inter-Rater Reliability, 4th ed.: 5 observers x 15 units on a
# 0-3 scale with missing scores (R/Python irrCAC `raw_5observers`): AC1 0.497, kappa 0.458.
GWET_5_OBSERVERS_BY_OBSERVER = [
    [1, 1, 2, None, 0, 0, 1, 1, 2, 2, None, 0, 1, 3, 1],
    [1, 1, 3, 0, 0, 0, 0, None, 2, 1, 1, 0, 2, 3, 1],
    [2, 0, 3, 0, 0, 0, 2, 2, 2, 1, 0, 0, 2, 2, 1],
    [None, 1, 3, None, None, None, None, 0, None, 1, 0, 0, 2, 2, None],
    [2, None, None, 0, 0, 0, 1, None, 2, None, None, None, None, 3, 1],
]
GWET_5_OBSERVERS = [list(unit) for unit in zip(*GWET_5_OBSERVERS_BY_OBSERVER, strict=True)]

# R irr's `anxiety` data (20 subjects, 3 raters, scores 1-6), raters 2 and 3; kappa2 gives
# -0.006289308 unweighted, 0.1459075 "equal" (linear), 0.2520325 "squared" (quadratic).
# Score 5 is unused, and irr, like us, ranks the scores that occur.
ANXIETY_RATER_2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4]
ANXIETY_RATER_3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]


@pytest.mark.parametrize(
    ("level", "exact", "printed"),
    [
        ("nominal", Fraction(113, 152), 0.743),
        ("ordinal", Fraction(108577, 133160), 0.815),
        ("interval", Fraction(951, 1120), 0.849),
        ("ratio", Fraction(18222619, 22852465), 0.797),
    ],
)
def test_krippendorff_alpha_matches_krippendorff_2011(
    level: Any, exact: Fraction, printed: float
) -> None:
    value = krippendorff_alpha(KRIPPENDORFF_2011, level=level)
    assert value == pytest.approx(float(exact), abs=1e-9)
    assert round(value, 3) == printed


@pytest.mark.parametrize(("level", "expected"), [("nominal", 0.691358), ("interval", 0.810845)])
def test_krippendorff_alpha_matches_wikipedia_example(level: Any, expected: float) -> None:
    value = krippendorff_alpha(WIKIPEDIA_ALPHA, level=level)
    assert value == pytest.approx(expected, abs=1e-6)


def test_fleiss_kappa_matches_wikipedia_example() -> None:
    value = fleiss_kappa(_units_from_counts(WIKIPEDIA_FLEISS))
    assert value == pytest.approx(float(Fraction(4211, 20059)), abs=1e-9)
    assert round(value, 3) == 0.210


def test_fleiss_kappa_matches_fleiss_1971_diagnoses() -> None:
    assert fleiss_kappa(FLEISS_1971_DIAGNOSES) == pytest.approx(0.4302445, abs=1e-6)


@pytest.mark.parametrize(
    ("metric", "exact", "printed"),
    [
        # Gwet (2014) ch. 2 and 4, on Krippendorff's data; irrCAC prints 5 digits.
        (percent_agreement, Fraction(9, 11), 0.81818),
        (fleiss_kappa, Fraction(7343, 9647), 0.76117),
        (gwet_ac1, Fraction(31825, 41041), 0.77544),
    ],
)
def test_gwet_handbook_coefficients_on_krippendorffs_data(
    metric: Callable[..., float], exact: Fraction, printed: float
) -> None:
    value = metric(KRIPPENDORFF_2011)
    assert value == pytest.approx(float(exact), abs=1e-9)
    assert round(value, 5) == printed


@pytest.mark.parametrize(
    ("weights", "exact", "printed"),
    [("linear", Fraction(6225, 7249), 0.859), ("quadratic", Fraction(17685, 19349), 0.914)],
)
def test_gwet_ac2_matches_gwet_handbook(weights: Any, exact: Fraction, printed: float) -> None:
    value = gwet_ac1(KRIPPENDORFF_2011, weights=weights)
    assert value == pytest.approx(float(exact), abs=1e-9)
    assert round(value, 3) == printed


@pytest.mark.parametrize(
    ("metric", "exact", "printed"),
    [(gwet_ac1, Fraction(460831, 927931), 0.497), (fleiss_kappa, Fraction(131369, 287069), 0.458)],
)
def test_gwet_handbook_five_observers(
    metric: Callable[..., float], exact: Fraction, printed: float
) -> None:
    value = metric(GWET_5_OBSERVERS)
    assert value == pytest.approx(float(exact), abs=1e-9)
    assert round(value, 3) == printed


@pytest.mark.parametrize(
    ("table", "weights", "exact", "printed", "digits"),
    [
        # Wikipedia "Cohen's kappa": 50 grant proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15.
        ([[20, 5], [10, 15]], None, Fraction(2, 5), 0.4, 1),
        # SAS/STAT FREQ example as used in statsmodels' tests: kappa 0.4842, weighted 0.4701.
        ([[0, 4, 1], [0, 8, 0], [0, 1, 5]], None, Fraction(107, 221), 0.4842, 4),
        ([[0, 4, 1], [0, 8, 0], [0, 1, 5]], "linear", Fraction(118, 251), 0.4701, 4),
    ],
)
def test_cohen_kappa_matches_textbook_tables(
    table: list[list[int]], weights: Any, exact: Fraction, printed: float, digits: int
) -> None:
    a, b = _pairs_from_table(table)
    value = cohen_kappa(a, b, weights=weights)
    assert value == pytest.approx(float(exact), abs=1e-9)
    assert round(value, digits) == printed


@pytest.mark.parametrize(
    ("weights", "expected"),
    [(None, -0.006289308), ("linear", 0.1459075), ("quadratic", 0.2520325)],
)
def test_cohen_kappa_matches_r_irr_anxiety(weights: Any, expected: float) -> None:
    value = cohen_kappa(ANXIETY_RATER_2, ANXIETY_RATER_3, weights=weights)
    assert value == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("table", "exact", "printed", "digits"),
    [
        # Wikipedia "Scott's pi", worked example (Yes/No/Maybe, 45 items).
        ([[1, 2, 3], [4, 5, 6], [7, 8, 9]], Fraction(-4, 71), -0.056, 3),
        # Gwet (2014): 100 pregnancies x 2 abstractors (0.796); 223 patients x 2 methods (0.430).
        ([[13, 0, 0], [0, 20, 7], [0, 4, 56]], Fraction(8597, 10797), 0.796, 3),
        (
            [[40, 4, 4, 17], [6, 25, 2, 13], [4, 1, 21, 12], [15, 5, 9, 45]],
            Fraction(139, 323),
            0.430,
            3,
        ),
    ],
)
def test_scott_pi_matches_published_tables(
    table: list[list[int]], exact: Fraction, printed: float, digits: int
) -> None:
    a, b = _pairs_from_table(table)
    value = scott_pi(a, b)
    assert value == pytest.approx(float(exact), abs=1e-9)
    assert round(value, digits) == printed
