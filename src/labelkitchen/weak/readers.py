"""Readers for label matrices made elsewhere: WRENCH JSON splits and Snorkel-style arrays."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.matrix import LabelMatrix


@dataclass(frozen=True)
class WrenchSplit:
    """One WRENCH split: record ids, texts, the label matrix ``L``, gold ``y`` and label names."""

    ids: tuple[str, ...]
    texts: tuple[str, ...]
    L: LabelMatrix
    y: npt.NDArray[np.int64]
    label_names: tuple[str, ...]

    def without(self, ids: set[str]) -> WrenchSplit:
        """This split without the records whose id is in ``ids`` (e.g. ``labeled_ids``)."""
        keep = np.array([i not in ids for i in self.ids], dtype=bool)
        positions = np.flatnonzero(keep)
        return WrenchSplit(
            ids=tuple(self.ids[i] for i in positions),
            texts=tuple(self.texts[i] for i in positions),
            L=self.L.take_records(positions),
            y=self.y[positions],
            label_names=self.label_names,
        )


def read_wrench(path: str | Path) -> WrenchSplit:
    """Read one WRENCH split file (``train.json``, ``valid.json`` or ``test.json``).

    The format maps string ids to ``{"label": int, "weak_labels": [int, ...], "data": {"text":
    str, ...}}`` with ``-1`` for abstain. Label names come from ``label.json`` beside the file
    when it exists, else ``"0"``, ``"1"``, ...
    """
    file = Path(path)
    document: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise InvalidInput(f"{file}: expected a JSON object mapping ids to examples")
    ids = tuple(document)
    rows: list[list[int]] = []
    texts: list[str] = []
    gold: list[int] = []
    for record_id in ids:
        example = document[record_id]
        if "weak_labels" not in example:
            raise InvalidInput(f"{file}: example {record_id!r} has no 'weak_labels'")
        rows.append([int(v) for v in example["weak_labels"]])
        data = example.get("data") or {}
        texts.append(str(data.get("text", "")))
        label = example.get("label")
        gold.append(-1 if label is None else int(label))
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise InvalidInput(f"{file}: examples have different numbers of weak labels {widths}")
    n_lfs = widths.pop() if widths else 0
    dense = np.array(rows, dtype=np.int64).reshape(len(rows), n_lfs)
    y = np.array(gold, dtype=np.int64)
    return WrenchSplit(ids, tuple(texts), LabelMatrix.from_dense(dense), y, _label_names(file, y))


def read_wrench_ids(path: str | Path, key: str = "labeled_ids") -> set[str]:
    """The ids listed under ``key`` in WRENCH's ``labeled_ids.json``."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return {str(i) for i in document.get(key, [])}


def read_snorkel_arrays(path: str | Path) -> tuple[LabelMatrix, npt.NDArray[np.int64] | None]:
    """Read an ``.npy`` (``L``) or ``.npz`` (``L`` and optional ``y`` / ``Y``) saved from Snorkel.

    Arrays are loaded with ``allow_pickle=False``.
    """
    file = Path(path)
    if file.suffix == ".npy":
        return LabelMatrix.from_dense(np.load(file, allow_pickle=False)), None
    with np.load(file, allow_pickle=False) as stored:
        names = list(stored.files)
        matrix_name = next((n for n in ("L", "L_train", "l") if n in names), None)
        if matrix_name is None:
            raise InvalidInput(f"{file}: no array named 'L' or 'L_train'; found {names}")
        gold_name = next((n for n in ("y", "Y", "y_train", "Y_train") if n in names), None)
        L = LabelMatrix.from_dense(stored[matrix_name])
        y = None if gold_name is None else np.asarray(stored[gold_name]).astype(np.int64)
    return L, y


def _label_names(file: Path, y: npt.NDArray[np.int64]) -> tuple[str, ...]:
    names_file = file.with_name("label.json")
    if names_file.is_file():
        mapping = json.loads(names_file.read_text(encoding="utf-8"))
        return tuple(str(mapping[str(i)]) for i in range(len(mapping)))
    k = int(y.max()) + 1 if y.size else 0
    return tuple(str(i) for i in range(k))


__all__ = ["WrenchSplit", "read_snorkel_arrays", "read_wrench", "read_wrench_ids"]
