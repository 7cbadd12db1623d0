"""``create_app(settings)``: the FastAPI app, its API, pages, static files and middleware.

Nothing is built at import time: the engine, the session key and the throttle all come from the
settings passed in, so tests build as many apps as they like.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from labelkitchen.server import errors
from labelkitchen.server.auth import LoginThrottle
from labelkitchen.server.routes import (
    annotate,
    auth,
    pages,
    predict,
    projects,
    records,
    review,
    users,
)
from labelkitchen.services import jobs, train
from labelkitchen.settings import Settings
from labelkitchen.store import Store

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent

# No inline script or style, no foreign origins: record text can never become code.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """Build the app. Pass ``store`` to share one (tests); else it opens ``settings``'s."""
    from labelkitchen import __version__

    settings = settings or Settings()
    store = store or Store.open(settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if settings.run_jobs:
            worker = jobs.Worker(store, {train.TRAIN_JOB: train.run_train_job})
            worker.start()
        app.state.worker = worker
        yield
        if worker is not None:
            worker.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="labelkitchen",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        description="The labelkitchen HTTP API. Scripts authenticate with "
        "`Authorization: Bearer TOKEN` (labelkitchen token create USER); the web pages use a "
        "session cookie plus an X-CSRF-Token header.",
    )
    app.state.store = store
    app.state.worker = None
    app.state.settings = settings
    app.state.throttle = LoginThrottle(
        attempts=settings.login_attempts, window=settings.login_lockout_seconds
    )
    key = settings.secret_key
    if key is None:
        key = secrets.token_urlsafe(32)
        logger.warning("no secret_key set: sessions end when the server restarts")
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie="labelkitchen_session",
        max_age=settings.session_days * 86_400,
        same_site="lax",
        https_only=settings.secure_cookies,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    errors.install(app)
    for router in (
        auth.router,
        users.router,
        projects.router,
        annotate.router,
        records.router,
        predict.router,
        review.router,
    ):
        app.include_router(router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


__all__ = ["create_app"]
