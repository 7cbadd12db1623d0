"""Evaluation against gold: per-label precision, recall, F1, averages, confusion, the goal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.preprocessing import MultiLabelBinarizer


@dataclass(frozen=True)
class Evaluation:
    n: int
    labels: list[str]
    per_label: dict[str, dict[str, float]]  # label -> precision, recall, f1, support
    accuracy: float | None
    macro_f1: float
    micro_f1: float
    confusion: list[list[int]] | None  # classify only: rows true, columns predicted

    def metric(self, name: str, label: str | None = None) -> float | None:
        """A goal metric by name (``accuracy``, ``macro_f1``, ``micro_f1``, or per label
        ``precision``/``recall``/``f1``)."""
        if name in ("precision", "recall", "f1"):
            return None if label is None else self.per_label.get(label, {}).get(name)
        value = getattr(self, name, None)
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_predictions(
    truth: Sequence[Any], predicted: Sequence[Any], *, labels: Sequence[str], task: str
) -> Evaluation:
    """Compare predictions with gold (names, or lists of names for multilabel)."""
    names = list(labels)
    if task == "multilabel":
        binarizer = MultiLabelBinarizer(classes=names)
        y_true = binarizer.fit_transform(truth)
        y_pred = binarizer.transform(predicted)
        confusion = None
        accuracy = None
    else:
        y_true, y_pred = np.asarray(truth), np.asarray(predicted)
        confusion = confusion_matrix(y_true, y_pred, labels=names).tolist() if len(truth) else None
        accuracy = float(accuracy_score(y_true, y_pred)) if len(truth) else None
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=None if task == "multilabel" else names, zero_division=0
    )
    per_label = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    }
    macro = precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=None if task == "multilabel" else names,
        average="macro",
        zero_division=0,
    )[2]
    micro = precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=None if task == "multilabel" else names,
        average="micro",
        zero_division=0,
    )[2]
    return Evaluation(
        n=len(truth),
        labels=names,
        per_label=per_label,
        accuracy=accuracy,
        macro_f1=float(macro),
        micro_f1=float(micro),
        confusion=confusion,
    )


__all__ = ["Evaluation", "evaluate_predictions"]
