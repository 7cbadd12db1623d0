"""A model folder served alone (``labelkitchen model serve DIR``): the same ``/predict``.

Serves either kind of exported model: the text baseline answers ``{"label"|"labels", "probs"}``
per text, the span tagger ``{"spans": [{"start", "end", "label", "score"}, ...]}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from labelkitchen.errors import InvalidInput
from labelkitchen.learn import load_model, model_kind
from labelkitchen.learn.artifacts import predict_answers

MAX_CHARS = 1_000_000


class PredictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str] = Field(min_length=1, max_length=1000)


def create_model_app(directory: Path) -> FastAPI:
    """Serve the exported model in ``directory`` (``model.json``, its weights, the card)."""
    kind = model_kind(directory)
    model = load_model(directory)
    card_path = directory / "card.json"
    card: dict[str, Any] = json.loads(card_path.read_text()) if card_path.exists() else {}
    app = FastAPI(
        title=f"labelkitchen model {card.get('project', '')}".strip(), openapi_url="/openapi.json"
    )

    @app.exception_handler(InvalidInput)
    async def invalid(request: Any, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "kind": kind, "labels": model.label_names_, "card": card}

    @app.post("/predict")
    def predict(body: PredictIn) -> dict[str, Any]:
        for index, text in enumerate(body.texts):
            if not text.strip() or len(text) > MAX_CHARS:
                raise InvalidInput(
                    f"texts[{index}]: expected a non-empty string of at most "
                    f"{MAX_CHARS:,} characters"
                )
        return {"predictions": predict_answers(model, body.texts)}

    return app


__all__ = ["create_model_app"]
