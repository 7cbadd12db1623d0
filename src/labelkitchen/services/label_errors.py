"""The suspected-errors review queue: labels a cross-validated model or a near-duplicate
contradicts, most suspect first.

The labels checked: each record's current gold, else the strict plurality of its current
accepted human answers (records whose annotators tie are left out). The core
(:func:`labelkitchen.learn.label_errors.find_label_errors`) ranks them; the run is stored as
the result of a ``label_errors`` job (one JSON document in ``jobs``; no table of its own), from
the background worker (:func:`start_suspected_errors`) or the CLI
(:func:`compute_suspected_errors`), so the queue (:func:`suspected_errors`) reads fast.

What a run keeps: every flagged record (cleanlab's issue set, near-duplicate contradictions)
and the lowest-scoring 10% of the records, at most :data:`MAX_ITEMS`. A record re-reviewed
after the run (a newer gold version by a reviewer or an import) drops out of the queue.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from labelkitchen.errors import InvalidInput
from labelkitchen.learn.label_errors import find_label_errors
from labelkitchen.schema import Project, TaskType
from labelkitchen.services import jobs
from labelkitchen.services.accounts import Access, require
from labelkitchen.services.review import REVIEWED_METHODS, value_key, votes_from_rows
from labelkitchen.store import Store
from labelkitchen.store.queries import label_errors as queries
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import review as review_queries

LABEL_ERRORS_JOB = "label_errors"
KEEP_SHARE = 0.10
MAX_ITEMS = 10_000
DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class LabelledRecords:
    """The labels a run checks, in record id order: ``labels`` as label names (classify) or
    sorted tuples of names (multilabel); ``sources``: the gold method or ``"annotators"``;
    ``gold_ids``: the gold version checked (``None`` for annotators' labels)."""

    project: Project
    record_ids: list[int]
    texts: list[str]
    labels: list[str | tuple[str, ...]]
    sources: list[str]
    gold_ids: list[int | None]
    skipped: int


@dataclass(frozen=True)
class SuspectedError:
    """One queue item. ``given``/``suggested``: a label name (classify) or a list of names
    (multilabel); ``score``: the model's confidence in the given label (0 to 1, lower: more
    suspect); ``neighbours``: record ids of near-duplicates labelled differently."""

    record_id: int
    external_id: str | None
    text: str
    given: Any
    given_source: str
    suggested: Any
    score: float
    rank: int
    reasons: list[str]
    neighbours: list[int]


@dataclass(frozen=True)
class SuspectedErrors:
    """The stored queue: the newest run's items still awaiting review, and the state of the
    newest job (``status`` ``None``: never computed)."""

    project: str
    status: str | None
    job_id: int | None
    error: str | None
    computed_at: str | None
    n_records: int
    n_flagged: int
    folds: int | None
    items: list[SuspectedError]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StartedJob:
    job_id: int
    queued: bool  # False: a run was already queued or running; job_id is that one


def _check_task(project: Project) -> None:
    if project.task is TaskType.SPANS:
        raise InvalidInput(
            f"suspected label errors rank classify and multilabel labels; project "
            f"{project.slug!r} is a spans project"
        )


def _label(key: Hashable) -> str | tuple[str, ...]:
    """A label as ``value_key`` gives it: a name (classify) or sorted names (multilabel)."""
    return tuple(str(name) for name in key) if isinstance(key, tuple) else str(key)


def collect_labels(store: Store, *, project: str) -> LabelledRecords:
    """The labels to check, read in one transaction (see the module doc)."""
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
        _check_task(row)
        gold = review_queries.current_gold(conn, project_id=row.id)
        votes = votes_from_rows(row, review_queries.human_answers(conn, project_id=row.id))
        chosen: dict[int, tuple[str | tuple[str, ...], str, int | None]] = {
            record_id: (_label(value_key(row.task, current.value)), current.method, current.id)
            for record_id, current in gold.items()
        }
        for record_id in votes.record_ids:
            if record_id in chosen:
                continue
            counts = Counter(votes.record_keys(record_id)).most_common(2)
            if counts and (len(counts) == 1 or counts[0][1] > counts[1][1]):
                chosen[record_id] = (_label(counts[0][0]), "annotators", None)
        texts = review_queries.records_by_id(conn, ids=sorted(chosen))
    names = set(row.label_names)
    records = LabelledRecords(row, [], [], [], [], [], 0)
    skipped = 0
    for record_id in sorted(chosen):
        label, source, gold_id = chosen[record_id]
        known = {label} <= names if isinstance(label, str) else set(label) <= names
        if record_id not in texts or not known:
            skipped += 1  # deleted meanwhile, or a label no longer in the label set
            continue
        records.record_ids.append(record_id)
        records.texts.append(texts[record_id].text)
        records.labels.append(label)
        records.sources.append(source)
        records.gold_ids.append(gold_id)
    return replace(records, skipped=skipped)


def _run(
    records: LabelledRecords,
    *,
    folds: int,
    random_state: int,
    progress: Callable[[int, int], None] | None,
) -> dict[str, Any]:
    """Run the core over ``records``; the JSON result a job stores."""
    project = records.project
    started = time.perf_counter()
    index = {name: k for k, name in enumerate(project.label_names)}
    if not records.record_ids:
        raise InvalidInput(
            f"project {project.slug!r} has no labels to check yet: gold or human answers"
        )
    encoded: list[Any] = [
        index[label] if isinstance(label, str) else [index[name] for name in label]
        for label in records.labels
    ]
    result = find_label_errors(
        records.texts,
        encoded,
        class_names=project.label_names,
        task=project.task.value,
        folds=folds,
        random_state=random_state,
        progress=progress,
    )
    flagged = result.flagged()
    keep = max(math.ceil(KEEP_SHARE * result.n_records), 1)
    items = []
    for item in result.ranked():
        if item.rank >= keep and not flagged[item.index]:
            continue
        items.append(
            {
                "record_id": records.record_ids[item.index],
                "gold_id": records.gold_ids[item.index],
                "given": _names(project, item.given),
                "given_source": records.sources[item.index],
                "suggested": _names(project, item.suggested),
                "score": round(item.score, 6),
                "rank": item.rank,
                "reasons": list(item.reasons),
                "neighbours": [records.record_ids[i] for i in item.neighbours],
            }
        )
        if len(items) >= MAX_ITEMS:
            break
    return {
        "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 3),
        "task": project.task.value,
        "method": result.method,
        "folds": result.folds,
        "n_records": result.n_records,
        "n_issues": int(result.is_issue.sum()),
        "n_near_duplicates": len(result.neighbours),
        "n_flagged": int(flagged.sum()),
        "skipped": records.skipped,
        "items": items,
    }


def _names(project: Project, label: int | tuple[int, ...]) -> Any:
    names = project.label_names
    return names[label] if isinstance(label, int) else [names[k] for k in label]


def compute_suspected_errors(
    store: Store,
    *,
    project: str,
    folds: int = DEFAULT_FOLDS,
    random_state: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Compute the queue now (the CLI) and store it as a finished job; returns the job id.
    ``progress(done, total)`` is called after each cross-validation fold."""
    records = collect_labels(store, project=project)
    result = _run(records, folds=folds, random_state=random_state, progress=progress)
    return jobs.record_done(
        store,
        kind=LABEL_ERRORS_JOB,
        project_id=records.project.id,
        params={"folds": folds, "random_state": random_state},
        result=result,
    )


def start_suspected_errors(
    store: Store, *, access: Access, folds: int = DEFAULT_FOLDS, random_state: int = 0
) -> StartedJob:
    """Queue a background run (reviewers); a run already queued or running is reused."""
    require(access.can_review, "look for suspected label errors")
    _check_task(access.project)
    if folds < 2:
        raise InvalidInput(f"folds must be at least 2; got {folds}")
    job_id = jobs.enqueue(
        store,
        kind=LABEL_ERRORS_JOB,
        project_id=access.project.id,
        params={"folds": folds, "random_state": random_state},
    )
    if job_id is not None:
        return StartedJob(job_id, True)
    busy = jobs.latest(store, kind=LABEL_ERRORS_JOB, project_id=access.project.id)
    return StartedJob(int(busy.id), False)


def run_label_errors_job(store: Store, job: Any) -> dict[str, Any]:
    """The worker's handler for ``label_errors`` jobs: the result is the stored queue."""
    with store.read() as conn:
        project = project_queries.get_project(conn, project_id=int(job.project_id))
    params = job.params or {}
    job_id = int(job.id)

    def progress(done: int, total: int) -> None:
        jobs.set_progress(
            store, job_id=job_id, progress=done / (total + 1), message=f"fold {done} of {total}"
        )

    records = collect_labels(store, project=project.slug)
    return _run(
        records,
        folds=int(params.get("folds", DEFAULT_FOLDS)),
        random_state=int(params.get("random_state", 0)),
        progress=progress,
    )


def suspected_errors(store: Store, *, access: Access, limit: int = 50) -> SuspectedErrors:
    """The newest stored run's items, most suspect first, without the records re-reviewed since
    (reviewers)."""
    require(access.can_review, "see suspected label errors")
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1; got {limit}")
    project = access.project
    newest = jobs.latest(store, kind=LABEL_ERRORS_JOB, project_id=project.id)
    done = newest
    if newest is not None and newest.status != "done":
        done = jobs.latest(store, kind=LABEL_ERRORS_JOB, project_id=project.id, status_="done")
    result: dict[str, Any] = (done.result or {}) if done is not None else {}
    stored = result.get("items", [])
    items: list[SuspectedError] = []
    with store.read() as conn:
        gold = queries.current_gold_of(
            conn, project_id=project.id, record_ids=[i["record_id"] for i in stored]
        )
        pending = [i for i in stored if not _reviewed_since(i, gold.get(i["record_id"]))]
        texts = review_queries.records_by_id(conn, ids=[i["record_id"] for i in pending[:limit]])
    for item in pending[:limit]:
        record = texts.get(item["record_id"])
        if record is None:
            continue  # deleted since the run
        items.append(
            SuspectedError(
                record_id=item["record_id"],
                external_id=record.external_id,
                text=record.text,
                given=item["given"],
                given_source=item["given_source"],
                suggested=item["suggested"],
                score=item["score"],
                rank=item["rank"],
                reasons=item["reasons"],
                neighbours=item["neighbours"],
            )
        )
    return SuspectedErrors(
        project=project.slug,
        status=None if newest is None else str(newest.status),
        job_id=None if newest is None else int(newest.id),
        error=_last_line(newest.error) if newest is not None and newest.error else None,
        computed_at=result.get("computed_at"),
        n_records=int(result.get("n_records", 0)),
        n_flagged=int(result.get("n_flagged", 0)),
        folds=result.get("folds"),
        items=items,
    )


def _reviewed_since(item: dict[str, Any], current: Any) -> bool:
    """A newer gold version than the one checked, by a reviewer or an import."""
    return (
        current is not None
        and int(current.id) != item["gold_id"]
        and current.method in REVIEWED_METHODS
    )


def _last_line(error: str) -> str:
    """A failed job stores its traceback; the queue shows its last line (the message)."""
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1] if lines else error


__all__ = [
    "DEFAULT_FOLDS",
    "LABEL_ERRORS_JOB",
    "LabelledRecords",
    "StartedJob",
    "SuspectedError",
    "SuspectedErrors",
    "collect_labels",
    "compute_suspected_errors",
    "run_label_errors_job",
    "start_suspected_errors",
    "suspected_errors",
]
