"""Import: stream records from files (or Python rows) into a project, atomically.

One import is one transaction. Files are read, parsed and validated in a separate process (the
pure loop in :mod:`labelkitchen.io.prepare`) while this process writes batches, so parsing runs
beside the database's work on another core; Python rows are read in a thread. Dedup is done by
the unique index on ``(project_id, content_hash)``. With ``on_error="abort"`` (the default) the
first bad record stops the import and nothing is stored; with ``"skip"`` the good records are
stored and the rejected ones are written, with their reasons, to a JSON Lines file.
"""

from __future__ import annotations

import logging
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import orjson
from sqlalchemy import Connection

from labelkitchen.errors import ImportFailed, InvalidInput, NotFound
from labelkitchen.io.prepare import (
    Batch,
    ImportOptions,
    Message,
    RecordPreparer,
    RecordRow,
    Source,
    content_hash,
    failure,
    reject_entry,
    run_loop,
)
from labelkitchen.io.readers import ReadRow, detect_format
from labelkitchen.io.worker import file_sources, read_message
from labelkitchen.schema import Project
from labelkitchen.store import Store
from labelkitchen.store import tables as t
from labelkitchen.store.queries import annotations as annotation_queries
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import queue as queue_queries
from labelkitchen.store.queries import records as record_queries
from labelkitchen.store.queries.sources import ensure_source

logger = logging.getLogger(__name__)

_QUEUE_DEPTH = 4
EAGER_ENQUEUE = 50_000  # imports adding more records queue them lazily, at the first claim
_ANALYZE_AFTER = 50_000  # inserted records after which PostgreSQL's statistics are refreshed


@dataclass(frozen=True)
class ImportProgress:
    read: int
    imported: int
    duplicates: int
    rejected: int
    bytes_done: int
    bytes_total: int


@dataclass(frozen=True)
class ImportReport:
    """What one import did."""

    project: str
    read: int
    imported: int
    duplicates: int
    rejected: int
    annotations: int
    gold: int
    seconds: float
    rejects_path: Path | None = None

    @property
    def records_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


# --- readers: the same loop in a thread or in a child process ------------------------------


class _ThreadReader:
    def __init__(
        self,
        make_sources: Callable[[], list[Source]],
        preparer: RecordPreparer,
        batch_size: int,
        skip: bool,
    ) -> None:
        self.queue: queue.Queue[Message] = queue.Queue(_QUEUE_DEPTH)
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=run_loop,
            args=(make_sources, preparer),
            kwargs={"batch_size": batch_size, "skip": skip, "put": self._put},
            name="labelkitchen-import-reader",
            daemon=True,
        )

    def _put(self, item: Message) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def start(self) -> None:
        self.thread.start()

    def get(self) -> Message:
        return self.queue.get()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


class _ProcessReader:
    """Runs the loop in ``python -m labelkitchen.io.worker`` so parsing uses another core."""

    def __init__(
        self,
        paths: Sequence[Path],
        formats: Sequence[str],
        encoding: str,
        preparer: RecordPreparer,
        batch_size: int,
        skip: bool,
    ) -> None:
        self.job = pickle.dumps(
            (list(paths), list(formats), encoding, preparer, batch_size, skip),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labelkitchen.io.reader_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        stdin = self.process.stdin
        if stdin is None:  # pragma: no cover - Popen with PIPE always sets it
            raise RuntimeError("the import reader has no input pipe")
        stdin.write(self.job)
        stdin.close()

    def get(self) -> Message:
        if self.process is None or self.process.stdout is None:
            raise RuntimeError("the import reader was not started")
        try:
            item: Message = read_message(self.process.stdout)
        except EOFError:
            code = self.process.wait()
            return ("crashed", f"the import reader process ended with exit status {code}")
        return item

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


# --- the writer ------------------------------------------------------------------------------


class _Writer:
    """Writes batches in the caller's transaction."""

    def __init__(
        self,
        conn: Connection,
        project: Project,
        options: ImportOptions,
        reject: Callable[[dict[str, Any]], None],
    ) -> None:
        self.conn = conn
        self.project = project
        self.options = options
        self.reject = reject
        self.imported = self.duplicates = self.rejected = 0
        self.annotations = self.gold = 0
        self._sources: dict[tuple[str, str, str], int] = {}

    def write(self, batch: Batch) -> None:
        for entry in batch.rejects:
            self.reject(entry)
        self.rejected += len(batch.rejects)
        rows = self._check_external_ids(batch)
        inserted = record_queries.insert_records(self.conn, rows=rows)
        self.imported += inserted
        self.duplicates += len(rows) - inserted
        if batch.labelled:
            self._write_labels(batch, kept={row[4] for row in rows})

    def _check_external_ids(self, batch: Batch) -> list[RecordRow]:
        rows = batch.rows
        external = {row[1] for row in rows if row[1] is not None}
        if not external:
            return rows
        known = record_queries.hashes_of_external_ids(
            self.conn, project_id=self.project.id, external_ids=list(external)
        )
        keep = []
        id_field = self.options.id_field
        for row, where in zip(rows, batch.wheres, strict=True):
            ext = row[1]
            if ext is not None:
                if known.get(ext, row[4]) != row[4]:
                    message = (
                        f"duplicate external id {ext!r}: the project already has a record "
                        "with this id and different text"
                    )
                    if self.options.on_error == "abort":
                        raise failure(where, message, id_field)
                    self.reject(reject_entry(where, message, id_field, {"id": ext, "text": row[2]}))
                    self.rejected += 1
                    continue
                known[ext] = row[4]
            keep.append(row)
        return keep

    def _source_id(self, kind: str, name: str, version: str) -> int:
        key = (kind, name, version)
        if key not in self._sources:
            self._sources[key] = ensure_source(
                self.conn, project_id=self.project.id, kind=kind, name=name, version=version
            )
        return self._sources[key]

    def _write_labels(self, batch: Batch, *, kept: set[bytes]) -> None:
        labelled = [item for item in batch.labelled if item.content_hash in kept]
        ids = record_queries.ids_of_hashes(
            self.conn, project_id=self.project.id, hashes=[i.content_hash for i in labelled]
        )
        as_gold = self.options.labels_as == "gold"
        gold: list[annotation_queries.NewVersion] = []
        votes: dict[int, list[annotation_queries.NewVersion]] = {}
        for item in labelled:
            record_id = ids[item.content_hash]
            if item.label is not None:
                if as_gold:
                    gold.append(
                        annotation_queries.NewVersion(record_id, item.label, {"method": "import"})
                    )
                else:
                    source_id = self._source_id("import", self.options.source_name, "")
                    votes.setdefault(source_id, []).append(
                        annotation_queries.NewVersion(record_id, item.label, {"answer": "accept"})
                    )
            if item.gold is not None:
                gold.append(
                    annotation_queries.NewVersion(record_id, item.gold, {"method": "import"})
                )
            for ann in item.annotations or ():
                extra = {
                    k: ann[k]
                    for k in (
                        "answer",
                        "flag_reason",
                        "duration_ms",
                        "guidelines_version",
                        "created_at",
                    )
                    if ann[k] is not None
                }
                votes.setdefault(self._source_id(*ann["source"]), []).append(
                    annotation_queries.NewVersion(record_id, ann["value"], extra)
                )
        for source_id, items in votes.items():
            self.annotations += annotation_queries.append_versions(
                self.conn,
                t.annotations,
                project_id=self.project.id,
                items=items,
                source_id=source_id,
            )
        self.gold += annotation_queries.append_gold(
            self.conn, project_id=self.project.id, items=gold
        )


class _RejectsFile:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.handle: IO[bytes] | None = None
        self.count = 0

    def __call__(self, entry: dict[str, Any]) -> None:
        if self.path is None:
            return
        if self.handle is None:
            self.handle = self.path.open("wb")
        self.handle.write(orjson.dumps(entry, default=str) + b"\n")
        self.count += 1

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


# --- the public functions ---------------------------------------------------------------------


def import_files(
    store: Store,
    *,
    project: str,
    paths: Sequence[Path],
    options: ImportOptions = ImportOptions(),
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportReport:
    """Import one or more files into ``project`` as one atomic import."""
    if not paths:
        raise InvalidInput("no files to import")
    for path in paths:
        if not path.exists():
            raise NotFound(f"{path}: no such file")
        if path.is_dir():
            raise InvalidInput(f"{path}: is a directory, not a file")
    formats = [detect_format(path, declared=options.format) for path in paths]
    total = sum(path.stat().st_size for path in paths)

    def reader(preparer: RecordPreparer, batch_size: int) -> _ThreadReader | _ProcessReader:
        skip = options.on_error == "skip"
        # Below the threshold, starting a reader process costs more than it saves.
        if total >= store.settings.import_process_min_bytes:
            return _ProcessReader(paths, formats, options.encoding, preparer, batch_size, skip)
        return _ThreadReader(
            lambda: file_sources(paths, formats, options.encoding), preparer, batch_size, skip
        )

    return _run_import(store, project, reader, options, on_progress, total)


def import_rows(
    store: Store,
    *,
    project: str,
    rows: Iterable[Mapping[str, Any]],
    options: ImportOptions = ImportOptions(),
    name: str = "<rows>",
    on_progress: Callable[[ImportProgress], None] | None = None,
) -> ImportReport:
    """Import Python mappings (a notebook's list of dicts) into ``project``."""

    def read() -> Iterator[ReadRow]:
        for index, row in enumerate(rows, start=1):
            yield ReadRow(index, dict(row))

    def reader(preparer: RecordPreparer, batch_size: int) -> _ThreadReader:
        return _ThreadReader(
            lambda: [(name, read(), lambda: 0)], preparer, batch_size, options.on_error == "skip"
        )

    return _run_import(store, project, reader, options, on_progress, 0)


def _run_import(
    store: Store,
    slug: str,
    make_reader: Callable[[RecordPreparer, int], _ThreadReader | _ProcessReader],
    options: ImportOptions,
    on_progress: Callable[[ImportProgress], None] | None,
    bytes_total: int,
) -> ImportReport:
    started = time.perf_counter()
    with store.read() as conn:
        project_row = project_queries.get_project(conn, slug=slug)
    skip = options.on_error == "skip"
    rejects_path = options.rejects_path or Path.cwd() / (
        f"{slug}-rejects-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    )
    rejects = _RejectsFile(Path(rejects_path) if skip else None)
    preparer = RecordPreparer(project_row, options, store.settings.max_record_chars)
    reader = make_reader(preparer, store.settings.import_batch_size)
    read = 0
    try:
        with store.write() as conn:
            writer = _Writer(conn, project_row, options, rejects)
            last_before = queue_queries.max_record_id(conn, project_id=project_row.id)
            reader.start()
            while (item := reader.get()) is not None:
                if isinstance(item, tuple):
                    _raise_reader_error(item)
                writer.write(item)
                read += item.read
                if on_progress is not None:
                    on_progress(
                        ImportProgress(
                            read,
                            writer.imported,
                            writer.duplicates,
                            writer.rejected,
                            item.bytes_done,
                            bytes_total,
                        )
                    )
            _enqueue(
                conn, project_row, last_before, gold_written=writer.gold > 0, added=writer.imported
            )
            if writer.imported >= _ANALYZE_AFTER:
                record_queries.analyze(conn)
    finally:
        reader.stop()
        rejects.close()
    report = ImportReport(
        project=slug,
        read=read,
        imported=writer.imported,
        duplicates=writer.duplicates,
        rejected=writer.rejected,
        annotations=writer.annotations,
        gold=writer.gold,
        seconds=time.perf_counter() - started,
        rejects_path=rejects.path if rejects.count else None,
    )
    logger.info("import into %s: %s", slug, report)
    return report


def _enqueue(
    conn: Connection, project: Project, last_before: int, *, gold_written: bool, added: int
) -> None:
    """Queue the records this import added, so annotators get them.

    A large import leaves that to the first claim (``queue.catch_up``): building a million
    queue rows in random order would double the import's time, and many projects are never
    annotated in the browser.
    """
    settings = project.spec.settings
    if added > EAGER_ENQUEUE:
        if gold_written and settings.queue_skips_gold:
            queue_queries.close_gold(conn, project_id=project.id)
        return
    queue_queries.enqueue_new_records(
        conn,
        project_id=project.id,
        after_id=last_before,
        slots=settings.overlap,
        strategy=settings.queue_strategy,
        skip_gold=settings.queue_skips_gold,
    )
    if gold_written and settings.queue_skips_gold:
        queue_queries.close_gold(conn, project_id=project.id)


def _raise_reader_error(item: tuple[str, Any]) -> NoReturn:
    kind, detail = item
    if kind == "failed":
        message, file, line, field = detail
        raise ImportFailed(message, file=file, line=line, field=field)
    raise RuntimeError(f"the import reader failed:\n{detail}")


__all__ = [
    "ImportOptions",
    "ImportProgress",
    "ImportReport",
    "content_hash",
    "import_files",
    "import_rows",
]
