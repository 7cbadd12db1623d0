"""Sanity checks on real crowd labels (../shared/data): Snow et al. 2008 RTE, the bluebirds.

Both are binary with many workers. Each unit here is a row over *all* workers with None where a
worker did not label the item, the layout the workbench passes, so most cells are missing.
"""

from __future__ import annotations

import csv
import math
from itertools import combinations
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest
import yaml

from labelkitchen.agreement import fleiss_kappa, krippendorff_alpha, percent_agreement

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RTE = DATA / "crowd_rte_snow2008" / "rte.standardized.tsv"
BLUEBIRDS = DATA / "crowd_bluebirds" / "labels.yaml"

pytestmark = pytest.mark.skipif(
    not (RTE.exists() and BLUEBIRDS.exists()), reason="shared crowd data not present"
)


def _wide(labels: dict[tuple[Any, Any], Any]) -> list[list[Any]]:
    """Units x workers rows from {(item, worker): label}, None where a worker gave none."""
    items = sorted({item for item, _ in labels})
    workers = sorted({worker for _, worker in labels})
    return [[labels.get((item, worker)) for worker in workers] for item in items]


def _rte() -> list[list[Any]]:
    # Header names start with "!"; labels are the strings "0"/"1"; gold is repeated per row.
    with RTE.open(newline="") as file:
        rows = list(csv.DictReader(file, delimiter="\t"))
    return _wide({(row["orig_id"], row["!amt_worker_ids"]): int(row["response"]) for row in rows})


def _bluebirds() -> list[list[Any]]:
    # YAML flow mappings worker -> {image: true/false}; keys load as ints, labels as bools.
    by_worker = yaml.safe_load(BLUEBIRDS.read_text())
    return _wide(
        {
            (image, worker): label
            for worker, row in by_worker.items()
            for image, label in row.items()
        }
    )


DATASETS = {"rte": _rte, "bluebirds": _bluebirds}


@pytest.fixture(scope="module", params=list(DATASETS), ids=list(DATASETS))
def ratings(request: pytest.FixtureRequest) -> list[list[Any]]:
    return DATASETS[request.param]()


def test_datasets_have_the_documented_shape(ratings: list[list[Any]]) -> None:
    n_ratings = sum(x is not None for unit in ratings for x in unit)
    assert (len(ratings), n_ratings) in {(800, 8000), (108, 4212)}


def test_alpha_equals_the_krippendorff_package(ratings: list[list[Any]]) -> None:
    reliability_data = np.array(
        [[np.nan if x is None else float(x) for x in unit] for unit in ratings]
    ).T
    reference = krippendorff.alpha(reliability_data, level_of_measurement="nominal")
    assert krippendorff_alpha(ratings) == pytest.approx(reference, abs=1e-9)


def test_alpha_and_fleiss_kappa_satisfy_the_complete_data_identity(
    ratings: list[list[Any]],
) -> None:
    # With the same number of ratings per unit (10 and 39 here) and n values in all,
    # alpha = 1 - (1 - kappa) (1 - 1/n): two independent code paths must agree.
    n_values = sum(x is not None for unit in ratings for x in unit)
    kappa = fleiss_kappa(ratings)
    assert krippendorff_alpha(ratings) == pytest.approx(
        1 - (1 - kappa) * (1 - 1 / n_values), abs=1e-12
    )


def test_percent_agreement_equals_counting_agreeing_pairs(ratings: list[list[Any]]) -> None:
    shares = []
    for unit in ratings:
        given = [x for x in unit if x is not None]
        pairs = list(combinations(given, 2))
        shares.append(sum(x == y for x, y in pairs) / len(pairs))
    assert percent_agreement(ratings) == pytest.approx(float(np.mean(shares)), abs=1e-12)


def test_crowd_agreement_is_moderate_not_degenerate(ratings: list[list[Any]]) -> None:
    kappa = fleiss_kappa(ratings)
    assert not math.isnan(kappa)
    assert 0.0 < kappa < 0.7
