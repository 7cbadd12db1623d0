"""Fixtures for the weak supervision core: tiny literal label matrices and the shared real data.

The 6 x 4 matrix below is small enough to check every statistic by eye:

    record  lf0  lf1  lf2  lf3   gold
    0        0    0   -1   -1    0
    1        1   -1    1   -1    1
    2        0    1   -1    0    0
    3       -1   -1   -1   -1    1
    4        1    1    0   -1    1
    5       -1    0   -1    1    0
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from labelkitchen.weak import LabelMatrix, read_wrench
from labelkitchen.weak.readers import WrenchSplit, read_wrench_ids

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

TINY_L = np.array(
    [
        [0, 0, -1, -1],
        [1, -1, 1, -1],
        [0, 1, -1, 0],
        [-1, -1, -1, -1],
        [1, 1, 0, -1],
        [-1, 0, -1, 1],
    ],
    dtype=np.int64,
)
TINY_Y = np.array([0, 1, 0, 1, 1, 0], dtype=np.int64)


@pytest.fixture
def tiny_dense() -> np.ndarray:
    return TINY_L.copy()


@pytest.fixture
def tiny_L() -> LabelMatrix:
    return LabelMatrix.from_dense(TINY_L)


@pytest.fixture
def tiny_y() -> np.ndarray:
    return TINY_Y.copy()


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared data not found: {path} (expected ../shared/data beside the repo)")
    return path


@pytest.fixture(scope="session")
def youtube() -> dict[str, WrenchSplit]:
    """WRENCH youtube: train without the appended labelled ids, valid, test."""
    folder = _need(DATA / "wrench_youtube")
    labeled = read_wrench_ids(folder / "labeled_ids.json")
    return {
        "train": read_wrench(folder / "train.json").without(labeled),
        "valid": read_wrench(folder / "valid.json"),
        "test": read_wrench(folder / "test.json"),
    }


@pytest.fixture(scope="session")
def bluebirds() -> tuple[np.ndarray, np.ndarray]:
    """Bluebirds crowd labels as a dense items x workers matrix, and the gold labels."""
    folder = _need(DATA / "crowd_bluebirds")
    labels = yaml.safe_load((folder / "labels.yaml").read_text())
    gold = yaml.safe_load((folder / "gt.yaml").read_text())
    items = sorted(gold)
    workers = sorted(labels)
    dense = np.array(
        [[int(labels[w][i]) if i in labels[w] else -1 for w in workers] for i in items],
        dtype=np.int64,
    )
    return dense, np.array([int(gold[i]) for i in items], dtype=np.int64)


@pytest.fixture(scope="session")
def rte() -> tuple[np.ndarray, np.ndarray]:
    """Snow et al. (2008) RTE crowd labels: 800 items x 164 workers, 10 labels per item."""
    import csv

    path = _need(DATA / "crowd_rte_snow2008" / "rte.standardized.tsv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    items = {v: i for i, v in enumerate(sorted({r["orig_id"] for r in rows}, key=int))}
    workers = {v: i for i, v in enumerate(sorted({r["!amt_worker_ids"] for r in rows}))}
    dense = np.full((len(items), len(workers)), -1, dtype=np.int64)
    gold = np.zeros(len(items), dtype=np.int64)
    for r in rows:
        dense[items[r["orig_id"]], workers[r["!amt_worker_ids"]]] = int(r["response"])
        gold[items[r["orig_id"]]] = int(r["gold"])
    return dense, gold
