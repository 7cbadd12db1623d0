"""The served model: predictions from the project's newest trained model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from labelkitchen.server.deps import AccessDep, StoreDep
from labelkitchen.services import train

router = APIRouter(prefix="/api/projects/{slug}", tags=["model"])


class PredictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str] = Field(min_length=1, max_length=1000)


class PredictOut(BaseModel):
    model_version: int
    predictions: list[dict[str, Any]]


@router.post("/predict", response_model=PredictOut)
def predict(body: PredictIn, access: AccessDep, store: StoreDep) -> Any:
    """Labels and class probabilities for up to 1,000 texts from the newest trained model."""
    _, version, _ = train.current_model(store, access.project)
    predictions = train.predict_texts(store, project=access.project, texts=body.texts)
    return {"model_version": version, "predictions": predictions}
