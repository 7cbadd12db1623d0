"""Span LFs in a ``spans`` project: their stored votes as :class:`~labelkitchen.weak.SpanVotes`,
the LF summary against the gold spans (:func:`~labelkitchen.weak.span_lf_summary`), and the
weak spans of every record some LF marked.

Weak spans: the votes are projected onto the project tokenizer's tokens as BIO tags
(:func:`~labelkitchen.weak.token_label_matrix`), a tag model aggregates them (majority vote
unless another is named: ``dawid_skene.v1``, ``label_model.v1`` or :data:`TAG_HMM`), and
:func:`~labelkitchen.weak.tags_to_spans` turns the tags back into spans. A weak span's score is
the mean, over its tokens, of the probability its label got there; a record's confidence is its
lowest span score. ``labelkitchen weak fit`` stores them per record as the label model's
answer; training with weak labels uses a record when its confidence is above one half.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelkitchen.errors import InvalidInput
from labelkitchen.schema import Project, tokenize
from labelkitchen.services.weak_store import FitOutcome, store_label_model
from labelkitchen.store import Store
from labelkitchen.store.queries import training as training_queries
from labelkitchen.store.queries import weak as queries
from labelkitchen.weak import (
    LFSummary,
    SpanVotes,
    TagHMM,
    get_model,
    span_lf_summary,
    tags_to_spans,
    token_label_matrix,
)
from labelkitchen.weak.model_base import BaseLabelModel

TAG_HMM = "tag_hmm.v1"
"""The name ``weak fit`` takes for :class:`~labelkitchen.weak.TagHMM` on a spans project."""
SPAN_MODELS = ("majority_vote.v1", "dawid_skene.v1", "label_model.v1", TAG_HMM)


@dataclass(frozen=True)
class ProjectSpanVotes:
    """A spans project's stored span votes over all its records (in id order), the LF names and
    versions, and per record its gold spans ``(start, end, label index)`` or ``None``."""

    record_ids: np.ndarray[Any, Any]
    splits: list[str | None]
    votes: SpanVotes
    lf_names: tuple[str, ...]
    versions: dict[str, str]
    gold: list[list[tuple[int, int, int]] | None]


def project_span_votes(store: Store, row: Project) -> ProjectSpanVotes:
    index = {name: c for c, name in enumerate(row.label_names)}
    with store.read() as conn:
        sources = queries.lf_sources(conn, project_id=row.id)
        if not sources:
            raise InvalidInput(
                f"project {row.slug!r} has no labelling functions yet: labelkitchen lf apply "
                f"{row.slug} LFS.py"
            )
        column = {int(s.id): j for j, s in enumerate(sources)}
        ids_splits = queries.record_ids_and_splits(conn, project_id=row.id)
        record_ids = np.array([i for i, _ in ids_splits], dtype=np.int64)
        stored = list(
            training_queries.iter_span_votes(conn, project_id=row.id, source_ids=list(column))
        )
        gold_values = queries.current_gold_values(conn, project_id=row.id)
    if stored:
        columns = np.array(
            [(r, column[s], label, start, end) for r, s, label, start, end in stored],
            dtype=np.int64,
        )
    else:
        columns = np.zeros((0, 5), dtype=np.int64)
    votes = SpanVotes(
        n_records=len(record_ids),
        n_lfs=len(sources),
        records=np.searchsorted(record_ids, columns[:, 0]),
        lfs=columns[:, 1],
        starts=columns[:, 3],
        ends=columns[:, 4],
        labels=columns[:, 2],
    )
    gold: list[list[tuple[int, int, int]] | None] = []
    for record_id in record_ids.tolist():
        value = gold_values.get(record_id)
        spans = None if value is None else value.get("spans")
        if not isinstance(spans, list):
            gold.append(None)
            continue
        gold.append(
            [
                (int(s["start"]), int(s["end"]), index[s["label"]])
                for s in spans
                if s.get("label") in index
            ]
        )
    return ProjectSpanVotes(
        record_ids=record_ids,
        splits=[split for _, split in ids_splits],
        votes=votes,
        lf_names=tuple(s.name for s in sources),
        versions={s.name: s.version for s in sources},
        gold=gold,
    )


def summarise_spans(store: Store, row: Project) -> tuple[LFSummary, int, dict[str, str]]:
    """``(the span LF summary, records with gold spans, LF versions)``."""
    data = project_span_votes(store, row)
    n_gold = sum(g is not None for g in data.gold)
    summary = span_lf_summary(
        data.votes,
        data.gold if n_gold else None,
        lf_names=data.lf_names,
        n_classes=len(row.label_names),
    )
    return summary, n_gold, data.versions


def weak_spans(
    data: ProjectSpanVotes,
    texts: dict[int, str],
    row: Project,
    *,
    model: str = "majority_vote.v1",
    random_state: int | None = 0,
) -> tuple[dict[int, dict[str, Any]], BaseLabelModel | TagHMM]:
    """``record id -> {"spans": [{start, end, label, score}], "confidence"}`` for every record
    in ``texts`` some span LF marked, and the fitted tag model (see the module doc)."""
    if model not in SPAN_MODELS:
        raise InvalidInput(
            f"a spans project aggregates span votes with {', '.join(SPAN_MODELS)}; got {model!r}"
        )
    votes = data.votes
    marked = np.unique(votes.records)
    positions = [int(p) for p in marked if int(data.record_ids[p]) in texts]
    keep = np.isin(votes.records, positions)
    subset = SpanVotes(
        n_records=len(positions),
        n_lfs=votes.n_lfs,
        records=np.searchsorted(np.array(positions, dtype=np.int64), votes.records[keep]),
        lfs=votes.lfs[keep],
        starts=votes.starts[keep],
        ends=votes.ends[keep],
        labels=votes.labels[keep],
    )
    record_ids = [int(data.record_ids[p]) for p in positions]
    record_texts = [texts[r] for r in record_ids]
    n_classes = len(row.label_names)
    matrix = token_label_matrix(subset, record_texts, n_classes=n_classes, tokenizer=tokenize)
    tagger: BaseLabelModel | TagHMM
    if model == TAG_HMM:
        hmm = TagHMM(random_state=random_state).fit(matrix)
        probs, tagger = hmm.predict_proba(matrix), hmm
    else:
        model_class: Any = get_model(model)
        fitted: BaseLabelModel = model_class(n_classes=matrix.n_tags, random_state=random_state)
        probs, tagger = fitted.fit(matrix.L).predict_proba(matrix.L), fitted
    covered = matrix.L.votes_per_record() > 0
    bounds = np.searchsorted(matrix.record, np.arange(len(record_ids) + 1))
    names = row.label_names
    found: dict[int, dict[str, Any]] = {}
    for i, record_id in enumerate(record_ids):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        tokens, tag_probs = matrix.tokens[lo:hi], probs[lo:hi]
        spans: list[dict[str, Any]] = []
        for start, end, label in tags_to_spans(tag_probs, tokens, covered=covered[lo:hi]):
            inside = (tokens[:, 0] >= start) & (tokens[:, 1] <= end)
            share = tag_probs[inside, 2 * label + 1] + tag_probs[inside, 2 * label + 2]
            score = float(share.mean()) if share.size else 0.0
            spans.append({"start": start, "end": end, "label": names[label], "score": score})
        confidence = min((span["score"] for span in spans), default=1.0)
        found[record_id] = {"spans": spans, "confidence": confidence}
    return found, tagger


def fit_spans(store: Store, row: Project, *, model: str, random_state: int) -> FitOutcome:
    """Aggregate the span LFs' votes with ``model`` and store the weak spans of every record
    some LF marked as the label model's answers; on test records with gold
    spans, the entity-level micro F1 (exact start, end and label) next to majority vote's."""
    from labelkitchen.learn import evaluate_spans

    data = project_span_votes(store, row)
    with store.read() as conn:
        texts = {r: text for r, text, _ in queries.iter_texts(conn, project_id=row.id)}
        splits = dict(queries.record_ids_and_splits(conn, project_id=row.id))
    found, tagger = weak_spans(data, texts, row, model=model, random_state=random_state)
    names = list(row.label_names)
    test = [
        (record_id, gold)
        for record_id, gold in zip(data.record_ids.tolist(), data.gold, strict=True)
        if gold is not None and splits.get(record_id) == "test"
    ]
    test_f1 = majority_f1 = None
    if test:
        truth = [[(a, b, names[c]) for a, b, c in gold] for _, gold in test]
        guessed = [found.get(r, {"spans": []})["spans"] for r, _ in test]
        test_f1 = evaluate_spans(truth, guessed, labels=names).micro_f1
        majority = (
            found
            if model == "majority_vote.v1"
            else weak_spans(data, texts, row, model="majority_vote.v1")[0]
        )
        baseline = [majority.get(r, {"spans": []})["spans"] for r, _ in test]
        majority_f1 = evaluate_spans(truth, baseline, labels=names).micro_f1
    answers = [
        (
            record_id,
            {
                "spans": [{**span, "score": round(span["score"], 6)} for span in value["spans"]],
                "confidence": round(value["confidence"], 6),
            },
        )
        for record_id, value in sorted(found.items())
    ]
    arrays: dict[str, Any]
    if isinstance(tagger, BaseLabelModel):
        document, arrays = tagger.to_state()
    else:  # the HMM keeps its learned tables as attributes ending in "_"
        document = {"model": TAG_HMM}
        arrays = {k: v for k, v in vars(tagger).items() if k.endswith("_") and hasattr(v, "shape")}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    selected = str(getattr(tagger, "selected_", model))
    version = store_label_model(
        store,
        row,
        model=model,
        artifact=buffer.getvalue(),
        params={"state": document, "lfs": data.versions, "selected": selected},
        metrics={"test_span_f1": test_f1, "test_majority_span_f1": majority_f1},
        answers=answers,
    )
    n_records = len(data.record_ids)
    return FitOutcome(
        selected=selected,
        version=version,
        n_records=n_records,
        n_labelled=len(answers),
        coverage=len(answers) / n_records if n_records else 0.0,
        test_score=test_f1,
        test_majority_score=majority_f1,
        n_test=len(test),
    )
