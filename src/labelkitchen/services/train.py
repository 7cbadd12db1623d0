"""Training the baseline on a project, evaluating it against the goal, and predicting.

Training data: gold, else the consensus (majority) of human answers; with ``weak=True`` also
the label model's labels, weighted by their confidence, for records no human labelled. Splits:
the project's own (records whose split is ``train``/``dev``/``test``), else a stable split by
content hash (80/10/10). Evaluation uses gold only. The model is stored, versioned, with its
metrics, settings and the hash of its training data; the pool's predictions are stored and,
for uncertainty strategies, become the queue's priorities.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import threading
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labelkitchen.errors import InvalidInput, NotFound
from labelkitchen.learn import TextClassifier, TrainConfig, evaluate_predictions
from labelkitchen.learn.strategies import get_strategy
from labelkitchen.schema import Project, TaskType
from labelkitchen.services import jobs
from labelkitchen.services.priorities import UNCERTAINTY, refresh_priorities
from labelkitchen.store import Store
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import training as queries
from labelkitchen.store.queries import weak as weak_queries

MODEL_KIND = "text_baseline.v1"
_SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class TrainReport:
    project: str
    version: int
    n_train: int
    n_weak: int
    n_dev: int
    n_test: int
    metrics: dict[str, Any]
    goal: dict[str, Any]
    dataset_hash: str
    seconds: float


def _hash_split(record_id: int, text: str) -> str:
    bucket = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big") % 10
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def _label_of(task: TaskType, value: Any) -> Any:
    if task is TaskType.CLASSIFY:
        return value.get("label")
    return tuple(sorted(value.get("labels", [])))


def _consensus(task: TaskType, values: list[Any]) -> Any:
    counts = Counter(_label_of(task, v) for v in values)
    (top, n), *rest = counts.most_common()
    if rest and rest[0][1] == n:
        return None  # a tie: no consensus
    return top


@dataclass
class _Data:
    texts: dict[str, list[str]]
    labels: dict[str, list[Any]]
    weights: list[float]
    ids: dict[str, list[int]]
    n_weak: int
    pool_ids: list[int]
    pool_texts: list[str]
    max_annotation_id: int = 0


def _collect(store: Store, project: Project, *, weak: bool) -> _Data:
    task = project.task
    with store.read() as conn:
        max_annotation_id = queries.max_annotation_id(conn, project_id=project.id)
        rows = list(queries.iter_training_rows(conn, project_id=project.id))
        gold = weak_queries.current_gold_values(conn, project_id=project.id)
        human: dict[int, list[Any]] = defaultdict(list)
        weak_labels: dict[int, Any] = {}
        kinds = ["human", "model"] if weak else ["human"]
        for record_id, kind, name, value in queries.current_votes(
            conn, project_id=project.id, kinds=kinds
        ):
            if kind == "human":
                human[record_id].append(value)
            elif name == "label_model":
                weak_labels[record_id] = value
    own_splits = any(split in _SPLITS for _, _, split in rows)
    data = _Data(
        {s: [] for s in _SPLITS},
        {s: [] for s in _SPLITS},
        [],
        {s: [] for s in _SPLITS},
        0,
        [],
        [],
        max_annotation_id,
    )
    for record_id, text, split in rows:
        split = split if own_splits else _hash_split(record_id, text)
        if split not in _SPLITS:
            split = "train"
        label, weight = None, 1.0
        if record_id in gold:
            label = _label_of(task, gold[record_id])
        elif split == "train" and record_id in human:
            label = _consensus(task, human[record_id])
        elif split == "train" and record_id in weak_labels:
            value = weak_labels[record_id]
            label = _label_of(task, value)
            weight = max(value.get("probs", {}).values(), default=1.0)
            data.n_weak += 1
        if label is None:
            data.pool_ids.append(record_id)
            data.pool_texts.append(text)
            continue
        if split != "train" and record_id not in gold:
            continue  # dev/test are scored on gold only
        data.texts[split].append(text)
        data.labels[split].append(list(label) if task is TaskType.MULTILABEL else label)
        data.ids[split].append(record_id)
        if split == "train":
            data.weights.append(float(weight))
    return data


def _dataset_hash(ids: Sequence[int], labels: Sequence[Any]) -> str:
    digest = hashlib.sha256()
    for record_id, label in sorted(zip(ids, labels, strict=True), key=lambda p: p[0]):
        digest.update(f"{record_id}:{label}\n".encode())
    return digest.hexdigest()


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def _unzip(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if "/" in name or "\\" in name or name.startswith("."):
                raise InvalidInput(f"unexpected file {name!r} in a stored model")
            (folder / name).write_bytes(archive.read(name))
    return folder


def train_project(
    store: Store, *, project: str, weak: bool = False, config: TrainConfig | None = None
) -> TrainReport:
    """Train, evaluate, store and (for uncertainty queues) re-prioritise; see the module doc."""
    started = time.perf_counter()
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
    if row.task is TaskType.SPANS:
        raise InvalidInput(
            "the text baseline trains classify and multilabel projects; the span "
            "tagger is not in the workbench yet"
        )
    data = _collect(store, row, weak=weak)
    if not data.texts["train"]:
        raise InvalidInput(
            f"project {project!r} has no training labels yet: annotate, import labels, or fit "
            "a label model and train with --weak"
        )
    config = config or TrainConfig(task=row.task.value)
    labels = list(row.label_names)
    model = TextClassifier(config).fit(
        data.texts["train"],
        data.labels["train"],
        label_names=labels,
        sample_weight=data.weights,
        dev_texts=data.texts["dev"] or None,
        dev_labels=data.labels["dev"] or None,
    )
    metrics: dict[str, Any] = {}
    for split in ("dev", "test"):
        if data.texts[split]:
            result = evaluate_predictions(
                data.labels[split],
                model.predict(data.texts[split]),
                labels=labels,
                task=row.task.value,
            )
            metrics[split] = result.to_dict()
    goal = _goal(row, metrics)
    dataset_hash = _dataset_hash(data.ids["train"], data.labels["train"])
    with tempfile.TemporaryDirectory() as tmp:
        artifact = _zip_folder(model.save(Path(tmp) / "model"))
    pool_probs = model.predict_proba(data.pool_texts) if data.pool_texts else np.zeros((0, 0))
    with store.write() as conn:
        version = weak_queries.next_model_version(conn, project_id=row.id, name=MODEL_KIND)
        model_id = weak_queries.insert_model(
            conn,
            project_id=row.id,
            name=MODEL_KIND,
            version=version,
            kind=MODEL_KIND,
            artifact=artifact,
            metrics={**metrics, "goal": goal},
            params={"config": asdict(config), "weak": weak, "n_train": len(data.texts["train"])},
            dataset_hash=dataset_hash,
        )
        _store_predictions(conn, row, model_id, data, pool_probs, labels)
    _MODEL_CACHE.pop(row.id, None)
    if row.spec.settings.queue_strategy in UNCERTAINTY:
        refresh_priorities(store, project=row)
    return TrainReport(
        project=project,
        version=version,
        n_train=len(data.texts["train"]),
        n_weak=data.n_weak,
        n_dev=len(data.texts["dev"]),
        n_test=len(data.texts["test"]),
        metrics=metrics,
        goal=goal,
        dataset_hash=dataset_hash,
        seconds=time.perf_counter() - started,
    )


def _goal(project: Project, metrics: dict[str, Any]) -> dict[str, Any]:
    goal = project.spec.goal
    split = "test" if "test" in metrics else "dev" if "dev" in metrics else None
    value = None
    if split is not None:
        evaluation = metrics[split]
        if goal.metric.value in ("precision", "recall", "f1"):
            value = evaluation["per_label"].get(goal.label or "", {}).get(goal.metric.value)
        else:
            value = evaluation.get(goal.metric.value)
    return {
        "metric": goal.metric.value,
        "label": goal.label,
        "target": goal.target,
        "value": value,
        "split": split,
        "met": None if value is None or goal.target is None else value >= goal.target,
    }


def _store_predictions(
    conn: Any,
    project: Project,
    model_id: int,
    data: _Data,
    probs: np.ndarray[Any, Any],
    labels: list[str],
) -> None:
    if not data.pool_ids:
        return
    scores = get_strategy("margin.v1")(probs)
    rows = [
        {
            "record_id": record_id,
            "probs": {name: float(p) for name, p in zip(labels, row, strict=True)},
            "value": {"label": labels[int(np.argmax(row))]},
            "score": float(score),
        }
        for record_id, row, score in zip(data.pool_ids, probs, scores, strict=True)
    ]
    queries.replace_predictions(conn, project_id=project.id, model_id=model_id, rows=rows)


# --- prediction -----------------------------------------------------------------------------

_MODEL_CACHE: dict[int, tuple[int, TextClassifier]] = {}
_CACHE_LOCK = threading.Lock()


def current_model(store: Store, project: Project) -> tuple[int, int, TextClassifier]:
    """``(model id, version, model)`` of the newest trained model (cached in memory)."""
    with store.read() as conn:
        row = queries.latest_model(conn, project_id=project.id, kind=MODEL_KIND)
    if row is None:
        raise NotFound(
            f"project {project.slug!r} has no trained model yet: labelkitchen train {project.slug}"
        )
    with _CACHE_LOCK:
        cached = _MODEL_CACHE.get(project.id)
        if cached is not None and cached[0] == row.id:
            return int(row.id), int(row.version), cached[1]
    with tempfile.TemporaryDirectory() as tmp:
        model = TextClassifier.load(_unzip(row.artifact, Path(tmp)))
    with _CACHE_LOCK:
        _MODEL_CACHE[project.id] = (int(row.id), model)
    return int(row.id), int(row.version), model


def predict_texts(store: Store, *, project: Project, texts: Sequence[str]) -> list[dict[str, Any]]:
    """``{"label", "probs"}`` (classify) or ``{"labels", "probs"}`` (multilabel) per text."""
    limit = store.settings.max_record_chars
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(f"texts[{index}]: expected a non-empty string")
        if len(text) > limit:
            raise InvalidInput(
                f"texts[{index}]: {len(text):,} characters, over the limit of {limit:,}"
            )
    _, _, model = current_model(store, project)
    probs = model.predict_proba(list(texts))
    predicted = model.predict(list(texts)) if texts else []
    names = model.label_names_
    key = "label" if project.task is TaskType.CLASSIFY else "labels"
    return [
        {key: label, "probs": {n: float(p) for n, p in zip(names, row, strict=True)}}
        for label, row in zip(predicted, probs, strict=True)
    ]


def export_model(store: Store, *, project: str, directory: Path) -> Path:
    """Write the newest model as a self-contained folder ``labelkitchen model serve`` runs."""
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
        stored = queries.latest_model(conn, project_id=row.id, kind=MODEL_KIND)
    if stored is None:
        raise NotFound(f"project {project!r} has no trained model yet")
    directory.mkdir(parents=True, exist_ok=True)
    _unzip(stored.artifact, directory)
    (directory / "card.json").write_text(
        json.dumps(
            {
                "project": project,
                "task": row.task.value,
                "version": int(stored.version),
                "metrics": stored.metrics,
                "dataset_hash": stored.dataset_hash,
                "created_at": str(stored.created_at),
            },
            indent=2,
            default=str,
        ),
        encoding="utf-8",
    )
    return directory


# --- retraining in the background ------------------------------------------------------------

TRAIN_JOB = "train"


def _trained_through(store: Store, project: Project) -> int:
    with store.read() as conn:
        row = queries.latest_model(conn, project_id=project.id, kind=MODEL_KIND)
    return int((row.params or {}).get("max_annotation_id", 0)) if row is not None else 0


def maybe_schedule_retrain(store: Store, *, project: Project) -> int | None:
    """Queue a training job once ``retrain_every`` new human answers arrived; returns its id."""
    every = project.spec.settings.retrain_every
    if every <= 0:
        return None
    since = _trained_through(store, project)
    with store.read() as conn:
        fresh = queries.count_human_answers_after(
            conn, project_id=project.id, after_id=since, limit=every
        )
    if fresh < every:
        return None
    return jobs.enqueue(store, kind=TRAIN_JOB, project_id=project.id, params={"weak": False})


def run_train_job(store: Store, job: Any) -> dict[str, Any]:
    """The worker's handler for ``train`` jobs."""
    with store.read() as conn:
        project = project_queries.get_project(conn, project_id=int(job.project_id))
    report = train_project(
        store, project=project.slug, weak=bool((job.params or {}).get("weak", False))
    )
    return {"version": report.version, "n_train": report.n_train, "goal": report.goal}


__all__ = [
    "TRAIN_JOB",
    "TrainReport",
    "current_model",
    "export_model",
    "maybe_schedule_retrain",
    "predict_texts",
    "run_train_job",
    "train_project",
]
