"""Model in the loop: baseline text models, the span tagger, evaluation, query strategies,
simulation.

Pure core over texts and arrays (scikit-learn, spaCy); no database, no printing.
"""

from labelkitchen.learn.artifacts import load_model, model_kind
from labelkitchen.learn.baseline import TextClassifier, TrainConfig
from labelkitchen.learn.evaluate import (
    Evaluation,
    SpanEvaluation,
    evaluate_predictions,
    evaluate_spans,
)
from labelkitchen.learn.spans import SpanConfig, SpanTagger, majority_spans
from labelkitchen.learn.strategies import available_strategies, get_strategy, select_batch

__all__ = [
    "Evaluation",
    "SpanConfig",
    "SpanEvaluation",
    "SpanTagger",
    "TextClassifier",
    "TrainConfig",
    "available_strategies",
    "evaluate_predictions",
    "evaluate_spans",
    "get_strategy",
    "load_model",
    "majority_spans",
    "model_kind",
    "select_batch",
]
