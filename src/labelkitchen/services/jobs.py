"""Background jobs: long work recorded in ``jobs``, run outside any request.

A job is queued once per (project, kind) at a time; a worker takes it with a lease in the
database (so two workers never run the same job), runs it, and records the result or error.
Requests only ever enqueue: they never wait for a job.
"""

from __future__ import annotations

import logging
import socket
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from labelkitchen.store import Store
from labelkitchen.store import tables as t

logger = logging.getLogger(__name__)
LEASE = timedelta(minutes=30)


def enqueue(
    store: Store, *, kind: str, project_id: int | None, params: dict[str, Any] | None = None
) -> int | None:
    """Queue a job unless the same kind is already queued or running for the project."""
    j = t.jobs
    with store.write() as conn:
        busy = conn.execute(
            select(j.c.id).where(
                j.c.kind == kind,
                j.c.project_id == project_id,
                j.c.status.in_(("queued", "running")),
            )
        ).first()
        if busy is not None:
            return None
        result = conn.execute(
            insert(j)
            .values(kind=kind, project_id=project_id, params=params or {}, status="queued")
            .returning(j.c.id)
        )
        return int(result.scalar_one())


def take(store: Store, *, owner: str) -> Any:
    """Lease the oldest queued job (or one whose lease ran out)."""
    j = t.jobs
    now = datetime.now(UTC)
    with store.write() as conn:
        row = conn.execute(
            select(j.c.id, j.c.kind, j.c.project_id, j.c.params)
            .where((j.c.status == "queued") | ((j.c.status == "running") & (j.c.lease_until < now)))
            .order_by(j.c.id)
            .limit(1)
        ).first()
        if row is None:
            return None
        conn.execute(
            update(j)
            .where(j.c.id == row.id)
            .values(status="running", lease_owner=owner, lease_until=now + LEASE, started_at=now)
        )
        return row


def finish(
    store: Store, *, job_id: int, result: dict[str, Any] | None = None, error: str | None = None
) -> None:
    j = t.jobs
    with store.write() as conn:
        conn.execute(
            update(j)
            .where(j.c.id == job_id)
            .values(
                status="failed" if error else "done",
                result=result,
                error=error,
                progress=1.0,
                finished_at=datetime.now(UTC),
            )
        )


def record_done(
    store: Store,
    *,
    kind: str,
    project_id: int | None,
    params: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
) -> int:
    """Record work done in the foreground (a CLI run) as a finished job, so whoever reads the
    newest result of ``kind`` sees it."""
    j = t.jobs
    now = datetime.now(UTC)
    with store.write() as conn:
        query = (
            insert(j)
            .values(
                kind=kind,
                project_id=project_id,
                params=params or {},
                status="done",
                result=result,
                progress=1.0,
                started_at=now,
                finished_at=now,
            )
            .returning(j.c.id)
        )
        return int(conn.execute(query).scalar_one())


def set_progress(store: Store, *, job_id: int, progress: float, message: str | None = None) -> None:
    """A running job's progress (0 to 1) and a short message for the UI and CLI."""
    j = t.jobs
    with store.write() as conn:
        conn.execute(update(j).where(j.c.id == job_id).values(progress=progress, message=message))


def latest(store: Store, *, kind: str, project_id: int | None, status_: str | None = None) -> Any:
    """The newest job of ``kind`` for the project (with status ``status_`` if given), or None."""
    j = t.jobs
    query = select(j).where(j.c.kind == kind, j.c.project_id == project_id)
    if status_ is not None:
        query = query.where(j.c.status == status_)
    with store.read() as conn:
        return conn.execute(query.order_by(j.c.id.desc()).limit(1)).first()


def status(store: Store, *, job_id: int) -> Any:
    j = t.jobs
    with store.read() as conn:
        return conn.execute(select(j).where(j.c.id == job_id)).first()


def count_jobs(store: Store, *, kind: str, status_: str) -> int:
    j = t.jobs
    with store.read() as conn:
        query = select(func.count()).where(j.c.kind == kind, j.c.status == status_)
        return int(conn.execute(query).scalar_one())


class Worker:
    """A daemon thread that runs queued jobs with the handlers it is given."""

    def __init__(
        self,
        store: Store,
        handlers: dict[str, Callable[[Store, Any], Any]],
        *,
        poll_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.poll_seconds = poll_seconds
        self.owner = f"{socket.gethostname()}:{id(self)}"
        self.wake = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="labelkitchen-jobs", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.wake.set()
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        while not self.stopped.is_set():
            try:
                job = take(self.store, owner=self.owner)
            except Exception:  # the database may be busy or gone; try again later
                logger.exception("could not take a job")
                job = None
            if job is None:
                self.wake.wait(self.poll_seconds)
                self.wake.clear()
                continue
            handler = self.handlers.get(job.kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                result = handler(self.store, job)
                finish(
                    self.store,
                    job_id=int(job.id),
                    result=result if isinstance(result, dict) else None,
                )
            except Exception:
                logger.exception("job %s failed", job.id)
                finish(self.store, job_id=int(job.id), error=traceback.format_exc())


__all__ = [
    "Worker",
    "count_jobs",
    "enqueue",
    "finish",
    "latest",
    "record_done",
    "set_progress",
    "status",
    "take",
]
