"""Multilabel weak supervision: one binary label model per label.

:func:`~labelkitchen.weak.apply.apply_multilabel_lfs` gives one binary matrix per label (``1``
present, ``0`` absent, abstain not stored); :func:`fit_per_label` fits a fresh model of the chosen
registered kind on each, and :func:`predict_proba_per_label` returns ``P(label present)`` as a
``records x labels`` array.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
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


__all__ = ["fit_per_label", "predict_proba_per_label"]
