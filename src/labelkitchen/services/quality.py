"""Annotator statistics and spot checks over a project's current human answers.

Per annotator: throughput (answers per hour of active time), median time per record,
agreement with the consensus of the others and with gold, Dawid-Skene's estimated accuracy and
confusion matrix (``classify`` projects; the weak supervision engine's model fitted on the
records x annotators label matrix), and cost per final gold label from ``users.hourly_rate``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from labelkitchen.errors import InvalidInput, NotFound
from labelkitchen.quality import (
    ErrorRate,
    Periods,
    Rate,
    active_seconds,
    agreement_rate,
    drift_test,
    error_rate,
    fit_annotator_model,
    majority_label,
    majority_vote,
    median_ms,
    split_periods,
)
from labelkitchen.schema import TaskType
from labelkitchen.services.accounts import Access, User, require
from labelkitchen.services.review import Votes, epoch_seconds, iso, value_key, votes_from_rows
from labelkitchen.store import Store
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import review as queries


@dataclass(frozen=True)
class AnnotatorStats:
    annotator: str
    answers: int
    accepted: int
    active_hours: float
    answers_per_hour: float | None
    median_ms: float | None
    consensus: Rate
    gold: Rate
    estimated_accuracy: float | None
    confusion: list[list[float]] | None
    hourly_rate: float | None
    gold_records: int
    hours_on_gold: float
    cost_per_gold_label: float | None
    drift: list[DriftPeriod] = field(default_factory=list)
    drift_change: float | None = None
    drift_p_value: float | None = None


@dataclass(frozen=True)
class DriftPeriod:
    """One annotator's work in one calendar period (the report's ``period_unit``)."""

    start: str
    end: str
    answers: int
    compared: int
    agreement_with_consensus: float | None
    median_ms: float | None


@dataclass(frozen=True)
class ReviewerStats:
    """A reviewer's passes over gold (every adjudicated or reviewed gold version they wrote)."""

    reviewer: str
    passes: int
    records: int
    active_hours: float
    hourly_rate: float | None
    cost: float | None


@dataclass(frozen=True)
class AnnotatorReport:
    project: str
    task: str
    labels: list[str]
    n_gold: int
    annotators: list[AnnotatorStats]
    model: str | None
    model_note: str | None
    majority_vs_gold: Rate | None
    model_vs_gold: Rate | None
    cost_on_gold: float | None
    cost_per_gold_label: float | None
    period_unit: str | None = None
    reviewers: list[ReviewerStats] = field(default_factory=list)
    review_passes: int = 0
    reviewed_gold: int = 0
    review_cost: float | None = None
    passes_per_gold_label: float | None = None
    cost_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for stats, row in zip(self.annotators, data["annotators"], strict=True):
            row["consensus"]["value"] = stats.consensus.value
            row["gold"]["value"] = stats.gold.value
        for name in ("majority_vs_gold", "model_vs_gold"):
            rate = getattr(self, name)
            if rate is not None:
                data[name]["value"] = rate.value
        return data


def annotator_report(
    store: Store, *, project: str, random_state: int | None = 0
) -> AnnotatorReport:
    """Statistics per annotator of ``project``; see the module documentation."""
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
        rows = queries.human_answers(conn, project_id=row.id)
        gold_rows = queries.current_gold(conn, project_id=row.id)
        rates = queries.hourly_rates(conn, project_id=row.id)
        passes = queries.review_passes(conn, project_id=row.id)
    votes = votes_from_rows(row, rows)
    task = row.task
    gold: dict[int, Hashable] = {
        record: value_key(task, g.value) for record, g in gold_rows.items() if g.value
    }
    model_stats = _dawid_skene(votes, gold, random_state)
    by_source: dict[str, list[Any]] = {}
    for r in rows:
        if r.answer != "skip":
            by_source.setdefault(r.source, []).append(r)
    tallies = {record: Counter(votes.record_keys(record)) for record in votes.record_ids}
    periods = split_periods([epoch_seconds(r.created_at) for r in rows if r.answer != "skip"])
    period_of = {
        int(r.id): index
        for r, index in zip((r for r in rows if r.answer != "skip"), periods.index, strict=True)
    }
    stats = []
    total_cost = 0.0
    costed = False
    for j, name in enumerate(votes.annotators):
        mine = by_source.get(name, [])
        seconds = active_seconds(
            [epoch_seconds(r.created_at) for r in mine], [r.duration_ms for r in mine]
        )
        accepted = [record for record in votes.record_ids if (record, name) in votes.values]
        own = [votes.key(record, name) for record in accepted]
        others = [
            _majority_without(tallies[record], key)
            for record, key in zip(accepted, own, strict=True)
        ]
        rate = rates.get(name)
        on_gold = [r for r in mine if int(r.record_id) in gold]
        hours_on_gold = (
            active_seconds(
                [epoch_seconds(r.created_at) for r in on_gold], [r.duration_ms for r in on_gold]
            )
            / 3600.0
        )
        gold_records = len({int(r.record_id) for r in on_gold})
        cost = None
        if rate is not None and gold_records:
            total_cost += rate * hours_on_gold
            costed = True
            cost = rate * hours_on_gold / gold_records
        hours = seconds / 3600.0
        stats.append(
            AnnotatorStats(
                annotator=name,
                answers=len(mine),
                accepted=len(accepted),
                active_hours=hours,
                answers_per_hour=len(mine) / hours if hours > 0 else None,
                median_ms=median_ms([r.duration_ms for r in mine]),
                consensus=agreement_rate(own, others),
                gold=agreement_rate(own, [gold.get(record) for record in accepted]),
                estimated_accuracy=model_stats.accuracy[j] if model_stats.accuracy else None,
                confusion=model_stats.confusion[j] if model_stats.confusion else None,
                hourly_rate=rate,
                gold_records=gold_records,
                hours_on_gold=hours_on_gold,
                cost_per_gold_label=cost,
                **_drift(votes, name, mine, tallies, periods, period_of),
            )
        )
    reviewers, review_cost, reviewed = _reviewers(passes, set(gold))
    n_passes = sum(1 for p in passes if int(p.record_id) in gold)
    annotation_passes = sum(
        1 for r in rows if int(r.record_id) in gold and r.answer in ("accept", "reject")
    )
    notes = []
    if costed and any(r.hourly_rate is None for r in reviewers):
        notes.append(
            "reviewers without an hourly rate are left out of the cost: "
            + ", ".join(r.reviewer for r in reviewers if r.hourly_rate is None)
        )
    if costed and any(a.hourly_rate is None for a in stats):
        notes.append(
            "annotators without an hourly rate are left out of the cost: "
            + ", ".join(a.annotator for a in stats if a.hourly_rate is None)
        )
    if review_cost is not None:
        total_cost += review_cost
        costed = True
    return AnnotatorReport(
        project=row.slug,
        task=task.value,
        labels=list(row.label_names),
        n_gold=len(gold),
        annotators=stats,
        model="dawid_skene.v1" if model_stats.accuracy else None,
        model_note=model_stats.note,
        majority_vs_gold=model_stats.majority_vs_gold,
        model_vs_gold=model_stats.model_vs_gold,
        cost_on_gold=total_cost if costed else None,
        cost_per_gold_label=total_cost / len(gold) if costed and gold else None,
        period_unit=periods.unit if periods.starts else None,
        reviewers=reviewers,
        review_passes=n_passes,
        reviewed_gold=len(reviewed),
        review_cost=review_cost,
        passes_per_gold_label=(annotation_passes + n_passes) / len(gold) if gold else None,
        cost_note="; ".join(notes) or None,
    )


def _drift(
    votes: Votes,
    name: str,
    mine: list[Any],
    tallies: dict[int, Counter[Hashable]],
    periods: Periods,
    period_of: dict[int, int],
) -> dict[str, Any]:
    """Per period: answers, agreement with the others' consensus, median time; and the
    earlier-vs-later-half test of the agreement (:func:`labelkitchen.quality.drift_test`)."""
    answers: list[int] = [0] * len(periods.starts)
    durations: list[list[int | None]] = [[] for _ in periods.starts]
    flags: list[list[bool]] = [[] for _ in periods.starts]
    ordered: list[bool | None] = []
    for r in sorted(mine, key=lambda r: (epoch_seconds(r.created_at), int(r.id))):
        index = period_of[int(r.id)]
        answers[index] += 1
        durations[index].append(r.duration_ms)
        key = votes.key(int(r.record_id), name)
        if key is None or votes.answer_ids.get((int(r.record_id), name)) != int(r.id):
            ordered.append(None)
            continue
        others = _majority_without(tallies[int(r.record_id)], key)
        flag = None if others is None else key == others
        ordered.append(flag)
        if flag is not None:
            flags[index].append(flag)
    drift = [
        DriftPeriod(
            start=iso(start),
            end=iso(start + periods.seconds),
            answers=answers[i],
            compared=len(flags[i]),
            agreement_with_consensus=sum(flags[i]) / len(flags[i]) if flags[i] else None,
            median_ms=median_ms(durations[i]),
        )
        for i, start in enumerate(periods.starts)
        if answers[i]
    ]
    test = drift_test(ordered)
    return {"drift": drift, "drift_change": test.change, "drift_p_value": test.p_value}


def _reviewers(
    passes: list[Any], gold: set[int]
) -> tuple[list[ReviewerStats], float | None, set[int]]:
    """Per reviewer: passes over records that have gold now, time (gaps between their decisions,
    capped like annotators' breaks: decisions carry no measured duration), and cost."""
    by_reviewer: dict[str, list[Any]] = {}
    for p in passes:
        if int(p.record_id) in gold:
            by_reviewer.setdefault(p.username, []).append(p)
    out = []
    total: float | None = None
    reviewed: set[int] = set()
    for reviewer, mine in sorted(by_reviewer.items()):
        times = [epoch_seconds(p.created_at) for p in mine]
        hours = active_seconds(times, [None] * len(times)) / 3600.0
        rate = mine[0].hourly_rate
        cost = None if rate is None else float(rate) * hours
        if cost is not None:
            total = (total or 0.0) + cost
        records = {int(p.record_id) for p in mine}
        reviewed |= records
        out.append(
            ReviewerStats(
                reviewer=reviewer,
                passes=len(mine),
                records=len(records),
                active_hours=hours,
                hourly_rate=None if rate is None else float(rate),
                cost=cost,
            )
        )
    return out, total, reviewed


def _majority_without(tally: Counter[Hashable], own: Hashable | None) -> Hashable | None:
    """The strict majority of a record's answers once one answer (``own``) is taken out."""
    rest = tally.copy()
    if own is not None:
        rest[own] -= 1
    return majority_label(list(rest.elements()))


@dataclass(frozen=True)
class _ModelStats:
    accuracy: list[float] | None = None
    confusion: list[list[list[float]]] | None = None
    majority_vs_gold: Rate | None = None
    model_vs_gold: Rate | None = None
    note: str | None = None


def _dawid_skene(votes: Votes, gold: dict[int, Hashable], random_state: int | None) -> _ModelStats:
    if votes.project.task is not TaskType.CLASSIFY:
        return _ModelStats(note="Dawid-Skene estimates are computed for classify projects only")
    if not votes.record_ids:
        return _ModelStats(note="no accepted human answers yet")
    labels = list(votes.project.label_names)
    code = {label: k for k, label in enumerate(labels)}
    L = np.full((len(votes.record_ids), len(votes.annotators)), -1, dtype=np.int64)
    for i, record in enumerate(votes.record_ids):
        for j, name in enumerate(votes.annotators):
            key = votes.key(record, name)
            if key is not None:
                L[i, j] = code[str(key)]
    model = fit_annotator_model(L, n_classes=len(labels), random_state=random_state)
    majority = majority_vote(L, n_classes=len(labels))
    truth = [gold.get(record) for record in votes.record_ids]
    return _ModelStats(
        accuracy=[float(a) for a in model.accuracy],
        confusion=model.confusion.tolist(),
        majority_vs_gold=agreement_rate([labels[k] if k >= 0 else None for k in majority], truth),
        model_vs_gold=agreement_rate([labels[k] for k in model.predictions], truth),
    )


# --- spot checks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpotCheckSample:
    created: int
    per_annotator: dict[str, int]


def sample_spot_checks(
    store: Store, *, access: Access, share: float | None = None, random_state: int | None = None
) -> SpotCheckSample:
    """Pick ``share`` of each annotator's accepted answers (at least one) not yet checked,
    as open spot checks waiting for a reviewer's verdict. ``share`` defaults to the project's
    ``spot_check_share`` setting."""
    require(access.can_review, "spot-check answers")
    if share is None:
        share = access.project.spec.settings.spot_check_share
    if not 0.0 < share <= 1.0:
        raise InvalidInput(f"share must be in (0, 1]; got {share}")
    rng = random.Random(random_state)
    project_id = access.project.id
    per_annotator: dict[str, int] = {}
    with store.write() as conn:
        checked = queries.checked_annotation_ids(conn, project_id=project_id)
        rows = queries.human_answers(conn, project_id=project_id)
        accepted: dict[str, list[int]] = {}
        for r in rows:
            if r.answer == "accept" and r.value:
                accepted.setdefault(r.source, []).append(int(r.id))
        for name, ids in sorted(accepted.items()):
            want = max(1, round(share * len(ids)))
            have = sum(1 for i in ids if i in checked)
            pool = [i for i in ids if i not in checked]
            picked = rng.sample(pool, min(max(want - have, 0), len(pool)))
            for annotation_id in picked:
                queries.add_spot_check(
                    conn,
                    project_id=project_id,
                    annotation_id=annotation_id,
                    reviewer_id=None,
                    correct=None,
                    note=None,
                )
            per_annotator[name] = len(picked)
    return SpotCheckSample(sum(per_annotator.values()), per_annotator)


def mark_spot_check(
    store: Store,
    *,
    access: Access,
    user: User,
    check_id: int,
    correct: bool,
    note: str | None = None,
) -> None:
    """A reviewer's verdict on one spot check."""
    require(access.can_review, "spot-check answers")
    with store.write() as conn:
        ids = {int(r.id) for r in queries.spot_checks(conn, project_id=access.project.id)}
        if check_id not in ids:
            raise NotFound(f"no spot check {check_id} in this project")
        queries.set_spot_check(
            conn, check_id=check_id, reviewer_id=user.id, correct=correct, note=note
        )


@dataclass(frozen=True)
class SpotCheckSummary:
    annotator: str
    open: int
    error: ErrorRate


def spot_check_summary(store: Store, *, access: Access) -> list[SpotCheckSummary]:
    """Per annotator: open checks, and the error rate of the decided ones (95% Wilson)."""
    require(access.can_review, "see spot checks")
    with store.read() as conn:
        rows = queries.spot_checks(conn, project_id=access.project.id)
    by: dict[str, list[bool | None]] = {}
    for r in rows:
        by.setdefault(r.source, []).append(r.correct)
    return [
        SpotCheckSummary(
            annotator=name,
            open=sum(c is None for c in verdicts),
            error=error_rate(
                sum(c is False for c in verdicts), sum(c is not None for c in verdicts)
            ),
        )
        for name, verdicts in sorted(by.items())
    ]


def list_spot_checks(store: Store, *, access: Access) -> list[dict[str, Any]]:
    require(access.can_review, "see spot checks")
    with store.read() as conn:
        rows = queries.spot_checks(conn, project_id=access.project.id)
    return [
        {
            "id": int(r.id),
            "annotation_id": int(r.annotation_id),
            "record_id": int(r.record_id),
            "annotator": r.source,
            "value": r.value,
            "correct": r.correct,
            "note": r.note,
        }
        for r in rows
    ]


__all__ = [
    "AnnotatorReport",
    "AnnotatorStats",
    "SpotCheckSample",
    "SpotCheckSummary",
    "annotator_report",
    "list_spot_checks",
    "mark_spot_check",
    "sample_spot_checks",
    "spot_check_summary",
]
