"""Export: stream a project's records, each source's current annotations and gold to a file.

Records are read in keyset pages, so memory stays flat however large the project. JSON Lines
is the lossless format: it re-imports into a new project unchanged. CSV and Parquet carry the
same fields with ``meta``, ``gold`` and ``annotations`` as JSON text, plus a plain ``label``
(``classify``) or ``labels`` (``multilabel``) column taken from gold.
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from labelkitchen.errors import InvalidInput
from labelkitchen.schema import Project, TaskType
from labelkitchen.store import Store
from labelkitchen.store.queries import exporting as queries
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import records as record_queries

ExportFormat = Literal["jsonl", "csv", "parquet"]
EXPORT_FORMATS: tuple[str, ...] = ("jsonl", "csv", "parquet")
_EMPTY = orjson.Fragment(b"{}")


@dataclass(frozen=True)
class ExportReport:
    project: str
    records: int
    seconds: float
    path: Path | None

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def _time(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _pages(store: Store, project: Project, split: str | None) -> Iterator[list[dict[str, Any]]]:
    """Records as dicts, page by page, with their current annotations and gold."""
    after = 0
    size = store.settings.export_batch_size
    while True:
        with store.read() as conn:
            rows = record_queries.page_records(
                conn, project_id=project.id, after_id=after, limit=size, split=split
            )
            if not rows:
                return
            first, last = int(rows[0][0]), int(rows[-1][0])
            notes: dict[int, list[dict[str, Any]]] = {}
            for a in queries.current_annotations(
                conn, project_id=project.id, first_id=first, last_id=last
            ):
                item: dict[str, Any] = {
                    "source": {"kind": a.kind, "name": a.name, "version": a.version},
                    "value": None if a.value in (None, "null") else orjson.Fragment(a.value),
                    "answer": a.answer,
                }
                for key in ("flag_reason", "duration_ms", "guidelines_version"):
                    if getattr(a, key) is not None:
                        item[key] = getattr(a, key)
                item["created_at"] = _time(a.created_at)
                notes.setdefault(int(a.record_id), []).append(item)
            gold = queries.current_gold(conn, project_id=project.id, first_id=first, last_id=last)
        page = [
            {
                "id": external_id,
                "text": text,
                "meta": orjson.Fragment(meta) if meta else _EMPTY,
                "split": split_name,
                "gold": orjson.Fragment(gold[record_id]) if record_id in gold else None,
                "annotations": notes.get(record_id, ()),
            }
            for record_id, external_id, text, meta, split_name in rows
        ]
        yield page
        after = last


@contextmanager
def _output(path: Path | None) -> Iterator[IO[bytes]]:
    if path is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with path.open("wb") as handle:
        yield handle


def _gold_column(task: TaskType, gold: Any) -> str | None:
    if gold is None:
        return None
    value = orjson.loads(orjson.dumps(gold))
    if task is TaskType.CLASSIFY:
        return str(value.get("label"))
    if task is TaskType.MULTILABEL:
        return ",".join(value.get("labels", []))
    return None


def _write_jsonl(pages: Iterator[list[dict[str, Any]]], out: IO[bytes], **_: Any) -> int:
    count = 0
    dumps = orjson.dumps
    for page in pages:
        out.write(b"".join(dumps(record) + b"\n" for record in page))
        count += len(page)
    return count


def _flat(record: dict[str, Any], task: TaskType) -> dict[str, Any]:
    return {
        "id": record["id"],
        "text": record["text"],
        "split": record["split"],
        "label" if task is TaskType.CLASSIFY else "labels": _gold_column(task, record["gold"]),
        "meta": orjson.dumps(record["meta"]).decode(),
        "gold": orjson.dumps(record["gold"]).decode() if record["gold"] else None,
        "annotations": orjson.dumps(record["annotations"]).decode(),
    }


def _columns(task: TaskType) -> list[str]:
    label = "label" if task is TaskType.CLASSIFY else "labels"
    return ["id", "text", "split", label, "meta", "gold", "annotations"]


def _write_csv(pages: Iterator[list[dict[str, Any]]], out: IO[bytes], *, task: TaskType) -> int:
    import io

    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    columns = _columns(task)
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for page in pages:
        writer.writerows(_flat(record, task) for record in page)
        count += len(page)
    text.flush()
    text.detach()
    return count


def _write_parquet(pages: Iterator[list[dict[str, Any]]], out: IO[bytes], *, task: TaskType) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = _columns(task)
    schema = pa.schema([(name, pa.string()) for name in columns])
    count = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for page in pages:
            flat = [_flat(record, task) for record in page]
            table = pa.Table.from_pydict(
                {name: [row[name] for row in flat] for name in columns}, schema=schema
            )
            writer.write_table(table)
            count += len(page)
    return count


_WRITERS: dict[str, Callable[..., int]] = {
    "jsonl": _write_jsonl,
    "csv": _write_csv,
    "parquet": _write_parquet,
}


def export_project(
    store: Store,
    *,
    project: str,
    format: str = "jsonl",
    out: Path | None = None,
    split: str | None = None,
) -> ExportReport:
    """Write ``project`` to ``out`` (standard output when ``None``; not for Parquet)."""
    if format not in _WRITERS:
        raise InvalidInput(f"unknown export format {format!r}; formats: {', '.join(_WRITERS)}")
    if format == "parquet" and out is None:
        raise InvalidInput("Parquet export needs --out PATH (it cannot stream to a terminal)")
    if out is not None and out.parent and not out.parent.exists():
        raise InvalidInput(f"{out.parent}: the output directory does not exist")
    started = time.perf_counter()
    with store.read() as conn:
        project_row = project_queries.get_project(conn, slug=project)
    with _output(out) as handle:
        count = _WRITERS[format](_pages(store, project_row, split), handle, task=project_row.task)
    return ExportReport(
        project=project, records=count, seconds=time.perf_counter() - started, path=out
    )


__all__ = ["EXPORT_FORMATS", "ExportReport", "export_project"]
