"""Turn read rows into validated, insert-ready batches: the pure half of an import.

:func:`read_batches` is the one loop every import runs, in a thread (Python rows) or in a
separate process (files, so parsing truly runs beside the database writer). It never touches the
database: checks that need stored data (external ids already used) happen in the writer.
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

from labelkitchen.errors import ImportFailed, InvalidInput
from labelkitchen.io.readers import ReadRow
from labelkitchen.schema import ANSWERS, SOURCE_KINDS, Project, TaskType

# Fields an export writes for people and that an import leaves out: ``gold`` is the final label.
_EXPORT_ONLY = ("gold_info", "gold_versions")
_RESERVED = ("meta", "gold", "annotations", *_EXPORT_ONLY)

# (project_id, external_id, text, meta_json, content_hash, split): a records row as inserted.
RecordRow = tuple[int, str | None, str, str | None, bytes, str | None]
Where = tuple[str, int]


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
    rejects_path: Any = None  # a Path; Any so the options pickle without pathlib surprises


@dataclass(frozen=True, slots=True)
class Labelled:
    """Labels that came with one record, to be written once the record has an id."""

    content_hash: bytes
    label: dict[str, Any] | None
    gold: dict[str, Any] | None
    annotations: list[dict[str, Any]] | None


@dataclass(slots=True)
class Batch:
    rows: list[RecordRow] = field(default_factory=list)
    wheres: list[Where] = field(default_factory=list)
    labelled: list[Labelled] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    bytes_done: int = 0

    def __len__(self) -> int:
        return len(self.rows) + len(self.rejects)


class Reject(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def content_hash(text: str) -> bytes:
    """The dedup key of a record: BLAKE2b-128 of its UTF-8 text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def reject_entry(where: Where, message: str, field: str | None, record: Any) -> dict[str, Any]:
    """One line of a rejects file."""
    return {"file": where[0], "line": where[1], "field": field, "error": message, "record": record}


def failure(where: Where, message: str, field: str | None) -> ImportFailed:
    located = f"{where[0]}, line {where[1]}" + (f", field {field!r}" if field else "")
    return ImportFailed(f"{located}: {message}", file=where[0], line=where[1], field=field)


class RecordPreparer:
    """Validates one input row and appends it to a batch. Pure and cheap on the common path."""

    def __init__(self, project: Project, options: ImportOptions, max_chars: int) -> None:
        self.project = project
        self.project_id = project.id
        self.options = options
        self.max_chars = max_chars
        self.label_key = {
            TaskType.CLASSIFY: options.label_field,
            TaskType.MULTILABEL: options.labels_field,
            TaskType.SPANS: options.spans_field,
        }[project.task]
        self.text_field = options.text_field
        self.id_field = options.id_field
        self.split_field = options.split_field
        self.special = frozenset(
            {options.id_field, options.split_field, self.label_key, *_RESERVED}
        )

    def prepare(self, data: dict[str, Any], where: Where, batch: Batch) -> None:
        """Append ``data`` (consumed: fields are popped) to ``batch``, or raise :class:`Reject`."""
        text = data.pop(self.text_field, None)
        if type(text) is not str:
            self._bad_text(text, data)
        if not text.strip():
            raise Reject("empty text", self.text_field)
        if len(text) > self.max_chars:
            raise Reject(
                f"text has {len(text):,} characters, over the limit of {self.max_chars:,} "
                "(setting max_record_chars)",
                self.text_field,
            )
        try:
            digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
        except UnicodeEncodeError as exc:
            raise Reject(f"text is not valid Unicode: {exc.reason}", self.text_field) from exc
        external_id = split = None
        label = gold = annotations = None
        present = self.special.intersection(data)
        if present:
            external_id = self._external_id(data.pop(self.id_field, None))
            split = data.pop(self.split_field, None) or None
            if split is not None and not isinstance(split, str):
                raise Reject(f"split must be a string, got {split!r}", self.split_field)
            label = self._label(data.pop(self.label_key, None), text)
            gold = self._gold(data.pop("gold", None), text)
            annotations = self._annotations(data.pop("annotations", None), text)
            for key in _EXPORT_ONLY:
                data.pop(key, None)
            nested = data.pop("meta", None)
            if isinstance(nested, dict):
                data.update(nested)
            elif nested is not None:
                data["meta"] = nested
        if self.options.split is not None:
            split = self.options.split
        meta = self._dump_meta(data) if data else None
        batch.rows.append((self.project_id, external_id, text, meta, digest, split))
        batch.wheres.append(where)
        if label is not None or gold is not None or annotations:
            batch.labelled.append(Labelled(digest, label, gold, annotations))

    def _bad_text(self, text: Any, data: dict[str, Any]) -> None:
        if text is None:
            available = ", ".join(sorted(map(str, data))) or "none"
            raise Reject(
                f"missing text field {self.text_field!r} (fields: {available}); pass --text-field",
                self.text_field,
            )
        raise Reject(f"text must be a string, got {type(text).__name__}", self.text_field)

    def _external_id(self, raw: Any) -> str | None:
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise Reject(f"id must be a string or integer, got {raw!r}", self.id_field)
        return str(raw) or None

    def _dump_meta(self, meta: dict[str, Any]) -> str:
        try:
            return orjson.dumps(meta).decode()
        except TypeError as exc:
            raise Reject(f"meta is not JSON-serialisable: {exc}", "meta") from exc

    def _value(self, raw: Any, text: str, field: str) -> dict[str, Any]:
        task = self.project.task
        label_map = self.options.label_map
        if isinstance(raw, str) and task is not TaskType.CLASSIFY:
            raw = self._parse_list(raw, field)
        if label_map and task is TaskType.CLASSIFY and not isinstance(raw, dict):
            raw = label_map.get(str(raw), raw)
        elif label_map and task is TaskType.MULTILABEL and isinstance(raw, list):
            raw = [label_map.get(str(v), v) for v in raw]
        try:
            return self.project.normalize_value(raw, text=text)
        except InvalidInput as exc:
            raise Reject(str(exc), field) from exc

    def _parse_list(self, raw: str, field: str) -> Any:
        stripped = raw.strip()
        if stripped.startswith("["):
            try:
                return orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                raise Reject(f"not a valid JSON list: {exc}", field) from exc
        return [part.strip() for part in stripped.split(",") if part.strip()]

    def _label(self, raw: Any, text: str) -> dict[str, Any] | None:
        if raw is None or raw == "" or raw == []:
            return None
        return self._value(raw, text, self.label_key)

    def _gold(self, raw: Any, text: str) -> dict[str, Any] | None:
        return None if raw is None else self._value(raw, text, "gold")

    def _annotations(self, raw: Any, text: str) -> list[dict[str, Any]] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise Reject("annotations must be a list", "annotations")
        return [self._annotation(item, f"annotations[{i}]", text) for i, item in enumerate(raw)]

    def _annotation(self, item: Any, where: str, text: str) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise Reject("expected an object", where)
        source = item.get("source")
        if (
            not isinstance(source, dict)
            or source.get("kind") not in SOURCE_KINDS
            or not (isinstance(source.get("name"), str) and source["name"])
        ):
            raise Reject(
                f"source must be {{'kind': one of {list(SOURCE_KINDS)}, 'name': ...}}, "
                f"got {source!r}",
                f"{where}.source",
            )
        answer = item.get("answer", "accept")
        if answer not in ANSWERS:
            raise Reject(f"answer {answer!r} is not one of {list(ANSWERS)}", f"{where}.answer")
        value = item.get("value")
        if value is not None or answer == "accept":
            value = self._value(value, text, f"{where}.value")
        return {
            "source": (source["kind"], source["name"], str(source.get("version") or "")),
            "value": value,
            "answer": answer,
            "flag_reason": item.get("flag_reason"),
            "duration_ms": item.get("duration_ms"),
            "guidelines_version": item.get("guidelines_version"),
            "created_at": _parse_time(item.get("created_at"), f"{where}.created_at"),
        }


def _parse_time(raw: Any, field: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise Reject(f"not an ISO 8601 time: {raw!r}", field) from exc


Source = tuple[str, Iterator[ReadRow], Callable[[], int]]


def read_batches(
    sources: Sequence[Source],
    preparer: RecordPreparer,
    *,
    batch_size: int,
    skip: bool,
    emit: Callable[[Batch], bool],
) -> None:
    """The one import loop: read every source, prepare rows, hand batches to ``emit``.

    With ``skip`` a bad row becomes a reject entry in its batch; otherwise the first bad row
    raises :class:`ImportFailed` naming file, line and field. ``emit`` returns ``False`` to stop.
    """
    prepare = preparer.prepare
    batch = Batch()
    done_before = 0
    for name, rows, position in sources:
        seen_any = False
        for line, data, error, raw in rows:
            seen_any = True
            batch.read += 1
            if data is None:
                if not skip:
                    raise failure((name, line), error or "unreadable", None)
                batch.rejects.append(reject_entry((name, line), error or "unreadable", None, raw))
            else:
                try:
                    # prepare() consumes its dict; in skip mode keep the original for the rejects
                    prepare(dict(data) if skip else data, (name, line), batch)
                except Reject as exc:
                    if not skip:
                        raise failure((name, line), str(exc), exc.field) from None
                    batch.rejects.append(reject_entry((name, line), str(exc), exc.field, data))
            if len(batch.rows) + len(batch.rejects) >= batch_size:
                batch.bytes_done = done_before + position()
                if not emit(batch):
                    return
                batch = Batch()
        done_before += position()
        if not seen_any:
            if not skip:
                raise ImportFailed(f"{name}: the file holds no records", file=name)
            batch.rejects.append(reject_entry((name, 0), "the file holds no records", None, None))
    batch.bytes_done = done_before
    emit(batch)


def located(rows: Iterator[ReadRow], name: str) -> Iterator[ReadRow]:
    """Add the file name to errors that stop a whole file."""
    try:
        yield from rows
    except ImportFailed as exc:
        where = f", line {exc.line}" if exc.line else ""
        raise ImportFailed(f"{name}{where}: {exc}", file=name, line=exc.line) from exc


Message = Batch | tuple[str, Any] | None  # a batch, ("failed"|"crashed", detail), or the end


def run_loop(
    make_sources: Callable[[], list[Source]],
    preparer: RecordPreparer,
    *,
    batch_size: int,
    skip: bool,
    put: Callable[[Message], bool],
) -> None:
    """Run :func:`read_batches` and end with ``None`` or an error message (never raises)."""
    try:
        read_batches(make_sources(), preparer, batch_size=batch_size, skip=skip, emit=put)
    except ImportFailed as exc:
        put(("failed", (str(exc), exc.file, exc.line, exc.field)))
    except Exception:
        put(("crashed", traceback.format_exc()))
    else:
        put(None)


__all__ = [
    "Batch",
    "ImportOptions",
    "Labelled",
    "RecordPreparer",
    "RecordRow",
    "Reject",
    "content_hash",
    "located",
    "read_batches",
    "reject_entry",
    "run_loop",
]
