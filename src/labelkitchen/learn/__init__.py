"""Model in the loop: baseline text models, evaluation, query strategies, simulation.

Pure core over texts and arrays (scikit-learn); no database, no printing.
"""

from labelkitchen.learn.baseline import TextClassifier, TrainConfig
from labelkitchen.learn.evaluate import Evaluation, evaluate_predictions
from labelkitchen.learn.strategies import available_strategies, get_strategy, select_batch

__all__ = [
    "Evaluation",
    "TextClassifier",
    "TrainConfig",
    "available_strategies",
    "evaluate_predictions",
    "get_strategy",
    "select_batch",
]
