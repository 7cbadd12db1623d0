"""Export: stream a project's records, each source's current annotations and gold to a file.

Records are read in keyset pages, so memory stays flat however large the project. JSON Lines
is the lossless format: it re-imports into a new project unchanged. CSV and Parquet carry the
same fields with ``meta``, ``gold``, ``gold_info``, ``gold_versions`` and ``annotations`` as
JSON text, plus a plain ``label`` (``classify``) or ``labels`` (``multilabel``) column taken
from gold.

Beside the final label (``gold``) each record carries how it was decided (``gold_info``) and
every gold version (``gold_versions``), and each annotation whether it ``agrees_with_gold``.
The same comparison, counted per source over the exported records, is the export's agreement
summary: :attr:`ExportReport.agreement`, written beside a file export as
``<out>.annotators.json``.
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from labelkitchen.errors import InvalidInput
from labelkitchen.schema import Project, TaskType
from labelkitchen.services.review import value_key
from labelkitchen.store import Store
from labelkitchen.store.queries import exporting as queries
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import records as record_queries

ExportFormat = Literal["jsonl", "csv", "parquet"]
EXPORT_FORMATS: tuple[str, ...] = ("jsonl", "csv", "parquet")
_EMPTY = orjson.Fragment(b"{}")


SUMMARY_SUFFIX = ".annotators.json"


@dataclass(frozen=True)
class SourceAgreement:
    """One source's current annotations on the exported records, compared with their gold.

    ``answers`` counts every current annotation; ``compared`` the accepted ones on records
    with gold, of which ``agreed`` equal it (the label, the set of labels, the set of spans).
    """

    kind: str
    name: str
    version: str
    answers: int
    compared: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "answers": self.answers,
            "compared": self.compared,
            "agreed": self.agreed,
            "rate": self.rate,
        }


@dataclass(frozen=True)
class ExportReport:
    project: str
    records: int
    seconds: float
    path: Path | None
    gold_records: int = 0
    agreement: tuple[SourceAgreement, ...] = ()
    summary_path: Path | None = None

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """The agreement summary as written to ``<out>.annotators.json``."""
        return {
            "project": self.project,
            "records": self.records,
            "gold_records": self.gold_records,
            "annotators": [source.to_dict() for source in self.agreement],
        }


@dataclass
class _Tally:
    """Per source ``[answers, compared, agreed]``, filled while the pages stream."""

    counts: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    gold_records: int = 0

    def sources(self) -> tuple[SourceAgreement, ...]:
        return tuple(
            SourceAgreement(kind, name, version, *numbers)
            for (kind, name, version), numbers in sorted(self.counts.items())
        )


def _time(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


@dataclass(frozen=True, slots=True)
class _Gold:
    """One record's gold: the current value as raw JSON, ``gold_info`` and ``gold_versions``."""

    value: str
    info: dict[str, Any]
    versions: list[dict[str, Any]]


def _gold(versions: list[Any]) -> _Gold:
    """A record's gold from its gold rows (oldest first); the current one has no successor."""
    listed = []
    current, shown = versions[-1], None
    for v in versions:
        item = {
            "value": orjson.Fragment(v.value),
            "method": v.method,
            "reviewer": v.reviewer,
            "created_at": _time(v.created_at),
            "note": v.note,
        }
        listed.append(item)
        if v.superseded_by is None:
            current, shown = v, item
    shown = shown or listed[-1]
    info = {
        "method": shown["method"],
        "reviewer": shown["reviewer"],
        "created_at": shown["created_at"],
        "note": shown["note"],
        "versions": len(listed),
    }
    return _Gold(current.value, info, listed)


class _ValueKeys:
    """Comparable forms of raw JSON values, cached: the same few labels come back again and
    again (one instance per page, so span values, which rarely repeat, do not pile up)."""

    def __init__(self, task: TaskType) -> None:
        self.task = task
        self.cache: dict[str, Hashable] = {}

    def __call__(self, raw: str) -> Hashable:
        key = self.cache.get(raw)
        if key is None:
            key = self.cache[raw] = value_key(self.task, orjson.loads(raw))
        return key


def _pages(
    store: Store, project: Project, split: str | None, tally: _Tally
) -> Iterator[list[dict[str, Any]]]:
    """Records as dicts, page by page, with their current annotations and gold."""
    after = 0
    size = store.settings.export_batch_size
    task = project.task
    while True:
        key_of = _ValueKeys(task)
        with store.read() as conn:
            rows = record_queries.page_records(
                conn, project_id=project.id, after_id=after, limit=size, split=split
            )
            if not rows:
                return
            first, last = int(rows[0][0]), int(rows[-1][0])
            history: dict[int, list[Any]] = {}
            for g in queries.gold_history(
                conn, project_id=project.id, first_id=first, last_id=last
            ):
                history.setdefault(int(g.record_id), []).append(g)
            gold = {record: _gold(versions) for record, versions in history.items()}
            notes: dict[int, list[dict[str, Any]]] = {}
            for a in queries.current_annotations(
                conn, project_id=project.id, first_id=first, last_id=last
            ):
                record_id = int(a.record_id)
                empty = a.value in (None, "null")
                item: dict[str, Any] = {
                    "source": {"kind": a.kind, "name": a.name, "version": a.version},
                    "value": None if empty else orjson.Fragment(a.value),
                    "answer": a.answer,
                }
                for key in ("flag_reason", "duration_ms", "guidelines_version"):
                    if getattr(a, key) is not None:
                        item[key] = getattr(a, key)
                item["created_at"] = _time(a.created_at)
                counts = tally.counts.setdefault((a.kind, a.name, a.version or ""), [0, 0, 0])
                counts[0] += 1
                agrees = None
                final = gold.get(record_id)
                if final is not None and a.answer == "accept" and not empty:
                    agrees = a.value == final.value or key_of(a.value) == key_of(final.value)
                    counts[1] += 1
                    counts[2] += agrees
                item["agrees_with_gold"] = agrees
                notes.setdefault(record_id, []).append(item)
        tally.gold_records += len(gold)
        page = []
        for record_id, external_id, text, meta, split_name in rows:
            final = gold.get(record_id)
            page.append(
                {
                    "id": external_id,
                    "text": text,
                    "meta": orjson.Fragment(meta) if meta else _EMPTY,
                    "split": split_name,
                    "gold": None if final is None else orjson.Fragment(final.value),
                    "gold_info": None if final is None else final.info,
                    "gold_versions": () if final is None else final.versions,
                    "annotations": notes.get(record_id, ()),
                }
            )
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
        "gold_info": orjson.dumps(record["gold_info"]).decode() if record["gold_info"] else None,
        "gold_versions": orjson.dumps(record["gold_versions"]).decode(),
        "annotations": orjson.dumps(record["annotations"]).decode(),
    }


def _columns(task: TaskType) -> list[str]:
    label = "label" if task is TaskType.CLASSIFY else "labels"
    return [
        "id",
        "text",
        "split",
        label,
        "meta",
        "gold",
        "gold_info",
        "gold_versions",
        "annotations",
    ]


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
    """Write ``project`` to ``out`` (standard output when ``None``; not for Parquet).

    With a file ``out``, the agreement summary (each source against the final labels) is
    written beside it as ``<out>.annotators.json``; it is also in the returned report.
    """
    if format not in _WRITERS:
        raise InvalidInput(f"unknown export format {format!r}; formats: {', '.join(_WRITERS)}")
    if format == "parquet" and out is None:
        raise InvalidInput("Parquet export needs --out PATH (it cannot stream to a terminal)")
    if out is not None and out.parent and not out.parent.exists():
        raise InvalidInput(f"{out.parent}: the output directory does not exist")
    started = time.perf_counter()
    with store.read() as conn:
        project_row = project_queries.get_project(conn, slug=project)
    tally = _Tally()
    with _output(out) as handle:
        pages = _pages(store, project_row, split, tally)
        count = _WRITERS[format](pages, handle, task=project_row.task)
    report = ExportReport(
        project=project,
        records=count,
        seconds=time.perf_counter() - started,
        path=out,
        gold_records=tally.gold_records,
        agreement=tally.sources(),
    )
    if out is None:
        return report
    summary_path = out.with_name(out.name + SUMMARY_SUFFIX)
    summary = {"task": project_row.task.value, "split": split, **report.summary()}
    summary_path.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    return replace(report, summary_path=summary_path)


__all__ = ["EXPORT_FORMATS", "SUMMARY_SUFFIX", "ExportReport", "SourceAgreement", "export_project"]
