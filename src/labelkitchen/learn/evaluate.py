"""Evaluation against gold: per-label precision, recall, F1, averages, confusion, the goal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
)
from sklearn.preprocessing import MultiLabelBinarizer

from labelkitchen.errors import InvalidInput
from labelkitchen.learn.spans import span_tuples


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


@dataclass(frozen=True)
class SpanEvaluation(Evaluation):
    """Entity-level scores: a predicted span counts only when start, end and label all match a
    gold span exactly. ``n`` counts texts; ``accuracy`` and ``confusion`` are ``None``.
    Macro averages run over the labels that occur in the gold or the predictions."""

    micro_precision: float
    micro_recall: float
    macro_precision: float
    macro_recall: float
    n_true: int
    n_predicted: int


def evaluate_spans(
    truth: Sequence[Iterable[Any]], predicted: Sequence[Iterable[Any]], *, labels: Sequence[str]
) -> SpanEvaluation:
    """Compare predicted spans with gold spans, text by text (spans as dicts with ``start``,
    ``end``, ``label`` or as ``(start, end, label)`` triples; scores are ignored)."""
    if len(truth) != len(predicted):
        raise InvalidInput(f"{len(truth)} gold span lists but {len(predicted)} predicted")
    names = list(labels)
    for extra in (s[2] for spans in (*truth, *predicted) for s in span_tuples(spans)):
        if extra not in names:
            names.append(extra)
    tp: Counter[str] = Counter()
    n_true: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    for gold, guess in zip(truth, predicted, strict=True):
        wanted, found = set(span_tuples(gold)), set(span_tuples(guess))
        tp.update(s[2] for s in wanted & found)
        n_true.update(s[2] for s in wanted)
        n_pred.update(s[2] for s in found)
    per_label = {}
    for name in names:
        p, r, f = _prf(tp[name], n_pred[name], n_true[name])
        per_label[name] = {"precision": p, "recall": r, "f1": f, "support": n_true[name]}
    micro = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_true.values()))
    seen = [name for name in names if n_true[name] or n_pred[name]]
    macro = [
        float(np.mean([per_label[name][key] for name in seen])) if seen else 0.0
        for key in ("precision", "recall", "f1")
    ]
    return SpanEvaluation(
        n=len(truth),
        labels=names,
        per_label=per_label,
        accuracy=None,
        macro_f1=macro[2],
        micro_f1=micro[2],
        confusion=None,
        micro_precision=micro[0],
        micro_recall=micro[1],
        macro_precision=macro[0],
        macro_recall=macro[1],
        n_true=sum(n_true.values()),
        n_predicted=sum(n_pred.values()),
    )


def _prf(tp: int, n_predicted: int, n_true: int) -> tuple[float, float, float]:
    precision = tp / n_predicted if n_predicted else 0.0
    recall = tp / n_true if n_true else 0.0
    total = n_predicted + n_true
    return precision, recall, (2 * tp / total if total else 0.0)


__all__ = ["Evaluation", "SpanEvaluation", "evaluate_predictions", "evaluate_spans"]
