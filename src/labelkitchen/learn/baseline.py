"""The text baseline: TF-IDF word and character n-grams with logistic regression.

``classify``: one multinomial logistic regression. ``multilabel``: one-vs-rest, with a decision
threshold per label tuned on dev to maximise that label's F1 (0.5 without dev data). Saved with
skops (never pickle), so a model can be shared.

The solver: full-batch L-BFGS fits the exact logistic regression and is the right choice up to
some thousands of records, but it needs a hundred or more passes over the data and its
per-iteration overhead grows with features x classes. From ``sgd_from`` training records on
(``solver="auto"``) the same model (log loss, the same L2 strength: ``alpha = 1 / (C * n)``) is
fitted by averaged stochastic gradient descent, one-vs-rest, in ``sgd_epochs`` passes (0, the
default: about 200,000 updates, at least 5 and at most 20 passes), which keeps 100,000 records
within a minute on one core.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion

from labelkitchen.errors import InvalidInput, NotFitted

FloatArray = npt.NDArray[np.float64]
FORMAT_VERSION = 1
SOLVERS = ("auto", "lbfgs", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of the baseline (stored with every trained model)."""

    task: str = "classify"
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    max_word_features: int = 200_000
    max_char_features: int = 300_000
    min_df: int = 1
    C: float = 4.0
    class_weight: str | None = "balanced"
    max_iter: int = 1000
    random_state: int = 0
    solver: str = "auto"
    sgd_from: int = 10_000
    sgd_epochs: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in ("classify", "multilabel"):
            raise InvalidInput(
                f"the text baseline trains classify or multilabel, not {self.task!r}"
            )
        if self.solver not in SOLVERS:
            raise InvalidInput(f"unknown solver {self.solver!r}; available: {list(SOLVERS)}")


class TextClassifier:
    """Baseline classifier over raw texts; labels are names, as in the project."""

    def __init__(self, config: TrainConfig | None = None) -> None:
        self.config = config or TrainConfig()

    # -- fitting -------------------------------------------------------------------------------

    def _features(self) -> FeatureUnion:
        c = self.config
        return FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(
                        ngram_range=c.word_ngrams,
                        sublinear_tf=True,
                        min_df=c.min_df,
                        max_features=c.max_word_features,
                        lowercase=True,
                        dtype=np.float32,
                    ),
                ),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=c.char_ngrams,
                        sublinear_tf=True,
                        min_df=c.min_df,
                        max_features=c.max_char_features,
                        lowercase=True,
                        dtype=np.float32,
                    ),
                ),
            ]
        )

    def _estimator(self, n_records: int) -> Any:
        c = self.config
        model: Any
        if c.solver == "sgd" or (c.solver == "auto" and n_records >= c.sgd_from):
            model = SGDClassifier(
                loss="log_loss",
                alpha=1.0 / (c.C * max(n_records, 1)),
                class_weight=c.class_weight,
                max_iter=c.sgd_epochs or min(20, max(5, math.ceil(200_000 / max(n_records, 1)))),
                tol=None,
                average=True,
                random_state=c.random_state,
            )
        else:
            model = LogisticRegression(
                C=c.C,
                class_weight=c.class_weight,
                max_iter=c.max_iter,
                random_state=c.random_state,
            )
        return OneVsRestClassifier(model) if c.task == "multilabel" else model

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[Any],
        *,
        label_names: Sequence[str],
        sample_weight: Sequence[float] | None = None,
        dev_texts: Sequence[str] | None = None,
        dev_labels: Sequence[Any] | None = None,
    ) -> TextClassifier:
        """Fit on ``texts``. ``labels``: a name per text (classify) or a list of names
        (multilabel). Dev data tunes multilabel thresholds."""
        if len(texts) != len(labels):
            raise InvalidInput(f"{len(texts)} texts but {len(labels)} labels")
        if not texts:
            raise InvalidInput("no training data: label some records first")
        self.label_names_ = list(label_names)
        y = self._encode(labels)
        if self.config.task == "classify" and len(np.unique(y)) < 2:
            raise InvalidInput(
                "the training data holds only one label; a classifier needs at least two"
            )
        self.features_ = self._features()
        X = self.features_.fit_transform(list(texts))
        _compact(self.features_)
        self.model_ = self._estimator(X.shape[0])
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if self.config.task == "multilabel":
            present = y.sum(axis=0) > 0
            if not present.any():
                raise InvalidInput("no positive label in the training data")
            self.model_.fit(X, y)
        else:
            self.model_.fit(X, y, sample_weight=weights)
        self.thresholds_ = np.full(len(self.label_names_), 0.5)
        if self.config.task == "multilabel" and dev_texts is not None and dev_labels:
            self.thresholds_ = self._tune_thresholds(dev_texts, dev_labels)
        return self

    def _encode(self, labels: Sequence[Any]) -> npt.NDArray[np.int64]:
        index = {name: i for i, name in enumerate(self.label_names_)}
        try:
            if self.config.task == "multilabel":
                y = np.zeros((len(labels), len(index)), dtype=np.int64)
                for row, names in enumerate(labels):
                    for name in names:
                        y[row, index[name]] = 1
                return y
            return np.array([index[name] for name in labels], dtype=np.int64)
        except KeyError as exc:
            raise InvalidInput(
                f"unknown label {exc.args[0]!r}; labels are {self.label_names_}"
            ) from None

    def _tune_thresholds(self, texts: Sequence[str], labels: Sequence[Any]) -> FloatArray:
        probs = self.predict_proba(texts)
        truth = self._encode(labels)
        thresholds = np.full(len(self.label_names_), 0.5)
        grid = np.linspace(0.05, 0.95, 19)
        for k in range(len(self.label_names_)):
            best, best_f1 = 0.5, -1.0
            for threshold in grid:
                predicted = probs[:, k] >= threshold
                tp = float(np.sum(predicted & (truth[:, k] == 1)))
                denominator = float(predicted.sum() + truth[:, k].sum())
                f1 = 2 * tp / denominator if denominator else 0.0
                if f1 > best_f1:
                    best, best_f1 = float(threshold), f1
            thresholds[k] = best
        return thresholds

    # -- predicting ----------------------------------------------------------------------------

    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFitted("the model is not trained yet; call fit first")

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The TF-IDF features (for diversity-aware batch selection)."""
        self._check()
        return self.features_.transform(list(texts))

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        """Class probabilities (classify: rows sum to one; multilabel: one per label)."""
        self._check()
        X = self.features_.transform(list(texts))
        probs = np.asarray(self.model_.predict_proba(X), dtype=np.float64)
        if self.config.task == "classify":
            full = np.zeros((probs.shape[0], len(self.label_names_)))
            full[:, self.model_.classes_] = probs  # labels absent from training stay at 0
            return full
        return probs

    def predict(self, texts: Sequence[str]) -> list[Any]:
        """Label names (classify) or lists of label names (multilabel)."""
        return self.labels_from_proba(self.predict_proba(texts))

    def labels_from_proba(self, probs: FloatArray) -> list[Any]:
        """What :meth:`predict` answers, from probabilities already computed: the top label
        (classify), or the labels at or above their thresholds (multilabel)."""
        self._check()
        if self.config.task == "classify":
            return [self.label_names_[i] for i in np.argmax(probs, axis=1)]
        return [
            [self.label_names_[k] for k in np.flatnonzero(row >= self.thresholds_)] for row in probs
        ]

    # -- persistence ---------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write ``model.skops`` and ``model.json`` (never pickle)."""
        import skops.io as sio

        self._check()
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        sio.dump({"features": self.features_, "model": self.model_}, folder / "model.skops")
        meta = {
            "format": FORMAT_VERSION,
            "kind": "text_baseline.v1",
            "config": asdict(self.config),
            "labels": self.label_names_,
            "thresholds": self.thresholds_.tolist(),
        }
        (folder / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, directory: str | Path) -> TextClassifier:
        """Read a model written by :meth:`save`, trusting only scikit-learn and numpy types."""
        import skops.io as sio

        folder = Path(directory)
        try:
            meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InvalidInput(f"{folder}: not a labelkitchen model folder") from exc
        if meta.get("kind") != "text_baseline.v1":
            raise InvalidInput(f"{folder}: unknown model kind {meta.get('kind')!r}")
        path = folder / "model.skops"
        untrusted = sio.get_untrusted_types(file=path)
        allowed = [t for t in untrusted if t.startswith(("sklearn.", "numpy.", "scipy."))]
        refused = sorted(set(untrusted) - set(allowed))
        if refused:
            raise InvalidInput(f"{path}: refuses to load types {refused}")
        parts = sio.load(path, trusted=allowed)
        config = dict(meta["config"])
        for key in ("word_ngrams", "char_ngrams"):
            config[key] = tuple(config[key])
        model = cls(TrainConfig(**config))
        model.features_ = parts["features"]
        model.model_ = parts["model"]
        model.label_names_ = list(meta["labels"])
        model.thresholds_ = np.asarray(meta["thresholds"], dtype=float)
        return model


def _compact(features: FeatureUnion) -> None:
    """Plain ints in the vocabularies and no ``stop_words_`` (kept by scikit-learn only for
    inspection): the saved model gets small and skops writes it in a fraction of a second."""
    for _, vectorizer in features.transformer_list:
        vectorizer.vocabulary_ = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
        if hasattr(vectorizer, "stop_words_"):
            del vectorizer.stop_words_


__all__ = ["TextClassifier", "TrainConfig"]
