"""The label models, importable from one place; importing this module registers them all.

========================  ==========================================================
``majority_vote.v1``      :class:`MajorityVote`, the baseline
``weighted_vote.v1``      :class:`WeightedVote`, accuracy-weighted (one-coin) vote
``dawid_skene.v1``        :class:`DawidSkene`, per-source confusion matrices by EM
``matrix_completion.v1``  :class:`MatrixCompletion`, Snorkel-style moment matching
``label_model.v1``        :class:`LabelModel`, the recommended default (chooses on dev)
========================  ==========================================================
"""

from __future__ import annotations

from pathlib import Path

from labelkitchen.weak.dawid_skene import DawidSkene
from labelkitchen.weak.label_model import LabelModel
from labelkitchen.weak.majority import MajorityVote
from labelkitchen.weak.matrix_completion import MatrixCompletion
from labelkitchen.weak.model_base import BaseLabelModel, model_from_state, read_state
from labelkitchen.weak.registry import available_models, get_model, register_model
from labelkitchen.weak.weighted_vote import WeightedVote


def load_model(path: str | Path) -> BaseLabelModel:
    """Read any label model written by ``save(path)``; its class comes from ``model.json``."""
    document, arrays = read_state(path)
    return model_from_state(document, arrays)


__all__ = [
    "BaseLabelModel",
    "DawidSkene",
    "LabelModel",
    "MajorityVote",
    "MatrixCompletion",
    "WeightedVote",
    "available_models",
    "get_model",
    "load_model",
    "register_model",
]
