"""Log in and out; who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from labelkitchen.server import auth
from labelkitchen.server.deps import StoreDep, UserDep
from labelkitchen.server.errors import NotAuthenticated, TooManyAttempts
from labelkitchen.server.schemas import LoginIn, SessionOut
from labelkitchen.services import accounts

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/login", response_model=SessionOut)
def login(body: LoginIn, request: Request, store: StoreDep) -> Any:
    """Start a browser session (a signed, HttpOnly cookie). Returns the CSRF token to send."""
    throttle: auth.LoginThrottle = request.app.state.throttle
    address = request.client.host if request.client else "?"
    wait = throttle.retry_after(body.username, address)
    if wait > 0:
        seconds = int(wait) + 1
        raise TooManyAttempts(
            f"too many failed logins; try again in {seconds} s", retry_after=seconds
        )
    user = accounts.authenticate(store, username=body.username, password=body.password)
    if user is None:
        throttle.failed(body.username, address)
        raise NotAuthenticated("wrong username or password")
    throttle.succeeded(body.username, address)
    return {"user": user.public(), "csrf_token": auth.log_in(request, user)}


@router.post("/auth/logout", status_code=204)
def logout(request: Request) -> Response:
    auth.log_out(request)
    return Response(status_code=204)


@router.get("/me")
def me(user: UserDep, request: Request) -> dict[str, Any]:
    return {"user": user.public(), "csrf_token": auth.csrf_token(request)}
