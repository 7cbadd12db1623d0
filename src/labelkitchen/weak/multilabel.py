"""Multilabel weak supervision: one binary label model per label.

:func:`~labelkitchen.weak.apply.apply_multilabel_lfs` gives one binary matrix per label (``1``
present, ``0`` absent, abstain not stored); :func:`fit_per_label` fits a fresh model of the chosen
registered kind on each, and :func:`predict_proba_per_label` returns ``P(label present)`` as a
``records x labels`` array. :func:`lf_summary_per_label` is the LF analysis of the same
matrices: one row per LF and label it voted on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.linalg import block_diag

from labelkitchen.errors import InvalidInput
from labelkitchen.weak.analysis import LFStats, LFSummary, lf_summary
from labelkitchen.weak.matrix import LabelMatrix
from labelkitchen.weak.model_base import BaseLabelModel
from labelkitchen.weak.registry import get_model


def fit_per_label(
    L_by_label: Mapping[str, LabelMatrix],
    *,
    model: str = "label_model.v1",
    params: Mapping[str, Any] | None = None,
    L_dev_by_label: Mapping[str, LabelMatrix] | None = None,
    y_dev: Mapping[str, npt.ArrayLike] | None = None,
) -> dict[str, BaseLabelModel]:
    """Fit one binary ``model`` (a registered name) per label; dev gold per label optional."""
    cls = get_model(model)
    fitted: dict[str, BaseLabelModel] = {}
    for label, L in L_by_label.items():
        estimator = cls(**{**dict(params or {}), "n_classes": 2})
        if (L_dev_by_label is None) != (y_dev is None):
            raise InvalidInput("pass L_dev_by_label and y_dev together, or neither")
        if L_dev_by_label is not None and y_dev is not None:
            if label not in L_dev_by_label or label not in y_dev:
                raise InvalidInput(f"no dev votes or gold for label {label!r}")
            estimator.fit(L, L_dev=L_dev_by_label[label], y_dev=y_dev[label])
        else:
            estimator.fit(L)
        fitted[label] = estimator
    return fitted


def predict_proba_per_label(
    models: Mapping[str, BaseLabelModel], L_by_label: Mapping[str, LabelMatrix]
) -> npt.NDArray[np.float64]:
    """``records x labels`` probabilities that each label is present, labels in ``models``
    order."""
    missing = [label for label in models if label not in L_by_label]
    if missing:
        raise InvalidInput(f"no label matrix for {missing}; available: {sorted(L_by_label)}")
    columns = [models[label].predict_proba(L_by_label[label])[:, 1] for label in models]
    if not columns:
        return np.zeros((0, 0))
    return np.asarray(np.stack(columns, axis=1), dtype=np.float64)


def lf_summary_per_label(
    L_by_label: Mapping[str, LabelMatrix],
    y_by_label: Mapping[str, npt.ArrayLike] | None = None,
    *,
    lf_names: Sequence[str] | None = None,
) -> LFSummary:
    """:func:`~labelkitchen.weak.analysis.lf_summary` of each label's binary matrix (``0``
    absent, ``1`` present), one row per LF and label the LF voted on (``row.label``; classes 0
    and 1 in ``polarity``, ``precision`` and ``recall``). Overlaps, conflicts and near-copies
    are counted within a label: an LF saying "billing" and another saying "not urgent" do not
    conflict. Gold per label is ``1`` present, ``0`` absent, ``-1`` unknown. ``conflict_counts``
    is over the rows, zero between rows of different labels."""
    shapes = {L.shape for L in L_by_label.values()}
    if len(shapes) > 1:
        raise InvalidInput(f"every label's matrix must have one shape, got {sorted(shapes)}")
    rows: list[LFStats] = []
    blocks: list[npt.NDArray[np.int64]] = []
    n_records = next(iter(shapes))[0] if shapes else 0
    for label, L in L_by_label.items():
        y = None if y_by_label is None else y_by_label.get(label)
        if y_by_label is not None and y is None:
            raise InvalidInput(f"no gold for label {label!r}; labels with gold: {list(y_by_label)}")
        summary = lf_summary(L, y, lf_names=lf_names, n_classes=2)
        voted = [j for j, row in enumerate(summary.rows) if row.n_votes > 0]
        rows += [replace(summary.rows[j], label=label) for j in voted]
        blocks.append(summary.conflict_counts[np.ix_(voted, voted)])
    pairwise = np.asarray(block_diag(*blocks), dtype=np.int64) if blocks else np.zeros((0, 0))
    return LFSummary(tuple(rows), pairwise.astype(np.int64), n_records)


__all__ = ["fit_per_label", "lf_summary_per_label", "predict_proba_per_label"]
