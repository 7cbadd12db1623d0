"""The text baseline: fits, predicts, tunes thresholds, saves with skops and loads elsewhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labelkitchen.errors import InvalidInput, NotFitted
from labelkitchen.learn import TextClassifier, TrainConfig, evaluate_predictions

TEXTS = [
    "win free money now",
    "free prize click here",
    "cheap pills buy now",
    "lovely song",
    "great voice and lyrics",
    "I love this video",
] * 5
LABELS = ["spam", "spam", "spam", "ham", "ham", "ham"] * 5


@pytest.fixture(scope="module")
def model() -> TextClassifier:
    return TextClassifier().fit(TEXTS, LABELS, label_names=["spam", "ham"])


def test_predicts_the_obvious(model: TextClassifier) -> None:
    assert model.predict(["free money", "what a song"]) == ["spam", "ham"]


def test_probabilities_sum_to_one(model: TextClassifier) -> None:
    probs = model.predict_proba(["anything at all", "free"])
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1.0)


def test_unknown_label_is_explained() -> None:
    with pytest.raises(InvalidInput, match="unknown label 'eggs'"):
        TextClassifier().fit(["a", "b"], ["spam", "eggs"], label_names=["spam", "ham"])


def test_one_label_is_not_enough() -> None:
    with pytest.raises(InvalidInput, match="only one label"):
        TextClassifier().fit(["a", "b"], ["spam", "spam"], label_names=["spam", "ham"])


def test_unfitted_model_says_so() -> None:
    with pytest.raises(NotFitted):
        TextClassifier().predict(["x"])


def test_multilabel_with_dev_thresholds() -> None:
    texts = ["goal scored", "new phone chip", "match on a new phone", "election vote"] * 6
    labels = [["sport"], ["tech"], ["sport", "tech"], []] * 6
    model = TextClassifier(TrainConfig(task="multilabel")).fit(
        texts, labels, label_names=["sport", "tech"], dev_texts=texts[:8], dev_labels=labels[:8]
    )
    assert model.predict(["goal scored"])[0] == ["sport"]
    assert model.thresholds_.shape == (2,)


def test_saved_model_predicts_identically_in_another_process(
    model: TextClassifier, tmp_path: Path
) -> None:
    model.save(tmp_path / "m")
    assert not list((tmp_path / "m").glob("*.pkl"))
    texts = ["free money now", "nice song", "hello there"]
    here = model.predict_proba(texts).round(10).tolist()
    code = (
        "import json, sys\nfrom labelkitchen.learn import TextClassifier\n"
        f"m = TextClassifier.load({str(tmp_path / 'm')!r})\n"
        f"print(json.dumps(m.predict_proba({texts!r}).round(10).tolist()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert np.array(eval(out)).tolist() == here


def test_loading_refuses_foreign_types(tmp_path: Path) -> None:
    import skops.io as sio

    TextClassifier().fit(TEXTS, LABELS, label_names=["spam", "ham"]).save(tmp_path / "m")
    sio.dump({"features": object(), "model": None}, tmp_path / "m" / "model.skops")
    with pytest.raises(InvalidInput, match="refuses to load types"):
        TextClassifier.load(tmp_path / "m")


def test_evaluation_per_label_and_confusion() -> None:
    result = evaluate_predictions(
        ["spam", "spam", "ham"], ["spam", "ham", "ham"], labels=["spam", "ham"], task="classify"
    )
    assert result.per_label["spam"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    assert result.confusion == [[1, 1], [0, 1]]
    assert result.metric("precision", "ham") == 0.5
    assert result.accuracy == pytest.approx(2 / 3)


def test_many_records_switch_to_sgd_with_the_same_contract(tmp_path: Path) -> None:
    from sklearn.linear_model import SGDClassifier

    model = TextClassifier(TrainConfig(sgd_from=20)).fit(TEXTS, LABELS, label_names=["spam", "ham"])
    assert isinstance(model.model_, SGDClassifier)
    assert model.model_.alpha == pytest.approx(1 / (4.0 * len(TEXTS)))
    assert model.predict(["free money", "what a song"]) == ["spam", "ham"]
    probs = model.predict_proba(["free money"])
    assert np.allclose(probs.sum(axis=1), 1.0)
    loaded = TextClassifier.load(model.save(tmp_path / "m"))
    assert np.array_equal(loaded.predict_proba(["free money"]), probs)


def test_unknown_solver_lists_the_known() -> None:
    with pytest.raises(InvalidInput, match="available"):
        TrainConfig(solver="adam")
