"""Suspected label errors: start a computation (a background job), read the stored queue.

Both are for reviewers (reviewers, owners, admins).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from labelkitchen.server.deps import AccessDep, StoreDep
from labelkitchen.services import label_errors

router = APIRouter(prefix="/api/projects/{slug}", tags=["review"])


class SuspectedErrorsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folds: int = Field(default=label_errors.DEFAULT_FOLDS, ge=2, le=20)
    random_state: int = Field(default=0, ge=0, description="Seed of the folds.")


@router.post("/review/suspected-errors", status_code=202)
def post_suspected_errors(
    request: Request, access: AccessDep, store: StoreDep, body: SuspectedErrorsIn | None = None
) -> dict[str, Any]:
    """Start computing the suspected-errors queue in the background.

    Answers ``{"job_id": int, "queued": bool}``; ``queued`` is false when a run was already
    queued or running (``job_id`` is that run). Poll the GET for ``status``.
    """
    body = body or SuspectedErrorsIn()
    started = label_errors.start_suspected_errors(
        store, access=access, folds=body.folds, random_state=body.random_state
    )
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake.set()  # the computation runs on the worker thread, never in here
    return asdict(started)


@router.get("/review/suspected-errors")
def get_suspected_errors(
    access: AccessDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Items to return.")] = 50,
) -> dict[str, Any]:
    """The stored suspected-errors queue, most suspect first.

    Answers::

        {"project": str,
         "status": "queued" | "running" | "done" | "failed" | null,   # the newest run; null: never
         "job_id": int | null, "error": str | null,        # error: why the newest run failed
         "computed_at": str | null,                         # ISO time of the run shown
         "n_records": int, "n_flagged": int, "folds": int | null,
         "items": [{"record_id": int, "external_id": str | null, "text": str,
                    "given": str | [str],                   # classify: a name; multilabel: names
                    "given_source": str,                    # gold method, or "annotators"
                    "suggested": str | [str],               # the model's label(s)
                    "score": float,                         # confidence in "given"; lower first
                    "rank": int,                            # 0: most suspect in the run
                    "reasons": ["confident_learning" | "near_duplicate", ...],
                    "neighbours": [int, ...]}]}             # near-duplicates labelled otherwise

    ``items`` come from the newest finished run; records re-reviewed since drop out.
    """
    return label_errors.suspected_errors(store, access=access, limit=limit).to_dict()
