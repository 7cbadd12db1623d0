"""A model folder served alone (``labelkitchen model serve DIR``): the same ``/predict``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from labelkitchen.errors import InvalidInput
from labelkitchen.learn import TextClassifier

MAX_CHARS = 1_000_000


class PredictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str] = Field(min_length=1, max_length=1000)


def create_model_app(directory: Path) -> FastAPI:
    """Serve the exported model in ``directory`` (``model.skops``, ``model.json``, card)."""
    model = TextClassifier.load(directory)
    card_path = directory / "card.json"
    card: dict[str, Any] = json.loads(card_path.read_text()) if card_path.exists() else {}
    key = "labels" if model.config.task == "multilabel" else "label"
    app = FastAPI(
        title=f"labelkitchen model {card.get('project', '')}".strip(), openapi_url="/openapi.json"
    )

    @app.exception_handler(InvalidInput)
    async def invalid(request: Any, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "labels": model.label_names_, "card": card}

    @app.post("/predict")
    def predict(body: PredictIn) -> dict[str, Any]:
        for index, text in enumerate(body.texts):
            if not text.strip() or len(text) > MAX_CHARS:
                raise InvalidInput(
                    f"texts[{index}]: expected a non-empty string of at most "
                    f"{MAX_CHARS:,} characters"
                )
        probs = model.predict_proba(body.texts)
        labels = model.predict(body.texts)
        return {
            "predictions": [
                {key: label, "probs": dict(zip(model.label_names_, map(float, row), strict=True))}
                for label, row in zip(labels, probs, strict=True)
            ]
        }

    return app


__all__ = ["create_model_app"]
