"""Training the baseline on a project, evaluating it against the goal, and predicting.

``classify``/``multilabel`` projects train the text baseline (``text_baseline.v1``); ``spans``
projects the span tagger (``span_tagger.v1``: spaCy ``ner``, or ``spancat`` when the project
allows overlapping spans). Training data: gold, else the consensus of human answers (the
majority label; for spans, every span marked by more than half of the record's annotators);
with ``weak=True`` also the label model's labels, weighted by their confidence (span tagger: not
weighted, spaCy has no per-example weights), for records no human labelled. Splits:
the project's own (records whose split is ``train``/``dev``/``test``), else a stable split by
content hash (80/10/10). Evaluation uses gold only (for spans: entity-level, exact offsets and
label). The model is stored, versioned, with its metrics, settings and the hash of its training
data; the pool's predictions are stored (the annotation screen shows them as the model's
suggestion) and, for uncertainty strategies, become the queue's priorities (for spans: the
tagger's per-record uncertainty, whichever uncertainty strategy).

Weak spans (``weak=True`` on a ``spans`` project): the spans ``labelkitchen weak fit`` stored,
and for records it did not store, the span LFs' stored votes projected onto the project
tokenizer's tokens as BIO tags and aggregated by majority vote
(:func:`labelkitchen.services.weak_spans.weak_spans`). A weak span's confidence is the mean, over
its tokens, of the probability its label got there (with majority vote: the vote share); a record
is used only when every one of its weak spans has a confidence above
:data:`WEAK_SPAN_MIN_CONFIDENCE` (a strict majority of the LFs that voted on its tokens), and then
with all its weak spans, unweighted. Contested records stay in the pool, so they are predicted and
can be asked about.
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
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select

from labelkitchen.errors import InvalidInput, NotFound
from labelkitchen.learn import (
    SpanConfig,
    SpanTagger,
    TextClassifier,
    TrainConfig,
    evaluate_predictions,
    evaluate_spans,
    majority_spans,
)
from labelkitchen.learn.artifacts import SPAN_TAGGER, TEXT_BASELINE, Model, predict_answers
from labelkitchen.learn.strategies import get_strategy
from labelkitchen.schema import Project, TaskType
from labelkitchen.services import jobs
from labelkitchen.services.priorities import UNCERTAINTY, refresh_priorities
from labelkitchen.store import Store
from labelkitchen.store import tables as t
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import training as queries
from labelkitchen.store.queries import weak as weak_queries

MODEL_KIND = TEXT_BASELINE
SPAN_MODEL_KIND = SPAN_TAGGER
WEAK_SPAN_MIN_CONFIDENCE = 0.5
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
    kind: str = MODEL_KIND
    alignment: dict[str, int] | None = None  # span tagger: how training spans met its tokens


def model_kind(project: Project) -> str:
    """The kind of model a project trains: the span tagger for ``spans``, else the baseline."""
    return SPAN_MODEL_KIND if project.task is TaskType.SPANS else MODEL_KIND


def _hash_split(record_id: int, text: str) -> str:
    bucket = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big") % 10
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def _label_of(task: TaskType, value: Any) -> Any:
    if task is TaskType.CLASSIFY:
        return value.get("label")
    if task is TaskType.SPANS:
        if not isinstance(value.get("spans"), list):
            return None
        return tuple(
            sorted(
                (int(s["start"]), int(s["end"]), str(s["label"]))
                for s in value["spans"]
                if float(s.get("score", 1.0)) >= 0.5
            )
        )
    return tuple(sorted(value.get("labels", [])))


def _consensus(task: TaskType, values: list[Any]) -> Any:
    if task is TaskType.SPANS:
        return tuple(majority_spans([v.get("spans", []) for v in values]))
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
    if weak and task is TaskType.SPANS:
        weak_labels = _confident_weak_spans(store, project, rows, weak_labels)
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
        label: Any = None
        weight = 1.0
        if record_id in gold:
            label = _label_of(task, gold[record_id])
        elif split == "train" and record_id in human:
            label = _consensus(task, human[record_id])
        elif split == "train" and record_id in weak_labels:
            value = weak_labels[record_id]
            label = _label_of(task, value)
            weight = (
                float(value["confidence"])
                if "confidence" in value
                else max((value.get("probs") or {}).values(), default=1.0)
            )
            data.n_weak += label is not None
        if label is None:
            data.pool_ids.append(record_id)
            data.pool_texts.append(text)
            continue
        if split != "train" and record_id not in gold:
            continue  # dev/test are scored on gold only
        data.texts[split].append(text)
        data.labels[split].append(label if task is TaskType.CLASSIFY else list(label))
        data.ids[split].append(record_id)
        if split == "train":
            data.weights.append(float(weight))
    return data


def _confident_weak_spans(
    store: Store, project: Project, rows: list[Any], stored: dict[int, Any]
) -> dict[int, Any]:
    """The weak spans training may use: those ``weak fit`` stored, and for the other records the
    span LFs' votes aggregated by majority vote (:func:`~labelkitchen.services.weak_spans.
    weak_spans`), where every span's confidence is above :data:`WEAK_SPAN_MIN_CONFIDENCE`."""
    from labelkitchen.services import weak_spans

    texts = {record_id: text for record_id, text, _ in rows if record_id not in stored}
    found: dict[int, Any] = dict(stored)
    with store.read() as conn:
        has_lfs = bool(weak_queries.lf_sources(conn, project_id=project.id))
    if has_lfs and texts:
        data = weak_spans.project_span_votes(store, project)
        found.update(weak_spans.weak_spans(data, texts, project)[0])
    return {
        record_id: value
        for record_id, value in found.items()
        if value.get("spans") and float(value.get("confidence", 0.0)) > WEAK_SPAN_MIN_CONFIDENCE
    }


def _dataset_hash(ids: Sequence[int], labels: Sequence[Any]) -> str:
    digest = hashlib.sha256()
    for record_id, label in sorted(zip(ids, labels, strict=True), key=lambda p: p[0]):
        digest.update(f"{record_id}:{label}\n".encode())
    return digest.hexdigest()


def _zip_folder(folder: Path) -> bytes:
    """The model folder's files (the span tagger's has subfolders) as one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _unzip(data: bytes, folder: Path) -> Path:
    """Unpack a stored model; only plain relative paths (no ``..``, no hidden names)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            parts = PurePosixPath(name).parts
            if (
                not parts
                or "\\" in name
                or name.startswith("/")
                or any(part in ("", ".", "..") or part.startswith(".") for part in parts)
            ):
                raise InvalidInput(f"unexpected file {name!r} in a stored model")
            if name.endswith("/"):
                continue
            target = folder.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(name))
    return folder


def train_project(
    store: Store,
    *,
    project: str,
    weak: bool = False,
    config: TrainConfig | SpanConfig | None = None,
) -> TrainReport:
    """Train, evaluate, store and (for uncertainty queues) re-prioritise; see the module doc.

    ``config``: a :class:`TrainConfig` for ``classify``/``multilabel`` projects, a
    :class:`SpanConfig` for ``spans`` projects (default: ``ner``, or ``spancat`` where the
    project allows overlapping spans).
    """
    started = time.perf_counter()
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
    spans = row.task is TaskType.SPANS
    wanted = SpanConfig if spans else TrainConfig
    if config is not None and not isinstance(config, wanted):
        raise InvalidInput(
            f"a {row.task.value} project trains with a {wanted.__name__}, "
            f"got a {type(config).__name__}"
        )
    data = _collect(store, row, weak=weak)
    if not data.texts["train"]:
        raise InvalidInput(
            f"project {project!r} has no training labels yet: annotate, import labels, or fit "
            "a label model and train with --weak"
        )
    labels = list(row.label_names)
    kind = model_kind(row)
    metrics: dict[str, Any] = {}
    alignment: dict[str, int] | None = None
    model: Model
    if isinstance(config, SpanConfig) or (config is None and spans):
        span_config = config if isinstance(config, SpanConfig) else _default_span_config(row)
        tagger = SpanTagger(span_config).fit(
            data.texts["train"],
            data.labels["train"],
            label_names=labels,
            dev_texts=data.texts["dev"] or None,
            dev_spans=data.labels["dev"] or None,
        )
        for split in ("dev", "test"):
            if data.texts[split]:
                metrics[split] = evaluate_spans(
                    data.labels[split], tagger.predict(data.texts[split]), labels=labels
                ).to_dict()
        alignment = asdict(tagger.alignment_)
        metrics["alignment"] = alignment
        used_config: dict[str, Any] = asdict(span_config)
        extra: dict[str, Any] = {"best_epoch": tagger.best_epoch_, "history": tagger.history_}
        model = tagger
    else:
        text_config = (
            config if isinstance(config, TrainConfig) else TrainConfig(task=row.task.value)
        )
        classifier = TextClassifier(text_config).fit(
            data.texts["train"],
            data.labels["train"],
            label_names=labels,
            sample_weight=data.weights,
            dev_texts=data.texts["dev"] or None,
            dev_labels=data.labels["dev"] or None,
        )
        for split in ("dev", "test"):
            if data.texts[split]:
                metrics[split] = evaluate_predictions(
                    data.labels[split],
                    classifier.predict(data.texts[split]),
                    labels=labels,
                    task=row.task.value,
                ).to_dict()
        used_config = asdict(text_config)
        extra = {}
        model = classifier
    goal = _goal(row, metrics)
    dataset_hash = _dataset_hash(data.ids["train"], data.labels["train"])
    with tempfile.TemporaryDirectory() as tmp:
        artifact = _zip_folder(model.save(Path(tmp) / "model"))
    rows = _pool_predictions(model, data, labels)
    with store.write() as conn:
        version = weak_queries.next_model_version(conn, project_id=row.id, name=kind)
        model_id = weak_queries.insert_model(
            conn,
            project_id=row.id,
            name=kind,
            version=version,
            kind=kind,
            artifact=artifact,
            metrics={**metrics, "goal": goal},
            params={
                "config": used_config,
                "weak": weak,
                "n_train": len(data.texts["train"]),
                "max_annotation_id": data.max_annotation_id,
                **extra,
            },
            dataset_hash=dataset_hash,
        )
        # always replaced: an older model's predictions never outlive a newer model
        queries.replace_predictions(conn, project_id=row.id, model_id=model_id, rows=rows)
    with _CACHE_LOCK:
        _MODEL_CACHE.pop(_cache_key(store, row.id), None)
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
        kind=kind,
        alignment=alignment,
    )


def _default_span_config(project: Project) -> SpanConfig:
    overlapping = project.spec.settings.allow_overlapping_spans
    return SpanConfig(component="spancat" if overlapping else "ner")


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


def _pool_predictions(model: Model, data: _Data, labels: list[str]) -> list[dict[str, Any]]:
    """Rows for the predictions table: the model's answer on every unlabelled record, with a
    score (higher: ask a human sooner): the margin for the text baseline, the span tagger's
    uncertainty for spans (whose rows carry no class probabilities)."""
    if not data.pool_ids:
        return []
    if isinstance(model, SpanTagger):
        return [
            {
                "record_id": record_id,
                "probs": {},
                "value": {"spans": tagged.spans},
                "score": tagged.uncertainty,
            }
            for record_id, tagged in zip(data.pool_ids, model.tag(data.pool_texts), strict=True)
        ]
    probs = model.predict_proba(data.pool_texts)
    scores = get_strategy("margin.v1")(probs)
    predicted = model.labels_from_proba(probs)  # multilabel: the labels over their thresholds
    key = "labels" if model.config.task == "multilabel" else "label"
    return [
        {
            "record_id": record_id,
            "probs": {name: float(p) for name, p in zip(labels, row, strict=True)},
            "value": {key: answer},
            "score": float(score),
        }
        for record_id, row, answer, score in zip(
            data.pool_ids, probs, predicted, scores, strict=True
        )
    ]


# --- prediction -----------------------------------------------------------------------------

_MODEL_CACHE: dict[tuple[str, int], tuple[int, Model]] = {}
_CACHE_LOCK = threading.Lock()


def _cache_key(store: Store, project_id: int) -> tuple[str, int]:
    """Per database and project: ids repeat across databases (tests open many in a process)."""
    return str(store.engine.url), project_id


def current_model(store: Store, project: Project) -> tuple[int, int, Model]:
    """``(model id, version, model)`` of the newest trained model (cached in memory): a
    :class:`TextClassifier`, or a :class:`SpanTagger` for ``spans`` projects."""
    kind = model_kind(project)
    with store.read() as conn:
        newest = _newest_model(conn, project_id=project.id, kind=kind)
        if newest is None:
            raise NotFound(
                f"project {project.slug!r} has no trained model yet: "
                f"labelkitchen train {project.slug}"
            )
        with _CACHE_LOCK:
            cached = _MODEL_CACHE.get(_cache_key(store, project.id))
        if cached is not None and cached[0] == newest[0]:
            return newest[0], newest[1], cached[1]
        row = queries.latest_model(conn, project_id=project.id, kind=kind)
    model: Model
    with tempfile.TemporaryDirectory() as tmp:
        folder = _unzip(row.artifact, Path(tmp))
        model = SpanTagger.load(folder) if kind == SPAN_MODEL_KIND else TextClassifier.load(folder)
    with _CACHE_LOCK:
        _MODEL_CACHE[_cache_key(store, project.id)] = (int(row.id), model)
    return int(row.id), int(row.version), model


def _newest_model(conn: Any, *, project_id: int, kind: str) -> tuple[int, int] | None:
    """``(id, version)`` of the newest ready model, without reading its artifact (megabytes):
    the check every ``/predict`` makes before using the cached model."""
    m = t.models
    row = conn.execute(
        select(m.c.id, m.c.version)
        .where(m.c.project_id == project_id, m.c.kind == kind, m.c.status == "ready")
        .order_by(m.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row.id), int(row.version))


def predict_texts(store: Store, *, project: Project, texts: Sequence[str]) -> list[dict[str, Any]]:
    """Per text ``{"label", "probs"}`` (classify), ``{"labels", "probs"}`` (multilabel) or
    ``{"spans": [{"start", "end", "label", "score"}, ...]}`` (spans)."""
    limit = store.settings.max_record_chars
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(f"texts[{index}]: expected a non-empty string")
        if len(text) > limit:
            raise InvalidInput(
                f"texts[{index}]: {len(text):,} characters, over the limit of {limit:,}"
            )
    _, _, model = current_model(store, project)
    return predict_answers(model, list(texts))


def export_model(store: Store, *, project: str, directory: Path) -> Path:
    """Write the newest model as a self-contained folder ``labelkitchen model serve`` runs."""
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
        stored = queries.latest_model(conn, project_id=row.id, kind=model_kind(row))
    if stored is None:
        raise NotFound(f"project {project!r} has no trained model yet")
    directory.mkdir(parents=True, exist_ok=True)
    _unzip(stored.artifact, directory)
    (directory / "card.json").write_text(
        json.dumps(
            {
                "project": project,
                "task": row.task.value,
                "kind": model_kind(row),
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
        row = queries.latest_model(conn, project_id=project.id, kind=model_kind(project))
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
    "MODEL_KIND",
    "SPAN_MODEL_KIND",
    "TRAIN_JOB",
    "TrainReport",
    "current_model",
    "export_model",
    "maybe_schedule_retrain",
    "model_kind",
    "predict_texts",
    "run_train_job",
    "train_project",
]
