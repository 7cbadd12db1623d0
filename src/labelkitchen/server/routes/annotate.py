"""The annotation queue and answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from labelkitchen.server.deps import AccessDep, Slug, StoreDep, UserDep, resolve_access
from labelkitchen.server.schemas import AnnotationOut, AnswerIn, QueueRecordOut
from labelkitchen.services import annotate as service
from labelkitchen.services import train

router = APIRouter(prefix="/api/projects/{slug}", tags=["annotate"])


@router.get(
    "/queue/next",
    response_model=QueueRecordOut,
    responses={204: {"description": "Nothing left for you in this project."}},
)
def next_record(slug: Slug, request: Request) -> Any:
    """The next record reserved for you (the same one until you answer it or it expires)."""
    store, user, access = resolve_access(request, slug)
    record = service.next_record(store, access=access, user=user)
    if record is None:
        return Response(status_code=204)
    return JSONResponse(record)


@router.post("/records/{record_id}/annotations", status_code=201, response_model=AnnotationOut)
def annotate(slug: Slug, record_id: int, body: AnswerIn, request: Request) -> Any:
    """Answer a record: accept (with a value), reject, skip, or flag (with a reason)."""
    store, user, access = resolve_access(request, slug)
    stored = service.submit_answer(
        store,
        access=access,
        user=user,
        record_id=record_id,
        answer=service.Answer(**body.model_dump()),
    )
    if stored["created"] and train.maybe_schedule_retrain(store, project=access.project):
        worker = getattr(request.app.state, "worker", None)
        if worker is not None:
            worker.wake.set()  # the retraining runs on the worker thread, never in here
    return JSONResponse(stored, status_code=201 if stored["created"] else 200)


@router.post("/undo", response_model=QueueRecordOut)
def undo(access: AccessDep, user: UserDep, store: StoreDep) -> Any:
    """Give your last answered record back to you; your next answer on it replaces the old."""
    return service.undo_last(store, access=access, user=user)


@router.get("/history")
def history(
    access: AccessDep,
    user: UserDep,
    store: StoreDep,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """Your own current answers, newest first (keyset: pass the last annotation_id as before)."""
    return service.my_history(store, access=access, user=user, before=before, limit=limit)


@router.get("/progress")
def progress(access: AccessDep, user: UserDep, store: StoreDep) -> dict[str, Any]:
    return service.progress(store, access=access, user=user)
