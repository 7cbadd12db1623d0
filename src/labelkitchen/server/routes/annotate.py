"""The annotation queue and answers.

``next`` and answering are what every annotator does all day, so those two routes are lean:
plain ``async`` functions that resolve the caller from a one-second cache (a miss is two
indexed reads, on the event loop), read and validate the body themselves (one cached pydantic
adapter over the raw bytes, errors shaped as FastAPI's own 422) and answer with orjson bytes.
The request and response models are still the documented contract (``AnswerIn``,
``QueueRecordOut``, ``AnnotationOut``); the service does the work in one hand-off to a worker
thread, as a plain ``def`` route would.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from labelkitchen.server.deps import (
    MAX_ID,
    AccessDep,
    RecordId,
    Slug,
    StoreDep,
    UserDep,
    resolve_access,
)
from labelkitchen.server.schemas import AnnotationOut, AnswerIn, QueueRecordOut
from labelkitchen.services import annotate as service
from labelkitchen.services import train
from labelkitchen.services.accounts import Access, User
from labelkitchen.store import Store

router = APIRouter(prefix="/api/projects/{slug}", tags=["annotate"])
T = TypeVar("T")

_ANSWER = TypeAdapter(AnswerIn)
_ANSWER_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AnswerIn"}}},
    }
}


async def in_worker(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run ``work(*args)`` on the app's annotation threads (``app.state.annotation_threads``).

    A plain executor hand-off: the database work of one request, off the event loop, for less
    than half of what AnyIO's general thread pool charges per call.
    """
    loop = asyncio.get_running_loop()
    threads = request.app.state.annotation_threads
    return await loop.run_in_executor(threads, functools.partial(work, *args))


def _json(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def _is_json(content_type: str) -> bool:
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


async def read_answer(request: Request) -> AnswerIn:
    """The body as ``AnswerIn``; a body that is not one is a 422 shaped as FastAPI's own."""
    body = await request.body()
    if not body:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    try:
        if _is_json(request.headers.get("content-type", "")):
            return _ANSWER.validate_json(body)
        return _ANSWER.validate_python(body)  # not JSON: refused as FastAPI refuses it
    except ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)
        ]
        raise RequestValidationError(errors, body=body) from None


@router.get(
    "/queue/next",
    response_model=QueueRecordOut,
    responses={204: {"description": "Nothing left for you in this project."}},
)
async def next_record(slug: Slug, request: Request) -> Response:
    """The next record reserved for you (the same one until you answer it or it expires)."""
    store, user, access = resolve_access(request, slug)
    record = await in_worker(request, _next, store, access, user)
    if record is None:
        return Response(status_code=204)
    return _json(record)


def _next(store: Store, access: Access, user: User) -> dict[str, Any] | None:
    return service.next_record(store, access=access, user=user)


@router.post(
    "/records/{record_id}/annotations",
    status_code=201,
    response_model=AnnotationOut,
    responses={
        200: {
            "model": AnnotationOut,
            "description": "The same answer again (a retried request): nothing new stored.",
        }
    },
    openapi_extra=_ANSWER_BODY,
)
async def annotate(slug: Slug, record_id: RecordId, request: Request) -> Response:
    """Answer a record: accept (with a value), reject, skip, or flag (with a reason)."""
    store, user, access = resolve_access(request, slug)
    body = await read_answer(request)
    answer = service.Answer(
        value=body.value,
        answer=body.answer,
        duration_ms=body.duration_ms,
        flag_reason=body.flag_reason,
        guidelines_version=body.guidelines_version,
    )
    stored, retrain = await in_worker(request, _submit, store, access, user, record_id, answer)
    if retrain:
        worker = getattr(request.app.state, "worker", None)
        if worker is not None:
            worker.wake.set()  # the retraining runs on the worker thread, never in here
    return _json(stored, status_code=201 if stored["created"] else 200)


def _submit(
    store: Store, access: Access, user: User, record_id: int, answer: service.Answer
) -> tuple[dict[str, Any], bool]:
    """Store the answer; and whether a retraining was just scheduled."""
    stored = service.submit_answer(
        store, access=access, user=user, record_id=record_id, answer=answer
    )
    retrain = stored["created"] and train.maybe_schedule_retrain(store, project=access.project)
    return stored, retrain is not None and retrain is not False


@router.post("/undo", response_model=QueueRecordOut)
def undo(access: AccessDep, user: UserDep, store: StoreDep) -> Any:
    """Give your last answered record back to you; your next answer on it replaces the old."""
    return service.undo_last(store, access=access, user=user)


@router.get("/history")
def history(
    access: AccessDep,
    user: UserDep,
    store: StoreDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """Your own current answers, newest first (keyset: pass the last annotation_id as before)."""
    return service.my_history(store, access=access, user=user, before=before, limit=limit)


@router.get("/progress")
def progress(access: AccessDep, user: UserDep, store: StoreDep) -> dict[str, Any]:
    return service.progress(store, access=access, user=user)
