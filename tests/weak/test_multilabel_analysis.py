"""lf_summary_per_label on a 5-record, 3-LF, 2-label example counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import LabelMatrix, lf_summary_per_label

# 1 present, 0 absent, -1 abstain; rows are records, columns the LFs a, b, c
BILLING = [[1, 1, -1], [1, 0, -1], [-1, -1, -1], [1, -1, -1], [-1, 0, -1]]
URGENT = [[-1, -1, 1], [-1, -1, 1], [-1, -1, 0], [-1, -1, -1], [-1, -1, -1]]
GOLD = {"billing": [1, 0, 0, 1, -1], "urgent": [1, 0, 0, 0, -1]}


@pytest.fixture
def matrices():
    return {
        "billing": LabelMatrix.from_dense(np.array(BILLING)),
        "urgent": LabelMatrix.from_dense(np.array(URGENT)),
    }


def test_one_row_per_lf_and_label_it_voted_on(matrices):
    summary = lf_summary_per_label(matrices, GOLD, lf_names=["a", "b", "c"])
    assert [(row.label, row.name) for row in summary.rows] == [
        ("billing", "a"),
        ("billing", "b"),
        ("urgent", "c"),
    ]
    a, b, c = summary.rows
    assert (a.polarity, b.polarity, c.polarity) == ((1,), (0, 1), (0, 1))
    assert (a.coverage, b.coverage, c.coverage) == (3 / 5, 3 / 5, 3 / 5)


def test_overlaps_and_conflicts_stay_within_a_label(matrices):
    a, b, c = lf_summary_per_label(matrices, lf_names=["a", "b", "c"]).rows
    assert (a.overlaps, a.conflicts, a.conflicts_most_with) == (2 / 5, 1 / 5, "b")
    assert (b.overlaps, b.conflicts, b.conflicts_most_with) == (2 / 5, 1 / 5, "a")
    assert (c.overlaps, c.conflicts, c.conflicts_most_with) == (0.0, 0.0, None)
    summary = lf_summary_per_label(matrices, lf_names=["a", "b", "c"])
    assert summary.conflict_counts.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 0]]


def test_accuracy_per_label_against_gold(matrices):
    a, b, c = lf_summary_per_label(matrices, GOLD, lf_names=["a", "b", "c"]).rows
    assert (a.correct, a.incorrect) == (2, 1)
    assert (b.correct, b.incorrect) == (2, 0)  # record 4 has no gold
    assert (c.correct, c.incorrect) == (2, 1)
    assert a.precision == {0: None, 1: 2 / 3}


def test_gold_must_cover_every_label(matrices):
    with pytest.raises(InvalidInput, match="no gold for label 'urgent'"):
        lf_summary_per_label(matrices, {"billing": GOLD["billing"]})


def test_matrices_must_share_a_shape(matrices):
    short = {**matrices, "urgent": LabelMatrix.from_dense(np.array(URGENT[:4]))}
    with pytest.raises(InvalidInput, match="one shape"):
        lf_summary_per_label(short)
