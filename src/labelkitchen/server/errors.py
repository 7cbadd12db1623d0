"""Domain errors to HTTP status, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from labelkitchen.errors import (
    Conflict,
    InvalidInput,
    LabelkitchenError,
    NotFitted,
    NotFound,
    PermissionDenied,
)


class NotAuthenticated(LabelkitchenError):
    """No valid session or token."""


class TooManyAttempts(LabelkitchenError):
    """Too many failed logins: wait ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


STATUS: list[tuple[type[Exception], int]] = [
    (TooManyAttempts, 429),
    (NotAuthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (NotFitted, 409),
    (LabelkitchenError, 400),
]


def status_of(exc: Exception) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def install(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        if isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

    async def busy(request: Request, exc: Exception) -> JSONResponse:
        if "locked" in str(exc) or "busy" in str(exc):
            return JSONResponse(
                {"detail": "the database is busy; retry"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        raise exc

    app.add_exception_handler(LabelkitchenError, domain_error)
    app.add_exception_handler(OperationalError, busy)


# --- the contract: which error statuses each operation documents, with one body schema -------

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "string",
            "title": "Detail",
            "description": "What was expected, what came, and what is available.",
        }
    },
}
_ERROR = {"$ref": "#/components/schemas/Error"}
_VALIDATION = {"$ref": "#/components/schemas/HTTPValidationError"}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
ERRORS: dict[int, dict[str, Any]] = {
    400: {
        "description": "The body could not be read (JSON that is not UTF-8, a broken upload).",
        "content": {"application/json": {"schema": _ERROR}},
    },
    401: {
        "description": "Not authenticated: no session or API token, or a token that is unknown, "
        "revoked or expired.",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": _ERROR}},
    },
    403: {
        "description": "Forbidden: your role does not allow this, or a browser request came "
        "without its CSRF token (X-CSRF-Token).",
        "content": {"application/json": {"schema": _ERROR}},
    },
    404: {
        "description": "Not found: no such project, record, user or token. A project you are not "
        "a member of answers the same.",
        "content": {"application/json": {"schema": _ERROR}},
    },
    409: {
        "description": "Conflict: the record already has all the answers it needs, the name is "
        "taken, or no model is trained yet.",
        "content": {"application/json": {"schema": _ERROR}},
    },
    422: {
        "description": "Invalid input. When the request does not match this spec (a wrong type, a "
        "missing field, an id out of range) `detail` is a list of problems, each with `loc`, "
        "`msg` and `type` (FastAPI's validation error); when it matches but a value is not "
        "acceptable (an unknown label, a flag without a reason) `detail` is one message.",
        "content": {"application/json": {"schema": {"anyOf": [_VALIDATION, _ERROR]}}},
    },
    429: {
        "description": "Too many failed logins for this name from this address.",
        "headers": _RETRY_AFTER,
        "content": {"application/json": {"schema": _ERROR}},
    },
    503: {
        "description": "The database is busy (another writer held it too long); retry.",
        "headers": _RETRY_AFTER,
        "content": {"application/json": {"schema": _ERROR}},
    },
}
# Operations anyone may call: they answer no 401 for a missing caller (login answers 401 for a
# wrong password, and 429 when throttled).
PUBLIC = {("post", "/api/auth/logout"): (), ("post", "/api/auth/login"): (401, 429, 422)}
_UNSAFE = {"post", "put", "patch", "delete"}


def error_statuses(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an API operation can answer, from what every route shares.

    Every operation may find the database busy (503). Callers: an operation needs one (401)
    unless it is public. Roles: anything that writes, or works inside a project, checks a role
    (403; writes from a browser also check the CSRF token). A path with parameters names
    something that may not exist (404). Writes may conflict (409) and may be refused by the
    services (422), as may any operation that takes parameters; a body that cannot be read as
    text is a 400.
    """
    if (method, path) in PUBLIC:
        return sorted(
            {*PUBLIC[(method, path)], 503} | ({400} if "requestBody" in operation else set())
        )
    found = {401, 503}
    has_params = bool(operation.get("parameters")) or "requestBody" in operation
    if method in _UNSAFE or "{slug}" in path or path.startswith("/api/users"):
        found.add(403)
    if "{" in path:
        found.add(404)
    if method in _UNSAFE:
        found |= {409, 422}
    if has_params:
        found.add(422)
    if "requestBody" in operation:
        found.add(400)
    return sorted(found)


def describe_errors(spec: dict[str, Any], *, models: Sequence[type[BaseModel]] = ()) -> None:
    """Add the shared error responses to every ``/api/`` operation of ``spec`` (in place)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for model in models:
        schemas.setdefault(
            model.__name__, model.model_json_schema(ref_template="#/components/schemas/{model}")
        )
    for path, operations in spec.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in error_statuses(method, path, operation):
                responses[str(status)] = ERRORS[status]


def document(app: FastAPI, *, models: Sequence[type[BaseModel]] = ()) -> None:
    """Make ``app.openapi()`` describe the error responses too (see :func:`describe_errors`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = build()
            describe_errors(spec, models=models)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
