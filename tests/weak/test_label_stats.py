from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labelkitchen.weak import LabelMatrix, compute_stats, merge_stats
from labelkitchen.weak.stats import expand_to_records

matrices = hnp.arrays(
    dtype=np.int64,
    shape=st.tuples(st.integers(1, 30), st.integers(1, 5)),
    elements=st.integers(min_value=-1, max_value=2),
)


def test_stats_count_distinct_rows(tiny_dense):
    doubled = np.vstack([tiny_dense, tiny_dense[:2]])
    stats = compute_stats(doubled)
    assert stats.n_unique == 6
    assert stats.n_records == 8


@given(matrices, st.integers(0, 30))
@settings(max_examples=50)
def test_stats_of_partitions_sum_to_stats_of_whole(dense, cut):
    cut = min(cut, dense.shape[0])
    parts = [compute_stats(dense[:cut]), compute_stats(dense[cut:])]
    assert merge_stats(parts) == compute_stats(dense)


def test_plus_merges_stats(tiny_dense):
    assert compute_stats(tiny_dense[:3]) + compute_stats(tiny_dense[3:]) == compute_stats(
        tiny_dense
    )


def test_overlaps_equal_one_hot_product(tiny_L):
    one_hot = tiny_L.one_hot(2)
    expected = (one_hot.T @ one_hot).toarray()
    assert np.array_equal(compute_stats(tiny_L).overlaps(2), expected)


def test_expand_maps_each_record_to_its_row(tiny_dense):
    stats, inverse = expand_to_records(np.vstack([tiny_dense, tiny_dense]))
    assert np.array_equal(stats.rows[inverse], np.vstack([tiny_dense, tiny_dense]))


def test_stats_of_a_sparse_matrix_equal_those_of_its_dense_form(tiny_L, tiny_dense):
    assert compute_stats(tiny_L) == compute_stats(LabelMatrix.from_dense(tiny_dense))


# the hashed path of compute_stats (one block): same statistics as the exact sort of rows


def _exact(dense):
    from labelkitchen.weak.stats import _unique_rows

    return _unique_rows(np.asarray(dense, dtype=np.int8))


@given(matrices)
@settings(max_examples=60, deadline=None)
def test_hashed_stats_equal_the_exact_sort_of_rows(dense):
    doubled = np.vstack([dense, dense[::2]])  # some rows repeat, some do not
    assert compute_stats(doubled) == _exact(doubled)
    assert compute_stats(dense) == _exact(dense)


@given(matrices)
@settings(max_examples=40, deadline=None)
def test_stats_matrix_holds_the_distinct_rows(dense):
    stats = compute_stats(np.vstack([dense, dense[:3]]))
    assert np.array_equal(stats.matrix().to_dense(), stats.rows)


def test_all_distinct_rows_keep_the_records_order(tiny_dense):
    stats = compute_stats(tiny_dense)
    assert np.array_equal(stats.rows, tiny_dense)
    assert stats.counts.tolist() == [1] * len(tiny_dense)


def test_a_hash_collision_falls_back_to_the_exact_sort(tiny_dense):
    from labelkitchen.weak.stats import _hash_table, _hashed_unique_rows

    L = LabelMatrix.from_dense(np.vstack([tiny_dense, tiny_dense[:2]]))
    colliding = np.zeros_like(_hash_table(L.n_lfs))  # every row hashes to zero
    stats = _hashed_unique_rows(L, colliding)
    assert stats == _exact(L.to_dense())
    assert stats.n_unique == 6
    assert np.array_equal(stats.matrix().to_dense(), stats.rows)
