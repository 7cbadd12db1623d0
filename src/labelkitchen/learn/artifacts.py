"""Model folders: which kind a folder holds, loading it as the right class, and the
``/predict`` answer every kind gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labelkitchen.errors import InvalidInput
from labelkitchen.learn.baseline import TextClassifier
from labelkitchen.learn.spans import KIND as SPAN_TAGGER
from labelkitchen.learn.spans import SpanTagger

TEXT_BASELINE = "text_baseline.v1"
Model = TextClassifier | SpanTagger
_LOADERS: dict[str, type[TextClassifier] | type[SpanTagger]] = {
    TEXT_BASELINE: TextClassifier,
    SPAN_TAGGER: SpanTagger,
}


def model_kind(directory: str | Path) -> str:
    """The ``kind`` written in a model folder's ``model.json``."""
    folder = Path(directory)
    try:
        meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput(f"{folder}: not a labelkitchen model folder (no model.json)") from exc
    kind = meta.get("kind") if isinstance(meta, dict) else None
    if kind not in _LOADERS:
        raise InvalidInput(f"{folder}: unknown model kind {kind!r}; known: {sorted(_LOADERS)}")
    return str(kind)


def load_model(directory: str | Path) -> Model:
    """Load a text baseline or a span tagger, whichever the folder holds."""
    return _LOADERS[model_kind(directory)].load(directory)


def predict_answers(model: Model, texts: list[str]) -> list[dict[str, Any]]:
    """Per text ``{"label", "probs"}`` (classify), ``{"labels", "probs"}`` (multilabel) or
    ``{"spans": [{"start", "end", "label", "score"}, ...]}`` (span tagger)."""
    if isinstance(model, SpanTagger):
        return [{"spans": spans} for spans in model.predict(texts)]
    probs = model.predict_proba(texts)
    predicted = model.labels_from_proba(probs) if texts else []
    names = model.label_names_
    key = "labels" if model.config.task == "multilabel" else "label"
    return [
        {key: label, "probs": {n: float(p) for n, p in zip(names, row, strict=True)}}
        for label, row in zip(predicted, probs, strict=True)
    ]


__all__ = ["SPAN_TAGGER", "TEXT_BASELINE", "Model", "load_model", "model_kind", "predict_answers"]
