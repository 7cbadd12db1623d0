"""Domain errors to HTTP status, in one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
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
