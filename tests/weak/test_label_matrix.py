from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import ABSTAIN, LabelMatrix
from labelkitchen.weak.matrix import as_label_matrix

dense_matrices = hnp.arrays(
    dtype=np.int64,
    shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=12),
    elements=st.integers(min_value=-1, max_value=9),
)


@given(dense_matrices)
def test_dense_round_trip_is_lossless(dense):
    assert np.array_equal(LabelMatrix.from_dense(dense).to_dense(), dense)


@given(dense_matrices)
def test_triplet_round_trip_is_lossless(dense):
    matrix = LabelMatrix.from_dense(dense)
    rows, cols, labels = matrix.to_triplets()
    assert LabelMatrix.from_triplets(rows, cols, labels, shape=dense.shape) == matrix


def test_abstains_are_not_stored(tiny_L, tiny_dense):
    assert tiny_L.n_votes == int((tiny_dense != ABSTAIN).sum()) == 12


def test_to_dense_uses_minus_one_for_abstain(tiny_L):
    assert tiny_L.to_dense()[3].tolist() == [-1, -1, -1, -1]


def test_storage_is_int8_label_plus_one(tiny_L):
    csr = tiny_L.csr
    assert csr.dtype == np.int8
    assert csr[0, 0] == 1  # class 0 is stored as 1


def test_memory_is_at_most_16_bytes_per_vote():
    rng = np.random.default_rng(0)
    dense = np.where(rng.random((2000, 50)) < 0.1, rng.integers(0, 5, (2000, 50)), -1)
    matrix = LabelMatrix.from_dense(dense)
    assert matrix.nbytes / matrix.n_votes <= 16


def test_votes_per_record_and_per_lf(tiny_L):
    assert tiny_L.votes_per_record().tolist() == [2, 2, 3, 0, 3, 2]
    assert tiny_L.votes_per_lf().tolist() == [4, 4, 2, 2]


def test_from_triplets_drops_abstains():
    matrix = LabelMatrix.from_triplets([0, 1], [0, 0], [2, -1], shape=(2, 1))
    assert matrix.to_dense().tolist() == [[2], [-1]]


def test_from_triplets_rejects_a_repeated_pair():
    with pytest.raises(InvalidInput, match="more than once"):
        LabelMatrix.from_triplets([0, 0], [1, 1], [0, 1], shape=(1, 2))


@pytest.mark.parametrize("bad", [[[-2, 0]], [[0, 126]], [[0.5, 1]]])
def test_from_dense_rejects_bad_values(bad):
    with pytest.raises(InvalidInput):
        LabelMatrix.from_dense(np.array(bad))


def test_from_dense_rejects_a_vector():
    with pytest.raises(InvalidInput, match="2-D"):
        LabelMatrix.from_dense(np.array([0, 1]))


def test_raw_scipy_sparse_is_refused():
    import scipy.sparse as sp

    with pytest.raises(InvalidInput, match="LabelMatrix"):
        as_label_matrix(sp.csr_array(np.eye(2)))


def test_vstack_of_chunks_rebuilds_the_matrix(tiny_L):
    assert LabelMatrix.vstack(list(tiny_L.iter_chunks(4))) == tiny_L


def test_hstack_of_columns_rebuilds_the_matrix(tiny_L):
    parts = [tiny_L.take_lfs([j]) for j in range(tiny_L.n_lfs)]
    assert LabelMatrix.hstack(parts) == tiny_L


def test_take_records_keeps_order(tiny_L, tiny_dense):
    assert np.array_equal(tiny_L.take_records([5, 0]).to_dense(), tiny_dense[[5, 0]])


def test_one_hot_marks_lf_and_class(tiny_L):
    one_hot = tiny_L.one_hot(2).toarray()
    assert one_hot.shape == (6, 8)
    assert one_hot[2].tolist() == [1, 0, 0, 1, 0, 0, 1, 0]


def test_empty_matrix_has_no_votes():
    matrix = LabelMatrix.empty(3, 2)
    assert matrix.n_votes == 0
    assert matrix.to_dense().tolist() == [[-1, -1]] * 3
