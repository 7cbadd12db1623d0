"""Import: stream records from files (or Python rows) into a project, atomically.

One import is one transaction. A reader thread parses and validates batches while the calling
thread writes them, so parsing overlaps with the database's work. Dedup is done by the unique
index on ``(project_id, content_hash)``. With ``on_error="abort"`` (the default) the first bad
record stops the import and nothing is stored; with ``"skip"`` good records are stored and the
rejected ones are written, with their reasons, to a JSON Lines file.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from labelkitchen.errors import ImportFailed, InvalidInput, LabelkitchenError, NotFound
from labelkitchen.io.readers import ReadRow, detect_format, read_rows
from labelkitchen.schema import Project, TaskType
from labelkitchen.store import Store
from labelkitchen.store.queries import annotations as annotation_queries
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import records as record_queries
from labelkitchen.store.queries.sources import SOURCE_KINDS, ensure_source
from labelkitchen.store.tables import annotations as annotations_table

logger = logging.getLogger(__name__)

ANSWERS = ("accept", "reject", "skip", "flag")
_QUEUE_DEPTH = 4


@dataclass(frozen=True)
class ImportOptions:
    """How to read records. Field names are those of the input file."""

    text_field: str = "text"
    id_field: str = "id"
    split: str | None = None
    split_field: str = "split"
    label_field: str = "label"
    labels_field: str = "labels"
    spans_field: str = "spans"
    label_map: Mapping[str, str] | None = None
    labels_as: Literal["annotation", "gold"] = "annotation"
    source_name: str = "import"
    encoding: str = "utf-8"
    format: str | None = None
    on_error: Literal["abort", "skip"] = "abort"
    rejects_path: Path | None = None


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


@dataclass(slots=True)
class _Prepared:
    where: tuple[str, int]
    external_id: str | None
    text: str
    meta: str | None
    content_hash: bytes
    split: str | None
    label: dict[str, Any] | None
    gold: dict[str, Any] | None
    annotations: list[dict[str, Any]] | None


@dataclass(slots=True)
class _Batch:
    records: list[_Prepared] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    bytes_done: int = 0


class _Reject(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def content_hash(text: str) -> bytes:
    """The dedup key of a record: BLAKE2b-128 of its UTF-8 text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class _Preparer:
    """Turns one input row into a validated record (pure; runs in the reader thread)."""

    def __init__(self, project: Project, options: ImportOptions, max_chars: int) -> None:
        self.project = project
        self.options = options
        self.max_chars = max_chars
        task = project.task
        self.label_key = {
            TaskType.CLASSIFY: options.label_field,
            TaskType.MULTILABEL: options.labels_field,
            TaskType.SPANS: options.spans_field,
        }[task]
        self.reserved = {
            options.text_field,
            options.id_field,
            options.split_field,
            self.label_key,
            "meta",
            "gold",
            "annotations",
        }

    def prepare(self, data: dict[str, Any], where: tuple[str, int]) -> _Prepared:
        opts = self.options
        text = data.get(opts.text_field)
        if text is None:
            available = ", ".join(sorted(map(str, data))) or "none"
            raise _Reject(
                f"missing text field {opts.text_field!r} (fields: {available}); pass --text-field",
                opts.text_field,
            )
        if not isinstance(text, str):
            raise _Reject(f"text must be a string, got {type(text).__name__}", opts.text_field)
        if not text.strip():
            raise _Reject("empty text", opts.text_field)
        if len(text) > self.max_chars:
            raise _Reject(
                f"text has {len(text):,} characters, over the limit of "
                f"{self.max_chars:,} (setting max_record_chars)",
                opts.text_field,
            )
        try:
            digest = content_hash(text)
        except UnicodeEncodeError as exc:
            raise _Reject(f"text is not valid Unicode: {exc.reason}", opts.text_field) from exc
        external_id = data.get(opts.id_field)
        if external_id is not None:
            if isinstance(external_id, bool) or not isinstance(external_id, str | int):
                raise _Reject(f"id must be a string or integer, got {external_id!r}", opts.id_field)
            external_id = str(external_id)
            if not external_id:
                external_id = None
        split = opts.split if opts.split is not None else data.get(opts.split_field) or None
        if split is not None and not isinstance(split, str):
            raise _Reject(f"split must be a string, got {split!r}", opts.split_field)
        return _Prepared(
            where=where,
            external_id=external_id,
            text=text,
            meta=self._meta(data),
            content_hash=digest,
            split=split,
            label=self._label(data.get(self.label_key), text),
            gold=self._gold(data.get("gold"), text),
            annotations=self._annotations(data.get("annotations"), text),
        )

    def _meta(self, data: dict[str, Any]) -> str | None:
        meta = {k: v for k, v in data.items() if k not in self.reserved}
        nested = data.get("meta")
        if isinstance(nested, dict):
            meta.update(nested)
        elif nested is not None:
            meta["meta"] = nested
        if not meta:
            return None
        try:
            return orjson.dumps(meta).decode()
        except TypeError as exc:
            raise _Reject(f"meta is not JSON-serialisable: {exc}", "meta") from exc

    def _value(self, raw: Any, text: str, field: str) -> dict[str, Any]:
        task = self.project.task
        if isinstance(raw, str) and task is not TaskType.CLASSIFY:
            raw = self._parse_list(raw, field)
        if self.options.label_map and task is TaskType.CLASSIFY and not isinstance(raw, dict):
            raw = self.options.label_map.get(str(raw), raw)
        elif self.options.label_map and task is TaskType.MULTILABEL and isinstance(raw, list):
            raw = [self.options.label_map.get(str(v), v) for v in raw]
        try:
            return self.project.normalize_value(raw, text=text)
        except InvalidInput as exc:
            raise _Reject(str(exc), field) from exc

    def _parse_list(self, raw: str, field: str) -> Any:
        stripped = raw.strip()
        if stripped.startswith("["):
            try:
                return orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                raise _Reject(f"not a valid JSON list: {exc}", field) from exc
        return [part.strip() for part in stripped.split(",") if part.strip()]

    def _label(self, raw: Any, text: str) -> dict[str, Any] | None:
        if raw is None or raw == "" or raw == []:
            return None
        return self._value(raw, text, self.label_key)

    def _gold(self, raw: Any, text: str) -> dict[str, Any] | None:
        if raw is None:
            return None
        return self._value(raw, text, "gold")

    def _annotations(self, raw: Any, text: str) -> list[dict[str, Any]] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise _Reject("annotations must be a list", "annotations")
        parsed = []
        for index, item in enumerate(raw):
            where = f"annotations[{index}]"
            if not isinstance(item, dict):
                raise _Reject("expected an object", where)
            source = item.get("source")
            if (
                not isinstance(source, dict)
                or source.get("kind") not in SOURCE_KINDS
                or not (isinstance(source.get("name"), str) and source["name"])
            ):
                raise _Reject(
                    f"source must be {{'kind': one of {list(SOURCE_KINDS)}, 'name': ...}}, "
                    f"got {source!r}",
                    f"{where}.source",
                )
            answer = item.get("answer", "accept")
            if answer not in ANSWERS:
                raise _Reject(f"answer {answer!r} is not one of {list(ANSWERS)}", f"{where}.answer")
            value = item.get("value")
            if value is not None or answer == "accept":
                value = self._value(value, text, f"{where}.value")
            created_at = item.get("created_at")
            parsed.append(
                {
                    "source": (source["kind"], source["name"], str(source.get("version") or "")),
                    "value": value,
                    "answer": answer,
                    "flag_reason": item.get("flag_reason"),
                    "duration_ms": item.get("duration_ms"),
                    "guidelines_version": item.get("guidelines_version"),
                    "created_at": _parse_time(created_at, f"{where}.created_at"),
                }
            )
        return parsed


def _parse_time(raw: Any, field: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise _Reject(f"not an ISO 8601 time: {raw!r}", field) from exc


def _reject_entry(
    where: tuple[str, int], message: str, field: str | None, record: Any
) -> dict[str, Any]:
    return {"file": where[0], "line": where[1], "field": field, "error": message, "record": record}


class _Reader(threading.Thread):
    """Parses and validates rows into batches on its own thread."""

    def __init__(
        self,
        sources: Sequence[tuple[str, Iterator[ReadRow], Callable[[], int]]],
        preparer: _Preparer,
        *,
        batch_size: int,
        skip: bool,
    ) -> None:
        super().__init__(name="labelkitchen-import-reader", daemon=True)
        self.sources = sources
        self.preparer = preparer
        self.batch_size = batch_size
        self.skip = skip
        self.out: queue.Queue[_Batch | BaseException | None] = queue.Queue(_QUEUE_DEPTH)
        self.stop = threading.Event()
        self.bytes_before = 0

    def _put(self, item: _Batch | BaseException | None) -> bool:
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            self._read_all()
        except BaseException as exc:  # handed to the writer, which re-raises it
            self._put(exc)
        else:
            self._put(None)

    def _fail_or_reject(
        self, batch: _Batch, where: tuple[str, int], message: str, field: str | None, record: Any
    ) -> None:
        if not self.skip:
            raise ImportFailed(
                f"{where[0]}, line {where[1]}"
                + (f", field {field!r}" if field else "")
                + f": {message}",
                file=where[0],
                line=where[1],
                field=field,
            )
        batch.rejects.append(_reject_entry(where, message, field, record))

    def _read_all(self) -> None:
        prepare = self.preparer.prepare
        batch = _Batch()
        done_before = 0
        for name, rows, position in self.sources:
            seen_any = False
            for row in rows:
                if self.stop.is_set():
                    return
                seen_any = True
                batch.read += 1
                where = (name, row.line)
                if row.data is None:
                    self._fail_or_reject(batch, where, row.error or "unreadable", None, row.raw)
                else:
                    try:
                        batch.records.append(prepare(row.data, where))
                    except _Reject as exc:
                        self._fail_or_reject(batch, where, str(exc), exc.field, row.data)
                if len(batch.records) + len(batch.rejects) >= self.batch_size:
                    batch.bytes_done = done_before + position()
                    if not self._put(batch):
                        return
                    batch = _Batch()
            done_before += position()
            if not seen_any:
                if not self.skip:
                    raise ImportFailed(f"{name}: the file holds no records", file=name)
                batch.rejects.append(
                    _reject_entry((name, 0), "the file holds no records", None, None)
                )
        batch.bytes_done = done_before
        self._put(batch)


class _Writer:
    """Writes batches in the caller's transaction (the caller's thread)."""

    def __init__(
        self,
        conn: Any,
        project: Project,
        options: ImportOptions,
        rejects: Callable[[dict[str, Any]], None],
    ) -> None:
        self.conn = conn
        self.project = project
        self.options = options
        self.reject = rejects
        self.imported = 0
        self.duplicates = 0
        self.rejected = 0
        self.annotations = 0
        self.gold = 0
        self._sources: dict[tuple[str, str, str], int] = {}

    def _source_id(self, kind: str, name: str, version: str) -> int:
        key = (kind, name, version)
        if key not in self._sources:
            self._sources[key] = ensure_source(
                self.conn, project_id=self.project.id, kind=kind, name=name, version=version
            )
        return self._sources[key]

    def write(self, batch: _Batch) -> None:
        for entry in batch.rejects:
            self.reject(entry)
        self.rejected += len(batch.rejects)
        records = self._check_external_ids(batch.records)
        project_id = self.project.id
        rows = [
            (project_id, r.external_id, r.text, r.meta, r.content_hash, r.split) for r in records
        ]
        inserted = record_queries.insert_records(self.conn, rows=rows)
        self.imported += inserted
        self.duplicates += len(rows) - inserted
        labelled = [r for r in records if r.label or r.gold or r.annotations]
        if labelled:
            self._write_labels(labelled)

    def _check_external_ids(self, records: list[_Prepared]) -> list[_Prepared]:
        with_ids = [r for r in records if r.external_id is not None]
        if not with_ids:
            return records
        known = record_queries.hashes_of_external_ids(
            self.conn,
            project_id=self.project.id,
            external_ids=list({r.external_id for r in with_ids if r.external_id}),
        )
        keep: list[_Prepared] = []
        for record in records:
            ext = record.external_id
            if ext is not None:
                if ext in known and known[ext] != record.content_hash:
                    message = (
                        f"duplicate external id {ext!r}: the project already has a "
                        "record with this id and different text"
                    )
                    if self.options.on_error == "abort":
                        raise ImportFailed(
                            f"{record.where[0]}, line {record.where[1]}, field "
                            f"{self.options.id_field!r}: {message}",
                            file=record.where[0],
                            line=record.where[1],
                            field=self.options.id_field,
                        )
                    self.reject(
                        _reject_entry(
                            record.where,
                            message,
                            self.options.id_field,
                            {"id": ext, "text": record.text},
                        )
                    )
                    self.rejected += 1
                    continue
                known[ext] = record.content_hash
            keep.append(record)
        return keep

    def _write_labels(self, labelled: list[_Prepared]) -> None:
        ids = record_queries.ids_of_hashes(
            self.conn, project_id=self.project.id, hashes=[r.content_hash for r in labelled]
        )
        import_items: list[annotation_queries.NewVersion] = []
        gold_items: list[annotation_queries.NewVersion] = []
        by_source: dict[int, list[annotation_queries.NewVersion]] = {}
        for record in labelled:
            record_id = ids[record.content_hash]
            if record.label is not None:
                target = gold_items if self.options.labels_as == "gold" else import_items
                extra = (
                    {"method": "import"}
                    if self.options.labels_as == "gold"
                    else {"answer": "accept"}
                )
                target.append(annotation_queries.NewVersion(record_id, record.label, extra))
            if record.gold is not None:
                gold_items.append(
                    annotation_queries.NewVersion(record_id, record.gold, {"method": "import"})
                )
            for ann in record.annotations or ():
                source_id = self._source_id(*ann["source"])
                extra = {
                    k: ann[k]
                    for k in ("answer", "flag_reason", "duration_ms", "guidelines_version")
                    if ann[k] is not None
                }
                if ann["created_at"] is not None:
                    extra["created_at"] = ann["created_at"]
                by_source.setdefault(source_id, []).append(
                    annotation_queries.NewVersion(record_id, ann["value"], extra)
                )
        if import_items:
            by_source.setdefault(
                self._source_id("import", self.options.source_name, ""), []
            ).extend(import_items)
        for source_id, items in by_source.items():
            self.annotations += annotation_queries.append_versions(
                self.conn,
                annotations_table,
                project_id=self.project.id,
                items=items,
                source_id=source_id,
            )
        self.gold += annotation_queries.append_gold(
            self.conn, project_id=self.project.id, items=gold_items
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


def _default_rejects_path(slug: str) -> Path:
    return Path.cwd() / f"{slug}-rejects-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"


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

    def sources() -> list[tuple[str, Iterator[ReadRow], Callable[[], int]]]:
        opened = []
        for path, fmt in zip(paths, formats, strict=True):
            rows, position = read_rows(path, fmt=fmt, encoding=options.encoding)
            opened.append((str(path), _located(rows, str(path)), position))
        return opened

    return _run_import(store, project, sources, options, on_progress, total)


def _located(rows: Iterator[ReadRow], name: str) -> Iterator[ReadRow]:
    """Add the file name to errors that stop a whole file."""
    try:
        yield from rows
    except ImportFailed as exc:
        raise ImportFailed(
            f"{name}{', line ' + str(exc.line) if exc.line else ''}: {exc}",
            file=name,
            line=exc.line,
        ) from exc


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

    def sources() -> list[tuple[str, Iterator[ReadRow], Callable[[], int]]]:
        return [(name, read(), lambda: 0)]

    return _run_import(store, project, sources, options, on_progress, 0)


def _run_import(
    store: Store,
    slug: str,
    sources: Callable[[], list[tuple[str, Iterator[ReadRow], Callable[[], int]]]],
    options: ImportOptions,
    on_progress: Callable[[ImportProgress], None] | None,
    bytes_total: int,
) -> ImportReport:
    started = time.perf_counter()
    with store.read() as conn:
        project_row = project_queries.get_project(conn, slug=slug)
    skip = options.on_error == "skip"
    rejects = _RejectsFile((options.rejects_path or _default_rejects_path(slug)) if skip else None)
    preparer = _Preparer(project_row, options, store.settings.max_record_chars)
    reader = _Reader(sources(), preparer, batch_size=store.settings.import_batch_size, skip=skip)
    read = 0
    try:
        with store.write() as conn:
            writer = _Writer(conn, project_row, options, rejects)
            reader.start()
            while True:
                item = reader.out.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
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
    except (LabelkitchenError, OSError):
        raise
    finally:
        reader.stop.set()
        reader.join()
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


__all__ = [
    "ImportOptions",
    "ImportProgress",
    "ImportReport",
    "content_hash",
    "import_files",
    "import_rows",
]
