"""span_lf_summary on three records and three span LFs, every figure counted by hand."""

from __future__ import annotations

import numpy as np
import pytest

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import SpanVotes, span_lf_summary

PER, LOC = 0, 1
# (record, lf, start, end, label); LFs a=0, b=1, c=2; record 2 has no spans
VOTES = [
    (0, 0, 0, 3, PER), (0, 0, 8, 11, PER), (0, 1, 0, 3, PER), (0, 2, 15, 19, LOC),
    (1, 0, 0, 5, PER), (1, 1, 0, 9, PER), (1, 2, 0, 5, LOC),
]  # fmt: skip
GOLD = [[(0, 3, PER), (8, 11, PER), (15, 19, LOC)], [(0, 5, LOC)], None]


@pytest.fixture
def votes():
    columns = np.array(VOTES, dtype=np.int64)
    return SpanVotes(
        n_records=3,
        n_lfs=3,
        records=columns[:, 0],
        lfs=columns[:, 1],
        starts=columns[:, 2],
        ends=columns[:, 3],
        labels=columns[:, 4],
    )


def test_coverage_overlaps_and_conflicts_over_records(votes):
    a, b, c = span_lf_summary(votes, lf_names="abc").rows
    assert (a.n_votes, b.n_votes, c.n_votes) == (3, 2, 2)
    assert (a.polarity, b.polarity, c.polarity) == ((PER,), (PER,), (LOC,))
    assert (a.coverage, a.overlaps, a.conflicts) == (2 / 3, 2 / 3, 1 / 3)
    assert (b.coverage, b.overlaps, b.conflicts) == (2 / 3, 2 / 3, 1 / 3)
    assert (c.coverage, c.overlaps, c.conflicts) == (2 / 3, 1 / 3, 1 / 3)


def test_identical_spans_overlap_without_conflict(votes):
    summary = span_lf_summary(votes, lf_names="abc")
    # record 0: a and b mark the same (0, 3, PER): an overlap, no conflict; record 1: all differ
    assert summary.conflict_counts.tolist() == [[0, 1, 1], [1, 0, 1], [1, 1, 0]]
    assert [row.conflicts_most_with for row in summary.rows] == ["b", "a", "a"]


def test_spans_judged_against_gold_by_exact_match(votes):
    a, b, c = span_lf_summary(votes, GOLD, lf_names="abc").rows
    assert (a.correct, a.incorrect, b.correct, b.incorrect) == (2, 1, 1, 1)
    assert (c.correct, c.incorrect, c.accuracy) == (2, 0, 1.0)
    assert a.precision == {PER: 2 / 3, LOC: None}
    assert a.recall == {PER: 1.0, LOC: 0.0}
    assert c.recall == {PER: 0.0, LOC: 1.0}


def test_spans_of_records_without_gold_are_not_judged(votes):
    unknown = [None, None, None]
    row = span_lf_summary(votes, unknown, lf_names="abc").rows[0]
    assert (row.correct, row.incorrect, row.accuracy) == (0, 0, None)


def test_gold_needs_one_entry_per_record(votes):
    with pytest.raises(InvalidInput, match="votes cover 3 records but gold has 2"):
        span_lf_summary(votes, GOLD[:2])
