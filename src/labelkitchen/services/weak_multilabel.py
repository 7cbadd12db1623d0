"""Labelling functions and label models in a ``multilabel`` project.

A multilabel LF votes per label: present or absent (a ``classify`` LF's vote means "this label
is present"). Its votes are stored in ``lf_votes`` as ``label = 2 x label index + 1`` for
present and ``2 x label index`` for absent. :func:`labelkitchen.services.weak.apply_project_lfs`,
``project_lf_summary`` and ``fit_label_model`` call the functions here for multilabel projects:

- the summary has one row per LF and label it voted on
  (:func:`~labelkitchen.weak.lf_summary_per_label`), against the gold label sets;
- the label model is one binary model per label (:func:`~labelkitchen.weak.fit_per_label`),
  fitted with each label's dev gold where the project has dev records with gold. A record some
  LF voted on gets ``{"labels": [...], "probs": {label: P(present)}, "confidence": ...}``:
  the labels whose probability is above one half, every label's probability, and the mean,
  over the labels some LF voted on for that record, of the probability of the stored answer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelkitchen.errors import InvalidInput
from labelkitchen.schema import Project
from labelkitchen.services.weak_store import (
    FitOutcome,
    activate_lf_source,
    project_records,
    store_label_model,
)
from labelkitchen.store import Store
from labelkitchen.store.queries import weak as queries
from labelkitchen.weak import (
    LabelingFunction,
    LabelMatrix,
    LFFault,
    LFSummary,
    apply_multilabel_lfs,
    fit_per_label,
    lf_summary_per_label,
    predict_proba_per_label,
)
from labelkitchen.weak.model_base import BaseLabelModel

ABSENT, PRESENT = 0, 1


def encode_vote(label_index: int, present: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The stored ``lf_votes.label`` of multilabel votes (``present``: 1 or 0 per vote)."""
    return np.asarray(2 * label_index + present, dtype=np.int64)


@dataclass(frozen=True)
class MultilabelMatrix:
    """A multilabel project's LF votes: one binary matrix per label, gold per label (``1``
    present, ``0`` absent, ``-1`` unknown), in the order of ``record_ids``."""

    project: Project
    record_ids: np.ndarray[Any, Any]
    splits: list[str | None]
    L_by_label: dict[str, LabelMatrix]
    lf_names: tuple[str, ...]
    versions: dict[str, str]
    y_by_label: dict[str, np.ndarray[Any, Any]]

    @property
    def gold(self) -> np.ndarray[Any, Any]:
        """Per record: whether it has a gold label set."""
        first = next(iter(self.y_by_label.values()))
        return np.asarray(first >= 0)

    @property
    def covered(self) -> np.ndarray[Any, Any]:
        """Per record: whether some LF voted on some label of it."""
        votes = sum(L.votes_per_record() for L in self.L_by_label.values())
        return np.asarray(votes, dtype=np.int64) > 0


def apply_lfs_to_multilabel(
    store: Store, row: Project, lfs: list[LabelingFunction], *, n_jobs: int
) -> tuple[int, dict[str, int], dict[str, int], tuple[LFFault, ...]]:
    """Apply ``lfs`` to every record of the multilabel project ``row`` and store their votes:
    ``(records, votes per LF, records voted on per LF, faults)``."""
    spans = [lf.name for lf in lfs if lf.kind == "spans"]
    if spans:
        raise InvalidInput(
            f"project {row.slug!r} is a multilabel project: it takes multilabel LFs (votes per "
            f"label) and classify LFs (a vote means that label is present), not span LFs: {spans}"
        )
    items = project_records(store, row)
    result = apply_multilabel_lfs(lfs, items, labels=list(row.label_names), n_jobs=n_jobs)
    record_ids = np.array([item.id for item in items], dtype=np.int64)
    parts = []
    for index, name in enumerate(row.label_names):
        rows, cols, values = result.L_by_label[name].to_triplets()
        parts.append((record_ids[rows], cols, encode_vote(index, values.astype(np.int64))))
    records = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    columns = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    codes = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    order = np.lexsort((codes, records))
    records, columns, codes = records[order], columns[order], codes[order]
    counts: dict[str, int] = {}
    covered: dict[str, int] = {}
    with store.write() as conn:
        for j, lf in enumerate(lfs):
            source_id = activate_lf_source(conn, row, lf)
            mine = columns == j
            votes = list(zip(records[mine].tolist(), codes[mine].tolist(), strict=True))
            queries.replace_votes(conn, project_id=row.id, source_id=source_id, votes=votes)
            counts[lf.name] = len(votes)
            covered[lf.name] = int(np.unique(records[mine]).size)
    return len(items), counts, covered, result.faults


def multilabel_matrix(store: Store, row: Project) -> MultilabelMatrix:
    """The stored votes of the project's active LFs, and its gold, per label."""
    names = row.label_names
    with store.read() as conn:
        sources = queries.lf_sources(conn, project_id=row.id)
        if not sources:
            raise InvalidInput(
                f"project {row.slug!r} has no labelling functions yet: labelkitchen lf apply "
                f"{row.slug} LFS.py"
            )
        ids_splits = queries.record_ids_and_splits(conn, project_id=row.id)
        column = {int(s.id): j for j, s in enumerate(sources)}
        votes = list(queries.iter_votes(conn, project_id=row.id, source_ids=list(column)))
        gold = queries.current_gold_values(conn, project_id=row.id)
    record_ids = np.array([i for i, _ in ids_splits], dtype=np.int64)
    shape = (len(record_ids), len(sources))
    if votes:
        records, sources_of, codes = (np.array(v, dtype=np.int64) for v in zip(*votes, strict=True))
    else:
        records = sources_of = codes = np.zeros(0, dtype=np.int64)
    positions = np.searchsorted(record_ids, records)
    cols = np.array([column[s] for s in sources_of.tolist()], dtype=np.int64)
    label_of, value = np.divmod(codes, 2)
    if label_of.size and label_of.max() >= len(names):
        raise InvalidInput(
            f"project {row.slug!r} holds LF votes for label index {int(label_of.max())}, but has "
            f"{len(names)} labels: apply the LFs again"
        )
    L_by_label = {
        name: LabelMatrix.from_triplets(
            positions[label_of == c], cols[label_of == c], value[label_of == c], shape=shape
        )
        for c, name in enumerate(names)
    }
    y_by_label = {name: np.full(len(record_ids), -1, dtype=np.int64) for name in names}
    for position, record_id in enumerate(record_ids.tolist()):
        value_set = gold.get(record_id)
        labels = None if value_set is None else value_set.get("labels")
        if isinstance(labels, list):
            for name in names:
                y_by_label[name][position] = PRESENT if name in labels else ABSENT
    return MultilabelMatrix(
        project=row,
        record_ids=record_ids,
        splits=[s for _, s in ids_splits],
        L_by_label=L_by_label,
        lf_names=tuple(s.name for s in sources),
        versions={s.name: s.version for s in sources},
        y_by_label=y_by_label,
    )


def summarise_multilabel(store: Store, row: Project) -> tuple[LFSummary, int, dict[str, str]]:
    """``(the per-label LF summary, records with gold, LF versions)``."""
    data = multilabel_matrix(store, row)
    has_gold = bool(data.gold.any())
    summary = lf_summary_per_label(
        data.L_by_label, data.y_by_label if has_gold else None, lf_names=data.lf_names
    )
    return summary, int(data.gold.sum()), data.versions


@dataclass(frozen=True)
class MultilabelFit(FitOutcome):
    """What :func:`fit_multilabel` stored (test score: accuracy per label), and the fitted
    model of each label."""

    models: dict[str, BaseLabelModel]
    lf_names: tuple[str, ...]


def fit_multilabel(store: Store, row: Project, *, model: str, random_state: int) -> MultilabelFit:
    """One binary ``model`` per label on the stored votes; the labels of every record some LF
    voted on are stored as the label model's answers. Test accuracy is per label
    (the share of test records x labels decided right), next to majority vote's."""
    data = multilabel_matrix(store, row)
    names = row.label_names
    dev = np.array([s == "dev" for s in data.splits]) & data.gold
    test = np.array([s == "test" for s in data.splits]) & data.gold
    params = {"random_state": random_state}
    if dev.any():
        rows = np.flatnonzero(dev)
        models = fit_per_label(
            data.L_by_label,
            model=model,
            params=params,
            L_dev_by_label={n: L.take_records(rows) for n, L in data.L_by_label.items()},
            y_dev={n: y[rows] for n, y in data.y_by_label.items()},
        )
    else:
        models = fit_per_label(data.L_by_label, model=model, params=params)
    probs = predict_proba_per_label(models, data.L_by_label)
    covered = data.covered
    test_accuracy = majority_accuracy = None
    if test.any():
        rows = np.flatnonzero(test)
        truth = np.stack([data.y_by_label[n][rows] for n in names], axis=1)
        test_accuracy = float(((probs[rows] > 0.5) == (truth == PRESENT)).mean())
        majority = fit_per_label(data.L_by_label, model="majority_vote.v1")
        baseline = predict_proba_per_label(majority, data.L_by_label)
        majority_accuracy = float(((baseline[rows] > 0.5) == (truth == PRESENT)).mean())
    voted = np.stack([data.L_by_label[n].votes_per_record() > 0 for n in names], axis=1)
    answers = []
    for position in np.flatnonzero(covered).tolist():
        p = probs[position]
        sure = np.where(p > 0.5, p, 1.0 - p)[voted[position]]
        value = {
            "labels": [n for n, q in zip(names, p, strict=True) if q > 0.5],
            "probs": {n: round(float(q), 6) for n, q in zip(names, p, strict=True)},
            "confidence": round(float(sure.mean()), 6),
        }
        answers.append((int(data.record_ids[position]), value))
    selected = _describe(models)
    artifact, document = _artifact(models)
    version = store_label_model(
        store,
        row,
        model=model,
        artifact=artifact,
        params={"state": document, "lfs": data.versions, "selected": selected},
        metrics={
            "test_accuracy": test_accuracy,
            "test_majority_accuracy": majority_accuracy,
            "coverage": float(covered.mean()) if covered.size else 0.0,
        },
        answers=answers,
    )
    return MultilabelFit(
        selected=selected,
        version=version,
        n_records=len(data.record_ids),
        n_labelled=len(answers),
        coverage=float(covered.mean()) if covered.size else 0.0,
        test_score=test_accuracy,
        test_majority_score=majority_accuracy,
        n_test=int(test.sum()),
        models=models,
        lf_names=data.lf_names,
    )


def _describe(models: dict[str, BaseLabelModel]) -> str:
    """The chosen model, ``... for every label`` when all labels chose the same one, else
    ``label: chosen model`` per label."""
    chosen = {label: str(getattr(m, "selected_", m.model_name)) for label, m in models.items()}
    if len(set(chosen.values())) == 1:
        return f"{next(iter(chosen.values()))} for every label"
    return "; ".join(f"{label}: {selected}" for label, selected in chosen.items())


def _artifact(models: dict[str, BaseLabelModel]) -> tuple[bytes, dict[str, Any]]:
    """One ``.npz`` of every label's arrays (prefixed ``label/``) and the JSON per label."""
    document: dict[str, Any] = {"per_label": {}}
    arrays: dict[str, Any] = {}
    for index, (label, model) in enumerate(models.items()):
        state, named = model.to_state(prefix=f"label{index}/")
        document["per_label"][label] = state
        arrays.update(named)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue(), document
