"""Project statistics: records by split, annotations by source and answer, label counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from labelkitchen.schema import TaskType
from labelkitchen.store import Store
from labelkitchen.store.queries import exporting as queries
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import records as record_queries


@dataclass(frozen=True)
class SourceCount:
    kind: str
    name: str
    version: str
    answer: str
    count: int


@dataclass(frozen=True)
class ProjectStats:
    project: str
    task: str
    records: int
    records_by_split: dict[str, int]
    annotations: list[SourceCount]
    # label -> {"gold": n, "human": n, "import": n, ...} over current accepted values
    labels: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _labels_of(task: TaskType, raw: str | None) -> list[str]:
    if not raw or raw == "null":
        return []
    value = orjson.loads(raw)
    if task is TaskType.CLASSIFY:
        return [value["label"]] if "label" in value else []
    if task is TaskType.MULTILABEL:
        return list(value.get("labels", []))
    return [span["label"] for span in value.get("spans", [])]


def project_stats(store: Store, *, project: str) -> ProjectStats:
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
        splits = record_queries.count_by_split(conn, project_id=row.id)
        sources = [
            SourceCount(r.kind, r.name, r.version, r.answer, int(r.n))
            for r in queries.count_annotations(conn, project_id=row.id)
        ]
        counts: dict[str, Counter[str]] = {name: Counter() for name in row.label_names}
        for gold in (True, False):
            for kind, raw in queries.iter_values(conn, project_id=row.id, gold=gold):
                for label in _labels_of(row.task, raw):
                    counts.setdefault(label, Counter())[kind] += 1
    return ProjectStats(
        project=row.slug,
        task=row.task.value,
        records=sum(splits.values()),
        records_by_split={(k if k is not None else "(none)"): v for k, v in splits.items()},
        annotations=sources,
        labels={label: dict(counter) for label, counter in counts.items()},
    )


__all__ = ["ProjectStats", "SourceCount", "project_stats"]
