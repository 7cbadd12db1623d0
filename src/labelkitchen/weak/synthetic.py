"""Random label matrices with known truth, for stress-testing label models.

A label model is judged on data it was not tuned on. Three WRENCH sets are too few for that, so
:func:`random_label_matrix` draws a whole population of labelling-function sets from one seed:
the number of classes, how skewed the class balance is, how many LFs there are, whether they
vote one class each (keyword rules), any class (classifiers, crowd workers) or a mix, and
whether some are near-copies of others (two keyword lists that share most words). The copies
break the conditional independence every simple label model assumes; real LF sets break it the
same way.

Each LF has an accuracy (the share of its votes that are right) drawn from ``accuracy`` and a
coverage drawn from ``coverage``. A one-sided LF votes its class ``c`` on a record of class
``c`` with probability ``coverage * accuracy / p_c`` and on any other record with probability
``coverage * (1 - accuracy) / (1 - p_c)`` (clipped at 1, so a rare class caps what its LFs can
do); a two-sided LF fires on a share ``coverage`` of the records and votes the true class with
probability ``accuracy``, otherwise another class uniformly. A copy keeps each vote of the LF it
copies with probability ``copy_keep`` and abstains elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput

Kind = Literal["one-sided", "two-sided", "mixed"]
KINDS: tuple[Kind, ...] = ("one-sided", "two-sided", "mixed")
CONCENTRATIONS = (0.7, 1.5, 3.0, 10.0)
"""Dirichlet concentrations the class balance is drawn with (0.7: often one dominant class)."""


@dataclass(frozen=True)
class SyntheticLabels:
    """A drawn label matrix: ``L`` (records x LFs, ``-1`` = abstain), the true labels ``y``,
    the class balance they were drawn from, and how the set was made."""

    L: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    n_classes: int
    balance: npt.NDArray[np.float64]
    kind: Kind
    correlated: bool
    copy_of: npt.NDArray[np.int64]
    """Per LF, the LF it is a near-copy of, or ``-1``."""

    @property
    def description(self) -> str:
        copies = ", with copies" if self.correlated else ""
        return f"k={self.n_classes}, {self.L.shape[1]} LFs, {self.kind}{copies}"


def random_label_matrix(
    seed: int,
    *,
    n_records: int = 3000,
    n_classes: int | None = None,
    n_lfs: int | None = None,
    kind: Kind | None = None,
    correlated: bool | None = None,
    concentration: float | None = None,
    accuracy: tuple[float, float] = (0.5, 0.95),
    coverage: tuple[float, float] = (0.01, 0.4),
    copy_share: float = 0.3,
    copy_keep: float = 0.8,
) -> SyntheticLabels:
    """Draw one label matrix; every argument left ``None`` is drawn from ``seed`` too
    (2 to 6 classes, 6 to 29 LFs, any kind, copies in half the sets, a concentration from
    :data:`CONCENTRATIONS`). See the module documentation for the model."""
    if n_records < 1:
        raise InvalidInput(f"n_records must be at least 1, got {n_records}")
    if not 0.0 <= accuracy[0] <= accuracy[1] <= 1.0 or not 0.0 < coverage[0] <= coverage[1] <= 1:
        raise InvalidInput("accuracy and coverage are (low, high) ranges within (0, 1]")
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7)) if n_classes is None else n_classes
    m = int(rng.integers(6, 30)) if n_lfs is None else n_lfs
    if k < 2 or m < 1:
        raise InvalidInput(f"need at least 2 classes and 1 LF, got {k} and {m}")
    alpha = float(rng.choice(CONCENTRATIONS)) if concentration is None else concentration
    balance = np.clip(rng.dirichlet(np.full(k, alpha)), 0.02, None)
    balance /= balance.sum()
    drawn_kind: Kind = KINDS[int(rng.integers(0, 3))] if kind is None else kind
    if drawn_kind not in KINDS:
        raise InvalidInput(f"kind must be one of {KINDS}, got {drawn_kind!r}")
    copies = bool(rng.random() < 0.5) if correlated is None else correlated
    y = rng.choice(k, n_records, p=balance)
    L = np.full((n_records, m), -1, dtype=np.int64)
    copy_of = np.full(m, -1, dtype=np.int64)
    for j in range(m):
        acc = rng.uniform(*accuracy)
        cov = rng.uniform(*coverage)
        one_sided = drawn_kind == "one-sided" or (drawn_kind == "mixed" and rng.random() < 0.5)
        if copies and j > 0 and rng.random() < copy_share:
            source = int(rng.integers(0, j))
            keep = rng.random(n_records) < copy_keep
            L[:, j] = np.where(keep, L[:, source], -1)
            copy_of[j] = source
            continue
        if one_sided:
            c = int(rng.integers(0, k))
            fire = np.where(y == c, cov * acc / balance[c], cov * (1.0 - acc) / (1.0 - balance[c]))
            L[rng.random(n_records) < np.clip(fire, 0.0, 1.0), j] = c
        else:
            fires = rng.random(n_records) < cov
            wrong = (y + rng.integers(1, k, n_records)) % k
            L[fires, j] = np.where(rng.random(n_records) < acc, y, wrong)[fires]
    return SyntheticLabels(
        L=L,
        y=y,
        n_classes=k,
        balance=balance,
        kind=drawn_kind,
        correlated=copies,
        copy_of=copy_of,
    )


__all__ = ["CONCENTRATIONS", "KINDS", "SyntheticLabels", "random_label_matrix"]
