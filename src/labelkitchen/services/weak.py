"""Weak supervision in the workbench: apply LFs to a project, summarise them, fit a label model.

Votes are stored sparsely in ``lf_votes`` under a source per LF (kind ``lf``, name, version).
The fitted label model is stored in ``models`` and its probabilistic labels as annotations of a
source of its own (kind ``model``, name ``label_model``), so training and exports see them.
Only ``classify`` projects are supported here so far; ``spans`` projects can apply span LFs,
whose votes (with their offsets) ``labelkitchen train --weak`` aggregates into weak spans.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from labelkitchen.errors import InvalidInput, NotFound
from labelkitchen.schema import Project, TaskType
from labelkitchen.services import weak_multilabel as multilabel
from labelkitchen.services import weak_spans
from labelkitchen.services.weak_store import (
    FitOutcome,
    activate_lf_source,
    project_records,
    store_label_model,
)
from labelkitchen.store import Store
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import weak as queries
from labelkitchen.weak import (
    LabelingFunction,
    LabelMatrix,
    LFFault,
    LFSummary,
    apply_lfs,
    apply_span_lfs,
    get_model,
    lf_from_dict,
    lf_summary,
)
from labelkitchen.weak.model_base import FloatArray, clear_majority, vote_counts

TIE_NOTE_SHARE = 0.05
"""``weak fit`` without dev gold points at dev gold when at least this share of the covered
records (and at least :data:`TIE_NOTE_MIN` of them) are ties."""
TIE_NOTE_MIN = 10


@dataclass(frozen=True)
class LFApplyReport:
    project: str
    n_records: int
    lfs: tuple[str, ...]
    votes: dict[str, int]
    faults: tuple[LFFault, ...]
    seconds: float
    covered: dict[str, int] | None = None
    """Records with at least one vote per LF, where that differs from ``votes`` (span LFs)."""

    def coverage(self, name: str) -> float:
        """The share of records the LF voted on."""
        if not self.n_records:
            return 0.0
        return (self.covered or self.votes)[name] / self.n_records


@dataclass(frozen=True)
class ProjectLFSummary:
    project: str
    labels: tuple[str, ...]
    summary: LFSummary
    n_gold: int
    versions: dict[str, str]
    task: str = "classify"
    """``multilabel``: each row is about one label (``row.label``), its classes are 0 (absent)
    and 1 (present)."""


@dataclass(frozen=True)
class WeakFitReport:
    project: str
    model: str
    selected: str
    version: int
    n_records: int
    n_labelled: int
    coverage: float
    test_accuracy: float | None
    test_majority_accuracy: float | None
    n_test: int
    seconds: float
    notes: tuple[str, ...] = ()
    """What the fitted model did that a user should know: near-copy LFs it counted once when
    breaking ties, tie-breakers it did not trust."""
    metric: str = "accuracy"
    """What ``test_accuracy`` measures: ``accuracy``; ``accuracy per label`` (multilabel: one
    model per label, the share of test records x labels decided right); ``span F1`` (spans:
    entity-level micro F1, exact start, end and label)."""
    test_coverage: float | None = None
    """Classify: the share of the test records some LF voted on; ``test_covered_accuracy`` and
    ``test_majority_covered_accuracy`` are the accuracies on those records alone, next to
    ``test_accuracy`` over all of them (uncovered ones get the model's answer for records
    without votes, the first label where it has none)."""
    test_covered_accuracy: float | None = None
    test_majority_covered_accuracy: float | None = None


# --- loading LFs ---------------------------------------------------------------------------


def load_lfs(path: Path) -> list[LabelingFunction]:
    """Labelling functions from a Python module (``.py``) or declarative rules (YAML/JSON).

    A module contributes its ``lfs`` list when it defines one, else every
    :class:`LabelingFunction` it defines. A rules file holds a list of LF dicts (or
    ``{"lfs": [...]}``), as ``DeclarativeLF.to_dict`` writes them.
    """
    if not path.is_file():
        raise NotFound(f"{path}: no such LF file")
    suffix = path.suffix.lower()
    if suffix == ".py":
        lfs = _lfs_from_module(path)
    elif suffix in (".yaml", ".yml", ".json"):
        lfs = _lfs_from_rules(path)
    else:
        raise InvalidInput(f"{path}: LF files are .py modules or .yaml/.yml/.json rules")
    if not lfs:
        raise InvalidInput(f"{path}: holds no labelling functions")
    names = [lf.name for lf in lfs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInput(f"{path}: LF names must be unique; repeated: {repeated}")
    return lfs


def _lfs_from_module(path: Path) -> list[LabelingFunction]:
    name = f"labelkitchen_user_lfs_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InvalidInput(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so process-pool workers can find the functions
    spec.loader.exec_module(module)
    listed = getattr(module, "lfs", None)
    if listed is not None:
        if not all(isinstance(lf, LabelingFunction) for lf in listed):
            raise InvalidInput(f"{path}: `lfs` must be a list of labelling functions")
        return list(listed)
    return [v for v in vars(module).values() if isinstance(v, LabelingFunction)]


def _lfs_from_rules(path: Path) -> list[LabelingFunction]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path}: not valid YAML/JSON: {exc}") from exc
    if isinstance(document, dict):
        document = document.get("lfs")
    if not isinstance(document, list):
        raise InvalidInput(f"{path}: expected a list of LF definitions (or a key `lfs`)")
    lfs: list[LabelingFunction] = []
    for index, item in enumerate(document):
        if not isinstance(item, dict):
            raise InvalidInput(f"{path}: LF {index} is not a mapping")
        try:
            lfs.append(lf_from_dict(item))
        except (InvalidInput, TypeError) as exc:
            raise InvalidInput(f"{path}: LF {index} ({item.get('name')!r}): {exc}") from exc
    return lfs


# --- applying -------------------------------------------------------------------------------


def _classify_project(store: Store, slug: str) -> Project:
    with store.read() as conn:
        project = project_queries.get_project(conn, slug=slug)
    if project.task is not TaskType.CLASSIFY:
        raise InvalidInput(
            f"project {slug!r} is a {project.task.value} project; this works on classify "
            "projects so far (lf apply, lf stats and weak fit work on every project; use "
            "labelkitchen.weak directly otherwise)"
        )
    return project


def apply_project_lfs(
    store: Store, *, project: str, lfs: list[LabelingFunction], n_jobs: int = 1
) -> LFApplyReport:
    """Apply ``lfs`` to every record of ``project`` and store their votes."""
    started = time.perf_counter()
    with store.read() as conn:
        found = project_queries.get_project(conn, slug=project)
    if found.task is TaskType.SPANS:
        return _apply_span_lfs(store, found, lfs, n_jobs=n_jobs, started=started)
    if found.task is TaskType.MULTILABEL:
        n_records, per_lf, covered, faults = multilabel.apply_lfs_to_multilabel(
            store, found, lfs, n_jobs=n_jobs
        )
        return LFApplyReport(
            project=project,
            n_records=n_records,
            lfs=tuple(lf.name for lf in lfs),
            votes=per_lf,
            faults=faults,
            seconds=time.perf_counter() - started,
            covered=covered,
        )
    row = found  # spans and multilabel projects are handled above
    items = project_records(store, row)
    result = apply_lfs(lfs, items, labels=list(row.label_names), n_jobs=n_jobs)
    record_ids = np.array([item.id for item in items], dtype=np.int64)
    rows, cols, labels = result.L.to_triplets()
    counts: dict[str, int] = {}
    with store.write() as conn:
        for j, lf in enumerate(lfs):
            source_id = activate_lf_source(conn, row, lf)
            mine = cols == j
            votes = list(zip(record_ids[rows[mine]].tolist(), labels[mine].tolist(), strict=True))
            queries.replace_votes(conn, project_id=row.id, source_id=source_id, votes=votes)
            counts[lf.name] = len(votes)
    return LFApplyReport(
        project=project,
        n_records=len(items),
        lfs=tuple(lf.name for lf in lfs),
        votes=counts,
        faults=result.faults,
        seconds=time.perf_counter() - started,
    )


def _apply_span_lfs(
    store: Store, row: Project, lfs: list[LabelingFunction], *, n_jobs: int, started: float
) -> LFApplyReport:
    """Span LFs over a ``spans`` project; votes keep their offsets (code points, end
    exclusive)."""
    plain = [lf.name for lf in lfs if lf.kind != "spans"]
    if plain:
        raise InvalidInput(
            f"project {row.slug!r} is a spans project: it takes span LFs (kind 'spans', e.g. "
            "regex_span_lf, gazetteer_span_lf); LFs of other kinds work on classify and "
            f"multilabel projects, and these are not span LFs: {plain}"
        )
    items = project_records(store, row)
    result = apply_span_lfs(lfs, items, labels=list(row.label_names), n_jobs=n_jobs)
    record_ids = np.array([item.id for item in items], dtype=np.int64)
    votes = result.votes
    counts: dict[str, int] = {}
    covered: dict[str, int] = {}
    with store.write() as conn:
        for j, lf in enumerate(lfs):
            source_id = activate_lf_source(conn, row, lf)
            mine = votes.lfs == j
            stored = list(
                zip(
                    record_ids[votes.records[mine]].tolist(),
                    votes.labels[mine].tolist(),
                    votes.starts[mine].tolist(),
                    votes.ends[mine].tolist(),
                    strict=True,
                )
            )
            queries.replace_span_votes(conn, project_id=row.id, source_id=source_id, votes=stored)
            counts[lf.name] = len(stored)
            covered[lf.name] = len({record for record, *_ in stored})
    return LFApplyReport(
        project=row.slug,
        n_records=len(items),
        lfs=tuple(lf.name for lf in lfs),
        votes=counts,
        faults=result.faults,
        seconds=time.perf_counter() - started,
        covered=covered,
    )


# --- the label matrix of a project ----------------------------------------------------------


@dataclass(frozen=True)
class ProjectMatrix:
    """A classify project's LF votes as one label matrix, with gold per record."""

    project: Project
    record_ids: np.ndarray[Any, Any]
    splits: list[str | None]
    L: LabelMatrix
    lf_names: tuple[str, ...]
    versions: dict[str, str]
    y: np.ndarray[Any, Any]  # gold class per record, -1 where none


def project_matrix(store: Store, slug: str) -> ProjectMatrix:
    project = _classify_project(store, slug)
    with store.read() as conn:
        sources = queries.lf_sources(conn, project_id=project.id)
        if not sources:
            raise InvalidInput(
                f"project {slug!r} has no labelling functions yet: labelkitchen lf apply "
                f"{slug} LFS.py"
            )
        ids_splits = queries.record_ids_and_splits(conn, project_id=project.id)
        column = {int(s.id): j for j, s in enumerate(sources)}
        record_ids = np.array([i for i, _ in ids_splits], dtype=np.int64)
        rows, cols, labels = [], [], []
        for record_id, source_id, label in queries.iter_votes(
            conn, project_id=project.id, source_ids=list(column)
        ):
            rows.append(record_id)
            cols.append(column[source_id])
            labels.append(label)
        gold = queries.current_gold_values(conn, project_id=project.id)
    positions = np.searchsorted(record_ids, np.array(rows, dtype=np.int64))
    L = LabelMatrix.from_triplets(
        positions,
        np.array(cols, dtype=np.int64),
        np.array(labels, dtype=np.int8),
        shape=(len(record_ids), len(sources)),
    )
    index = {name: k for k, name in enumerate(project.label_names)}
    y = np.full(len(record_ids), -1, dtype=np.int64)
    for position, record_id in enumerate(record_ids.tolist()):
        value = gold.get(record_id)
        if value is not None and value.get("label") in index:
            y[position] = index[value["label"]]
    return ProjectMatrix(
        project=project,
        record_ids=record_ids,
        splits=[s for _, s in ids_splits],
        L=L,
        lf_names=tuple(s.name for s in sources),
        versions={s.name: s.version for s in sources},
        y=y,
    )


def project_lf_summary(store: Store, *, project: str) -> ProjectLFSummary:
    """``lf_summary`` over the project's active LFs, against gold where the project has it
    (multilabel projects: one row per LF and label, ``lf_summary_per_label``; spans projects:
    ``span_lf_summary``, spans judged by exact match)."""
    with store.read() as conn:
        found = project_queries.get_project(conn, slug=project)
    if found.task in (TaskType.MULTILABEL, TaskType.SPANS):
        summarise = (
            multilabel.summarise_multilabel
            if found.task is TaskType.MULTILABEL
            else weak_spans.summarise_spans
        )
        summary, n_gold, versions = summarise(store, found)
        return ProjectLFSummary(
            project=project,
            labels=found.label_names,
            summary=summary,
            n_gold=n_gold,
            versions=versions,
            task=found.task.value,
        )
    data = project_matrix(store, project)
    has_gold = bool((data.y >= 0).any())
    summary = lf_summary(
        data.L,
        data.y if has_gold else None,
        lf_names=data.lf_names,
        n_classes=len(data.project.label_names),
    )
    return ProjectLFSummary(
        project=project,
        labels=data.project.label_names,
        summary=summary,
        n_gold=int((data.y >= 0).sum()),
        versions=data.versions,
    )


# --- the label model ------------------------------------------------------------------------


def fit_label_model(
    store: Store, *, project: str, model: str | None = None, random_state: int = 0
) -> WeakFitReport:
    """Fit a label model on the project's LF votes and store its probabilistic labels.

    ``model``: a registered label model (default ``label_model.v1``); on a spans project the
    model that aggregates the span votes' token tags (default ``majority_vote.v1``, see
    :mod:`~labelkitchen.services.weak_spans`). Dev gold (records in split ``dev`` with gold)
    is used for model selection when present (classify and multilabel); test gold is only used
    to report accuracy (spans: entity-level F1), never to fit.
    """
    started = time.perf_counter()
    with store.read() as conn:
        found = project_queries.get_project(conn, slug=project)
    if found.task is TaskType.SPANS:
        chosen = model or weak_spans.SPAN_MODELS[0]
        spans = weak_spans.fit_spans(store, found, model=chosen, random_state=random_state)
        return _fit_report(project, chosen, spans, started=started, metric="span F1")
    model = model or "label_model.v1"
    if found.task is TaskType.MULTILABEL:
        fitted = multilabel.fit_multilabel(store, found, model=model, random_state=random_state)
        notes = tuple(
            f"{label}: {note}"
            for label, estimator in fitted.models.items()
            for note in fit_notes(estimator, fitted.lf_names)
        )
        return _fit_report(
            project, model, fitted, started=started, metric="accuracy per label", notes=notes
        )
    data = project_matrix(store, project)
    n_classes = len(data.project.label_names)
    dev = np.array([s == "dev" for s in data.splits]) & (data.y >= 0)
    test = np.array([s == "test" for s in data.splits]) & (data.y >= 0)
    model_class: Any = get_model(model)
    estimator = model_class(n_classes=n_classes, random_state=random_state)
    if dev.any():
        dev_rows = np.flatnonzero(dev)
        estimator.fit(data.L, L_dev=data.L.take_records(dev_rows), y_dev=data.y[dev_rows])
    else:
        estimator.fit(data.L)
    probs = estimator.predict_proba(data.L)
    covered = data.L.votes_per_record() > 0
    test_accuracy = majority_accuracy = None
    on_covered: tuple[float | None, float | None, float | None] = (None, None, None)
    if test.any():
        rows = np.flatnonzero(test)
        predicted = estimator.predict(data.L.take_records(rows), tie_break="first")
        test_accuracy = float((predicted == data.y[rows]).mean())
        majority_class: Any = get_model("majority_vote.v1")
        majority = majority_class(n_classes=n_classes).fit(data.L)
        baseline = majority.predict(data.L.take_records(rows), tie_break="first")
        majority_accuracy = float((baseline == data.y[rows]).mean())
        voted = covered[rows]
        on_covered = (
            float(voted.mean()),
            float((predicted == data.y[rows])[voted].mean()) if voted.any() else None,
            float((baseline == data.y[rows])[voted].mean()) if voted.any() else None,
        )
    selected = str(getattr(estimator, "selected_", model))
    document, arrays = estimator.to_state()
    buffer = io.BytesIO()
    saved: dict[str, Any] = dict(arrays)
    np.savez_compressed(buffer, **saved)
    names = data.project.label_names
    answers = [
        (
            int(record_id),
            {
                "label": names[int(np.argmax(p))],
                "probs": {name: round(float(q), 6) for name, q in zip(names, p, strict=True)},
            },
        )
        for record_id, p, c in zip(data.record_ids.tolist(), probs, covered, strict=True)
        if c
    ]
    version = store_label_model(
        store,
        data.project,
        model=model,
        artifact=buffer.getvalue(),
        params={"state": document, "lfs": data.versions, "selected": selected},
        metrics={
            "test_accuracy": test_accuracy,
            "test_majority_accuracy": majority_accuracy,
            "coverage": float(covered.mean()) if covered.size else 0.0,
        },
        answers=answers,
    )
    if data.project.spec.settings.queue_strategy == "lf_disagreement":
        from labelkitchen.services.priorities import refresh_priorities

        refresh_priorities(store, project=data.project)
    return WeakFitReport(
        test_coverage=on_covered[0],
        test_covered_accuracy=on_covered[1],
        test_majority_covered_accuracy=on_covered[2],
        project=project,
        model=model,
        selected=selected,
        version=version,
        n_records=len(data.record_ids),
        n_labelled=len(answers),
        coverage=float(covered.mean()) if covered.size else 0.0,
        test_accuracy=test_accuracy,
        test_majority_accuracy=majority_accuracy,
        n_test=int(test.sum()),
        seconds=time.perf_counter() - started,
        notes=(
            *fit_notes(estimator, data.lf_names),
            *overrule_notes(estimator, data.L, probs),
            *tie_notes(data.L, n_classes, dev_gold=bool(dev.any())),
        ),
    )


def _fit_report(
    project: str,
    model: str,
    outcome: FitOutcome,
    *,
    started: float,
    metric: str,
    notes: tuple[str, ...] = (),
) -> WeakFitReport:
    return WeakFitReport(
        project=project,
        model=model,
        selected=outcome.selected,
        version=outcome.version,
        n_records=outcome.n_records,
        n_labelled=outcome.n_labelled,
        coverage=outcome.coverage,
        test_accuracy=outcome.test_score,
        test_majority_accuracy=outcome.test_majority_score,
        n_test=outcome.n_test,
        seconds=time.perf_counter() - started,
        notes=notes,
        metric=metric,
    )


def fit_notes(estimator: Any, lf_names: Sequence[str]) -> tuple[str, ...]:
    """Readable notes on a fitted label model's tie-breaking (see :class:`WeakFitReport`)."""
    inner = getattr(estimator, "model_", estimator)
    groups = getattr(inner, "tie_groups_", None)
    if groups is None:
        return ()
    notes = []
    for first in np.unique(groups):
        members = [lf_names[int(j)] for j in np.flatnonzero(groups == first)]
        if len(members) > 1:
            notes.append(
                f"near-copies counted once by the tie-breaking models: {', '.join(members)}"
            )
    if not getattr(inner, "tie_break_used_", True):
        shares: dict[str, float] = dict(getattr(inner, "tie_agreement_", {}))
        worst = min(shares.items(), key=lambda item: item[1], default=("a tie-breaker", 0.0))
        notes.append(
            f"ties left as ties: {worst[0]} overturned {1 - worst[1]:.0%} of the clear "
            "majorities, so it was not trusted"
        )
    return tuple(notes)


def overrule_notes(estimator: Any, L: LabelMatrix, probs: FloatArray) -> tuple[str, ...]:
    """A note on how many records with a clear majority the fitted model gave another class
    (majority vote whose two tie-breaking models agreed against the count)."""
    inner = getattr(estimator, "model_", estimator)
    if not getattr(inner, "tie_break_overrule", False) or not getattr(
        inner, "tie_break_used_", False
    ):
        return ()
    majority = clear_majority(vote_counts(L, probs.shape[1]))
    clear = majority >= 0
    overruled = int(np.count_nonzero(clear & (np.argmax(probs, axis=1) != majority)))
    if not overruled:
        return ()
    models = " and ".join(getattr(inner, "tie_agreement_", {}))
    return (
        f"{overruled:,} of the {int(clear.sum()):,} records with a clear majority got another "
        f"class, the one {models} both rate highest",
    )


def tie_notes(L: LabelMatrix, n_classes: int, *, dev_gold: bool) -> tuple[str, ...]:
    """A note when many covered records are ties (the top classes have equally many votes) and
    no dev gold was given: the votes alone say little about how to break them, gold does."""
    if dev_gold:
        return ()
    votes = vote_counts(L, n_classes)
    covered = int(np.count_nonzero(votes.sum(axis=1)))
    ties = covered - int(np.count_nonzero(clear_majority(votes) >= 0))
    if ties < TIE_NOTE_MIN or ties < TIE_NOTE_SHARE * covered:
        return ()
    return (
        f"{ties:,} of the {covered:,} records with votes ({ties / covered:.0%}) are ties, where "
        "the LFs' votes split evenly: they are decided by LF accuracies estimated without gold, "
        "or left as ties. Gold labels on a few hundred records in split 'dev' (import them with "
        "--split dev) let weak fit choose and weigh the label model on them",
    )


def lf_disagreement_scores(store: Store, *, project: Project) -> list[tuple[int, float]] | None:
    """``(record_id, vote entropy)`` over the active LFs, or ``None`` without LFs."""
    from labelkitchen.learn.strategies import get_strategy

    try:
        data = project_matrix(store, project.slug)
    except InvalidInput:
        return None
    scores = get_strategy("lf_disagreement.v1")(
        None, L=data.L, n_classes=len(data.project.label_names)
    )
    return list(zip(data.record_ids.tolist(), scores.tolist(), strict=True))


__all__ = [
    "LFApplyReport",
    "ProjectLFSummary",
    "WeakFitReport",
    "apply_project_lfs",
    "fit_label_model",
    "lf_disagreement_scores",
    "load_lfs",
    "project_lf_summary",
]
