"""Where chunks of LF work run: in this process, in a process pool, or on a Dask cluster.

An applier only maps a function over chunk tasks and returns the results in order; the loop over
chunks, the merging and the fault accounting live once, in :mod:`labelkitchen.weak.apply`.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol, TypeVar

from labelkitchen.errors import InvalidInput

TaskT = TypeVar("TaskT")
ResultT = TypeVar("ResultT")


class Applier(Protocol):
    """Maps ``function`` over ``tasks`` and returns the results in task order."""

    def map(
        self, function: Callable[[TaskT], ResultT], tasks: Sequence[TaskT]
    ) -> list[ResultT]: ...

    @property
    def n_workers(self) -> int: ...


class SerialApplier:
    """Runs every chunk in this process, one after the other."""

    def map(self, function: Callable[[TaskT], ResultT], tasks: Sequence[TaskT]) -> list[ResultT]:
        return [function(task) for task in tasks]

    @property
    def n_workers(self) -> int:
        return 1

    def __repr__(self) -> str:
        return "SerialApplier()"


class ProcessApplier:
    """Runs chunks in a pool of ``n_jobs`` worker processes.

    LFs and records must be picklable: LFs defined at module level (or declarative LFs), records
    of plain types. ``start_method`` is passed to :mod:`multiprocessing` (``None``: the
    platform's default).
    """

    def __init__(self, n_jobs: int, *, start_method: str | None = None) -> None:
        if n_jobs < 1:
            raise InvalidInput(f"n_jobs must be at least 1, got {n_jobs}")
        self.n_jobs = n_jobs
        self.start_method = start_method

    def map(self, function: Callable[[TaskT], ResultT], tasks: Sequence[TaskT]) -> list[ResultT]:
        if len(tasks) <= 1:
            return [function(task) for task in tasks]
        context = (
            None if self.start_method is None else multiprocessing.get_context(self.start_method)
        )
        workers = min(self.n_jobs, len(tasks))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(function, tasks))

    @property
    def n_workers(self) -> int:
        return self.n_jobs

    def __repr__(self) -> str:
        return f"ProcessApplier(n_jobs={self.n_jobs})"


class DaskApplier:
    """Runs chunks as tasks on a ``dask.distributed`` cluster through ``client``.

    Any cluster works: a ``LocalCluster`` on one machine or a remote scheduler. The client is
    the caller's; this class neither starts nor closes it.
    """

    def __init__(self, client: Any) -> None:
        if not hasattr(client, "map") or not hasattr(client, "gather"):
            raise InvalidInput(f"DaskApplier needs a dask.distributed Client, got {client!r}")
        self.client = client

    def map(self, function: Callable[[TaskT], ResultT], tasks: Sequence[TaskT]) -> list[ResultT]:
        if not tasks:
            return []
        futures = self.client.map(function, list(tasks), pure=False)
        return list(self.client.gather(futures))

    @property
    def n_workers(self) -> int:
        info = self.client.scheduler_info()
        workers = info.get("workers", {}) if isinstance(info, dict) else {}
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))

    def __repr__(self) -> str:
        return f"DaskApplier(client={self.client!r})"


__all__ = ["Applier", "DaskApplier", "ProcessApplier", "SerialApplier"]
