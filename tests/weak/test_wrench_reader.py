from __future__ import annotations

import json

import numpy as np
import pytest

from labelkitchen.errors import InvalidInput
from labelkitchen.weak import read_snorkel_arrays, read_wrench


def write_split(folder, examples):
    (folder / "label.json").write_text(json.dumps({"0": "ham", "1": "spam"}))
    path = folder / "train.json"
    path.write_text(json.dumps(examples))
    return path


def test_reads_texts_matrix_gold_and_label_names(tmp_path):
    path = write_split(
        tmp_path,
        {
            "0": {"label": 1, "weak_labels": [1, -1], "data": {"text": "buy now"}},
            "1": {"label": 0, "weak_labels": [-1, 0], "data": {"text": "hello"}},
        },
    )
    split = read_wrench(path)
    assert split.texts == ("buy now", "hello")
    assert split.L.to_dense().tolist() == [[1, -1], [-1, 0]]
    assert split.y.tolist() == [1, 0]
    assert split.label_names == ("ham", "spam")


def test_without_drops_listed_ids(tmp_path):
    path = write_split(
        tmp_path,
        {str(i): {"label": 0, "weak_labels": [0], "data": {"text": str(i)}} for i in range(3)},
    )
    assert read_wrench(path).without({"1"}).ids == ("0", "2")


def test_missing_weak_labels_are_reported(tmp_path):
    path = write_split(tmp_path, {"0": {"label": 0, "data": {"text": "x"}}})
    with pytest.raises(InvalidInput, match="weak_labels"):
        read_wrench(path)


def test_reads_snorkel_npz_without_pickle(tmp_path):
    np.savez(tmp_path / "arrays.npz", L=np.array([[0, -1], [1, 1]]), Y=np.array([0, 1]))
    L, y = read_snorkel_arrays(tmp_path / "arrays.npz")
    assert L.to_dense().tolist() == [[0, -1], [1, 1]]
    assert y.tolist() == [0, 1]
