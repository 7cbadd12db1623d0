"""``create_app(settings)``: the FastAPI app, its API, pages, static files and middleware.

Nothing is built at import time: the engine, the session key and the throttle all come from the
settings passed in, so tests build as many apps as they like.
"""

from __future__ import annotations

import gc
import logging
import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labelkitchen.server import errors
from labelkitchen.server.auth import AuthCache, LoginThrottle
from labelkitchen.server.routes import (
    annotate,
    auth,
    label_errors,
    pages,
    predict,
    projects,
    records,
    review,
    users,
)
from labelkitchen.server.schemas import AnswerIn
from labelkitchen.services import jobs, train
from labelkitchen.services.label_errors import LABEL_ERRORS_JOB, run_label_errors_job
from labelkitchen.settings import Settings
from labelkitchen.store import Store

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent

# No inline script or style, no foreign origins: record text can never become code.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
_NO_STORE = (b"cache-control", b"no-store")


_HOT_WRITES = ("/annotations", "/undo", "/predict")
# Threads for the annotation routes' database work. Writers queue one at a time on SQLite, so
# more threads would only wait; reads share the rest.
ANNOTATION_THREADS = 8


class Shell:
    """The app's own middleware, as one plain ASGI layer (no per-request Request or Response):
    security headers on every response and ``Cache-Control: no-store`` on the API; after any
    write other than answering, cached callers and roles are forgotten at once."""

    def __init__(self, app: ASGIApp, cache: AuthCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*_HEADERS, _NO_STORE] if scope["path"].startswith("/api/") else _HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in extra if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and not scope["path"].endswith(
            _HOT_WRITES
        ):
            self.cache.clear()


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """Build the app. Pass ``store`` to share one (tests); else it opens ``settings``'s."""
    from labelkitchen import __version__

    settings = settings or Settings()
    store = store or Store.open(settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if settings.run_jobs:
            worker = jobs.Worker(
                store,
                {train.TRAIN_JOB: train.run_train_job, LABEL_ERRORS_JOB: run_label_errors_job},
            )
            worker.start()
        app.state.worker = worker
        # Write-ahead-log checkpoints (and their fsync) off the request path.
        app.state.checkpointer = store.start_checkpointer()
        yield
        store.stop_checkpointer()
        if worker is not None:
            worker.stop()
        app.state.annotation_threads.shutdown(wait=False)

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

    app.state.auth_cache = AuthCache(ttl=1.0)
    # The hot annotation routes' database work (see routes/annotate.py): threads start on use.
    app.state.annotation_threads = ThreadPoolExecutor(
        max_workers=ANNOTATION_THREADS, thread_name_prefix="labelkitchen-annotate"
    )
    app.add_middleware(Shell, cache=app.state.auth_cache)

    errors.install(app)
    # The annotation route reads its own body (routes/annotate.py): its model joins the spec.
    errors.document(app, models=(AnswerIn,))
    for router in (
        annotate.router,  # first: the routes every annotator calls all day match at once
        auth.router,
        users.router,
        projects.router,
        records.router,
        predict.router,
        review.router,
        label_errors.router,
    ):
        app.include_router(router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Everything imported so far lives as long as the process: keep the garbage collector's
    # full passes (a p99 cost under load) from walking it again and again.
    gc.freeze()
    return app


__all__ = ["create_app"]
