"""Review: inter-annotator agreement of a project, the adjudication queue, gold by a reviewer,
and automatic consensus.

The layout underneath is the agreement functions' units x coders: one unit per record with at
least one current accepted human answer, one coder per human source. Per task type:

- ``classify``: the rating is the label.
- ``multilabel``: per label, a yes/no rating per record ("is ``billing`` among the labels?");
  the overall figures pool the (record, label) units.
- ``spans``: pairwise span F1 between annotators over the records both annotated, pooled per
  label and over all labels (exact match, and per-character "token" overlap).

Gold is append-only: a reviewer's decision supersedes the current gold, consensus writes
gold with method ``consensus`` only where no reviewer has decided, and every version is kept.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from labelkitchen.agreement import (
    AgreementResult,
    bootstrap_ci,
    cohen_kappa_result,
    fleiss_kappa_result,
    gwet_ac1_result,
    krippendorff_alpha_result,
    percent_agreement_result,
    span_f1_result,
)
from labelkitchen.errors import InvalidInput, NotFound, PermissionDenied
from labelkitchen.quality import disagreement, split_periods, top_share
from labelkitchen.schema import Project, TaskType
from labelkitchen.services.accounts import Access, User, require
from labelkitchen.store import Store
from labelkitchen.store.queries import projects as project_queries
from labelkitchen.store.queries import review as queries

ConsensusRule = Literal["unanimous", "majority"]
GOLD_METHODS = ("adjudicated", "reviewed")
REVIEWED_METHODS = frozenset({"adjudicated", "reviewed", "import"})
DEFAULT_RESAMPLES = 100

# --- votes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Votes:
    """The current accepted human answers of a project, as units x annotators.

    ``values[(record_id, annotator)]`` is the canonical answer value; ``rows`` every current
    human answer (skips, rejects and flags included) for statistics that count work.
    """

    project: Project
    annotators: list[str]
    record_ids: list[int]
    values: dict[tuple[int, str], dict[str, Any]]
    answer_ids: dict[tuple[int, str], int]
    rows: list[Any]

    def key(self, record_id: int, annotator: str) -> Hashable | None:
        value = self.values.get((record_id, annotator))
        return None if value is None else value_key(self.project.task, value)

    def record_keys(self, record_id: int) -> list[Hashable]:
        return [k for a in self.annotators if (k := self.key(record_id, a)) is not None]


def value_key(task: TaskType, value: dict[str, Any]) -> Hashable:
    """A hashable form of an answer value: the label, the sorted labels, or the spans."""
    if task is TaskType.CLASSIFY:
        return str(value.get("label"))
    if task is TaskType.MULTILABEL:
        return tuple(sorted(value.get("labels", [])))
    return tuple(sorted((s["start"], s["end"], s["label"]) for s in value.get("spans", [])))


def canonical_value(task: TaskType, value: dict[str, Any]) -> dict[str, Any]:
    """The value without extras (a classify answer's ``probs``): what gold stores."""
    if task is TaskType.CLASSIFY:
        return {"label": value["label"]}
    if task is TaskType.MULTILABEL:
        return {"labels": sorted(value.get("labels", []))}
    return {"spans": list(value.get("spans", []))}


def load_votes(store: Store, *, project: str) -> Votes:
    """The project's current human answers, read in one transaction."""
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
        rows = queries.human_answers(conn, project_id=row.id)
    return votes_from_rows(row, rows)


def votes_from_rows(project: Project, rows: Sequence[Any]) -> Votes:
    values: dict[tuple[int, str], dict[str, Any]] = {}
    ids: dict[tuple[int, str], int] = {}
    for r in rows:
        if r.answer == "accept" and r.value:
            values[(int(r.record_id), r.source)] = r.value
            ids[(int(r.record_id), r.source)] = int(r.id)
    return Votes(
        project=project,
        annotators=sorted({r.source for r in rows}),
        record_ids=sorted({record for record, _ in values}),
        values=values,
        answer_ids=ids,
        rows=list(rows),
    )


# --- agreement ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coefficient:
    """One agreement figure: ``value`` is ``None`` when undefined, with the ``reason``."""

    name: str
    value: float | None
    reason: str | None
    n_units: int
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class PairAgreement:
    a: str
    b: str
    measure: str
    value: float | None
    reason: str | None
    n_units: int


@dataclass(frozen=True)
class AgreementReport:
    project: str
    task: str
    n_records: int
    annotators: list[str]
    overall: list[Coefficient]
    per_label: dict[str, list[Coefficient]]
    pairs: list[PairAgreement]
    matrix: list[list[float | None]] = field(default_factory=list)
    over_time: list[PeriodAgreement] = field(default_factory=list)
    period_unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PeriodAgreement:
    """The headline coefficient over the records completed in one period (UTC, ISO times).

    A record counts in the period of its latest accepted answer: the moment its ratings were
    complete. ``value`` is ``None`` when undefined there, with the ``reason``."""

    start: str
    end: str
    units: int
    measure: str
    value: float | None
    reason: str | None
    low: float | None
    high: float | None


Ratings = list[list[Hashable | None]]
ResultFn = Callable[[Any], AgreementResult]
CATEGORICAL: tuple[tuple[str, ResultFn], ...] = (
    ("krippendorff_alpha", krippendorff_alpha_result),
    ("fleiss_kappa", fleiss_kappa_result),
    ("percent_agreement", percent_agreement_result),
    ("gwet_ac1", gwet_ac1_result),
)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _coefficient(
    name: str, metric: ResultFn, units: list[Any], *, n_resamples: int, random_state: int | None
) -> Coefficient:
    result = metric(units)
    if not result.defined:
        return Coefficient(name, None, result.reason, result.n_units)
    low = high = None
    if n_resamples > 0:
        ci = bootstrap_ci(metric, units, n_resamples=n_resamples, random_state=random_state)
        low, high = _finite(ci.low), _finite(ci.high)
    return Coefficient(name, _finite(result.value), None, result.n_units, low, high)


def _categorical(
    ratings: Ratings,
    *,
    n_resamples: int,
    random_state: int | None,
    names: Sequence[str] | None = None,
) -> list[Coefficient]:
    # Who gave a rating does not matter to these four: compact rows keep them fast.
    compact = [[v for v in row if v is not None] for row in ratings]
    return [
        _coefficient(name, fn, compact, n_resamples=n_resamples, random_state=random_state)
        for name, fn in CATEGORICAL
        if names is None or name in names
    ]


def _kappa_pairs(votes: Votes, columns: dict[str, list[Hashable | None]]) -> list[PairAgreement]:
    pairs = []
    for a, b in itertools.combinations(votes.annotators, 2):
        result = cohen_kappa_result(columns[a], columns[b])
        pairs.append(
            PairAgreement(a, b, "cohen_kappa", _finite(result.value), result.reason, result.n_units)
        )
    return pairs


def _matrix(annotators: list[str], pairs: list[PairAgreement]) -> list[list[float | None]]:
    index = {name: i for i, name in enumerate(annotators)}
    matrix: list[list[float | None]] = [[None] * len(annotators) for _ in annotators]
    for pair in pairs:
        i, j = index[pair.a], index[pair.b]
        matrix[i][j] = matrix[j][i] = pair.value
    return matrix


def agreement_report(
    store: Store,
    *,
    project: str,
    n_resamples: int = DEFAULT_RESAMPLES,
    random_state: int | None = 0,
) -> AgreementReport:
    """Agreement among the project's annotators: overall (with percentile bootstrap 95%
    intervals over records, ``n_resamples`` draws; 0 for none), per label (one-vs-rest, no
    intervals), and per annotator pair (Cohen's kappa; span F1 for spans)."""
    if n_resamples < 0:
        raise InvalidInput(f"n_resamples must be 0 (no intervals) or more; got {n_resamples}")
    votes = load_votes(store, project=project)
    task = votes.project.task
    if task is TaskType.SPANS:
        overall, per_label, pairs = _span_agreement(votes, n_resamples, random_state)
    else:
        overall, per_label, pairs = _label_agreement(votes, n_resamples, random_state)
    unit, over_time = _over_time(votes, n_resamples=n_resamples, random_state=random_state)
    return AgreementReport(
        project=votes.project.slug,
        task=task.value,
        n_records=len(votes.record_ids),
        annotators=votes.annotators,
        overall=overall,
        per_label=per_label,
        pairs=pairs,
        matrix=_matrix(votes.annotators, pairs),
        over_time=over_time,
        period_unit=unit,
    )


def completed_at(votes: Votes) -> dict[int, float]:
    """Per record with accepted answers, the epoch second of its latest accepted answer."""
    latest: dict[int, float] = {}
    for r in votes.rows:
        record = int(r.record_id)
        if (record, r.source) in votes.answer_ids and votes.answer_ids[(record, r.source)] == int(
            r.id
        ):
            moment = epoch_seconds(r.created_at)
            latest[record] = max(latest.get(record, moment), moment)
    return latest


def epoch_seconds(moment: Any) -> float:
    """A stored timestamp (datetime, or ISO text from SQLite) as UTC epoch seconds."""
    if not isinstance(moment, datetime):
        moment = datetime.fromisoformat(str(moment))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float(moment.timestamp())


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


def _over_time(
    votes: Votes, *, n_resamples: int, random_state: int | None, max_periods: int = 12
) -> tuple[str | None, list[PeriodAgreement]]:
    """The headline coefficient per calendar period (see :func:`split_periods`)."""
    done = completed_at(votes)
    records = [r for r in votes.record_ids if r in done]
    if not records:
        return None, []
    periods = split_periods([done[r] for r in records], max_periods=max_periods)
    members: list[list[int]] = [[] for _ in periods.starts]
    for record, index in zip(records, periods.index, strict=True):
        members[index].append(record)
    out = []
    for start, chosen in zip(periods.starts, members, strict=True):
        subset = Votes(
            project=votes.project,
            annotators=votes.annotators,
            record_ids=chosen,
            values=votes.values,
            answer_ids=votes.answer_ids,
            rows=[],
        )
        coefficient = _headline(subset, n_resamples=n_resamples, random_state=random_state)
        out.append(
            PeriodAgreement(
                start=iso(start),
                end=iso(start + periods.seconds),
                units=coefficient.n_units,
                measure=coefficient.name,
                value=coefficient.value,
                reason=coefficient.reason,
                low=coefficient.ci_low,
                high=coefficient.ci_high,
            )
        )
    return periods.unit, out


def _headline(votes: Votes, *, n_resamples: int, random_state: int | None) -> Coefficient:
    """Krippendorff's alpha (pooled yes/no units for multilabel), or exact span F1."""
    task = votes.project.task
    if task is TaskType.SPANS:
        return _coefficient(
            "span_f1_exact",
            _span_metric("exact"),
            _span_units(votes, None),
            n_resamples=n_resamples,
            random_state=random_state,
        )
    if task is TaskType.CLASSIFY:
        ratings: Ratings = [
            [votes.key(record, a) for a in votes.annotators] for record in votes.record_ids
        ]
    else:
        ratings = [
            [_yes_no(votes, record, a, label) for a in votes.annotators]
            for label in votes.project.label_names
            for record in votes.record_ids
        ]
    return _categorical(
        ratings, n_resamples=n_resamples, random_state=random_state, names=("krippendorff_alpha",)
    )[0]


def _yes_no(votes: Votes, record_id: int, annotator: str, label: str) -> str | None:
    value = votes.values.get((record_id, annotator))
    if value is None:
        return None
    if votes.project.task is TaskType.CLASSIFY:
        return "yes" if value.get("label") == label else "no"
    return "yes" if label in value.get("labels", []) else "no"


def _label_agreement(
    votes: Votes, n_resamples: int, random_state: int | None
) -> tuple[list[Coefficient], dict[str, list[Coefficient]], list[PairAgreement]]:
    labels = votes.project.label_names
    per_label_ratings: dict[str, Ratings] = {
        label: [
            [_yes_no(votes, record, a, label) for a in votes.annotators]
            for record in votes.record_ids
        ]
        for label in labels
    }
    per_label = {
        label: _categorical(
            ratings,
            n_resamples=0,
            random_state=random_state,
            names=("krippendorff_alpha", "percent_agreement"),
        )
        for label, ratings in per_label_ratings.items()
    }
    if votes.project.task is TaskType.CLASSIFY:
        overall_ratings: Ratings = [
            [votes.key(record, a) for a in votes.annotators] for record in votes.record_ids
        ]
    else:  # multilabel: pool the (record, label) yes/no units
        overall_ratings = [row for ratings in per_label_ratings.values() for row in ratings]
    overall = _categorical(overall_ratings, n_resamples=n_resamples, random_state=random_state)
    columns = {a: [row[j] for row in overall_ratings] for j, a in enumerate(votes.annotators)}
    return overall, per_label, _kappa_pairs(votes, columns)


def _doc(votes: Votes, record_id: int, annotator: str, label: str | None) -> list[Any]:
    value = votes.values[(record_id, annotator)]
    return [
        (s["start"], s["end"], s["label"])
        for s in value.get("spans", [])
        if label is None or s["label"] == label
    ]


def _span_units(votes: Votes, label: str | None) -> list[tuple[list[Any], list[Any]]]:
    """One (spans of a, spans of b) document pair per annotator pair and shared record."""
    units = []
    for a, b in itertools.combinations(votes.annotators, 2):
        for record in votes.record_ids:
            if (record, a) in votes.values and (record, b) in votes.values:
                units.append((_doc(votes, record, a, label), _doc(votes, record, b, label)))
    return units


def _span_metric(match: Literal["exact", "token"]) -> ResultFn:
    def metric(units: list[tuple[list[Any], list[Any]]]) -> AgreementResult:
        return span_f1_result([u[0] for u in units], [u[1] for u in units], match=match)

    return metric


def _span_agreement(
    votes: Votes, n_resamples: int, random_state: int | None
) -> tuple[list[Coefficient], dict[str, list[Coefficient]], list[PairAgreement]]:
    exact, token = _span_metric("exact"), _span_metric("token")
    units = _span_units(votes, None)
    overall = [
        _coefficient(
            "span_f1_exact", exact, units, n_resamples=n_resamples, random_state=random_state
        ),
        _coefficient(
            "span_f1_token", token, units, n_resamples=n_resamples, random_state=random_state
        ),
    ]
    per_label = {}
    for label in votes.project.label_names:
        label_units = _span_units(votes, label)
        per_label[label] = [
            _coefficient("span_f1_exact", exact, label_units, n_resamples=0, random_state=None),
            _coefficient("span_f1_token", token, label_units, n_resamples=0, random_state=None),
        ]
    pairs = []
    for a, b in itertools.combinations(votes.annotators, 2):
        shared = [r for r in votes.record_ids if (r, a) in votes.values and (r, b) in votes.values]
        if not shared:
            reason = "no record was annotated by both, so there is nothing to compare"
            pairs.append(PairAgreement(a, b, "span_f1_exact", None, reason, 0))
            continue
        result = span_f1_result(
            [_doc(votes, r, a, None) for r in shared],
            [_doc(votes, r, b, None) for r in shared],
        )
        pairs.append(
            PairAgreement(
                a, b, "span_f1_exact", _finite(result.value), result.reason, result.n_units
            )
        )
    return overall, per_label, pairs


def local_access(store: Store, *, project: str) -> Access:
    """Full access to ``project`` for a local shell: whoever runs the CLI owns the database."""
    with store.read() as conn:
        row = project_queries.get_project(conn, slug=project)
    return Access(project=row, role=None, is_admin=True)


# --- the review queue -----------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    record_id: int
    external_id: str | None
    text: str
    disagreement: float
    uncertainty: float | None
    answers: list[dict[str, Any]]
    gold: dict[str, Any] | None
    gold_versions: list[dict[str, Any]] = field(default_factory=list)


def review_queue(
    store: Store, *, access: Access, limit: int = 50, include_resolved: bool = False
) -> list[QueueItem]:
    """Records whose current human answers disagree, most disagreement first.

    Disagreement is ``1 - share of the most frequent answer``; ties go to the record the newest
    model is least sure about (``1 - max probability``), then to the oldest record. Records
    with gold are left out unless ``include_resolved``; a resolved record comes with every gold
    version in ``gold_versions`` (oldest first, the current one marked), read in one query.
    """
    require(access.can_review, "review")
    project = access.project
    with store.read() as conn:
        rows = queries.human_answers(conn, project_id=project.id)
        gold = queries.current_gold(conn, project_id=project.id)
        probs = queries.latest_probs(conn, project_id=project.id)
        votes = votes_from_rows(project, rows)
        ranked = []
        for record in votes.record_ids:
            keys = votes.record_keys(record)
            if len(keys) < 2 or len(set(keys)) < 2:
                continue
            if record in gold and not include_resolved:
                continue
            p = probs.get(record)
            uncertainty = 1.0 - max(p.values()) if p else None
            ranked.append((-disagreement(keys), -(uncertainty or 0.0), record, uncertainty))
        ranked.sort()
        chosen = ranked[:limit]
        texts = queries.records_by_id(conn, ids=[item[2] for item in chosen])
        resolved = [item[2] for item in chosen if item[2] in gold]
        versions = queries.gold_versions_of(conn, record_ids=resolved) if resolved else {}
    by_record: dict[int, list[Any]] = {}
    for r in rows:
        by_record.setdefault(int(r.record_id), []).append(r)
    items = []
    for neg_disagreement, _, record, uncertainty in chosen:
        current = gold.get(record)
        items.append(
            QueueItem(
                record_id=record,
                external_id=texts[record].external_id,
                text=texts[record].text,
                disagreement=-neg_disagreement,
                uncertainty=uncertainty,
                answers=[_answer(r) for r in by_record[record]],
                gold=None
                if current is None
                else {"value": current.value, "method": current.method},
                gold_versions=[gold_version(v) for v in versions.get(record, [])],
            )
        )
    return items


@dataclass(frozen=True)
class Resolution:
    """How a record one annotator disagreed on was decided: their answer, the final label, who
    decided how and why, and how the answers split (counts only: names stay blind)."""

    record_id: int
    external_id: str | None
    text: str
    mine: dict[str, Any]
    final: dict[str, Any]
    agreed: bool
    method: str
    reviewer: str | None
    note: str | None
    decided_at: str
    answers: list[dict[str, Any]]


def my_resolutions(
    store: Store, *, access: Access, user: User, limit: int = 100
) -> list[Resolution]:
    """The records ``user`` answered where the annotators disagreed and gold now decides,
    newest decision first: so annotators learn from how their disagreements were resolved."""
    if not access.can_annotate and not access.can_review:
        raise PermissionDenied(
            f"only the project's annotators see their resolved disagreements; "
            f"{user.username!r} is {access.role.value if access.role else 'not a member'}"
        )
    if limit < 1:
        raise InvalidInput(f"limit must be at least 1; got {limit}")
    project = access.project
    with store.read() as conn:
        rows = queries.human_answers(conn, project_id=project.id)
        gold = queries.current_gold(conn, project_id=project.id)
        votes = votes_from_rows(project, rows)
        own = {
            r.source
            for r in rows
            if r.user_id == user.id or (r.user_id is None and r.source == user.username)
        }
        chosen: list[tuple[int, str]] = []
        for record in votes.record_ids:
            current = gold.get(record)
            if current is None or current.method not in (*GOLD_METHODS, "consensus"):
                continue
            keys = votes.record_keys(record)
            mine = [a for a in own if (record, a) in votes.values]
            if mine and len(set(keys)) > 1:
                chosen.append((record, mine[0]))
        chosen.sort(key=lambda item: int(gold[item[0]].id), reverse=True)  # newest gold first
        chosen = chosen[:limit]
        history = queries.gold_versions_of(conn, record_ids=[record for record, _ in chosen])
        decided = {record: versions[-1] for record, versions in history.items()}
        texts = queries.records_by_id(conn, ids=[record for record, _ in chosen])
    out = []
    for record, source in chosen:
        version = decided[record]
        final = canonical_value(project.task, version.value)
        tally = Counter(votes.record_keys(record))
        shown = {}
        for annotator in votes.annotators:
            key = votes.key(record, annotator)
            if key is not None and key not in shown:
                shown[key] = canonical_value(project.task, votes.values[(record, annotator)])
        out.append(
            Resolution(
                record_id=record,
                external_id=texts[record].external_id,
                text=texts[record].text,
                mine=canonical_value(project.task, votes.values[(record, source)]),
                final=final,
                agreed=votes.key(record, source) == value_key(project.task, final),
                method=version.method,
                reviewer=version.username,
                note=version.note,
                decided_at=str(version.created_at),
                answers=[
                    {"value": shown[key], "count": count} for key, count in tally.most_common()
                ],
            )
        )
    return out


def gold_version(row: Any) -> dict[str, Any]:
    """One gold version as the API shows it: value, method, reviewer, note, when, current."""
    return {
        "id": int(row.id),
        "value": row.value,
        "method": row.method,
        "reviewer": row.username,
        "annotation_id": row.annotation_id,
        "note": row.note,
        "created_at": str(row.created_at),
        "current": row.superseded_by is None,
    }


def _answer(row: Any) -> dict[str, Any]:
    return {
        "annotation_id": int(row.id),
        "annotator": row.source,
        "value": row.value,
        "answer": row.answer,
        "duration_ms": row.duration_ms,
        "guidelines_version": row.guidelines_version,
        "created_at": str(row.created_at),
    }


# --- gold -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldDecision:
    record_id: int
    gold_id: int
    value: dict[str, Any]
    method: str
    versions: list[dict[str, Any]]


def set_gold(
    store: Store,
    *,
    access: Access,
    user: User,
    record_id: int,
    value: Any = None,
    method: str = "adjudicated",
    annotation_id: int | None = None,
    note: str | None = None,
) -> GoldDecision:
    """A reviewer's final label for a record: a new gold version that supersedes the current.

    ``value`` is checked against the project; without it, the answer ``annotation_id`` (which
    must be an answer on this record) is taken as it is.
    """
    require(access.can_review, "decide gold labels")
    if method not in GOLD_METHODS:
        raise InvalidInput(f"method must be one of {list(GOLD_METHODS)}; got {method!r}")
    project = access.project
    with store.write() as conn:
        record = queries.record_row(conn, project_id=project.id, record_id=record_id)
        if record is None:
            raise NotFound(f"no record {record_id} in this project")
        if annotation_id is not None:
            picked = queries.annotation_row(conn, annotation_id=annotation_id)
            if picked is None or int(picked.record_id) != record_id:
                raise InvalidInput(f"annotation {annotation_id} is not an answer on this record")
            if value is None:
                if not picked.value:
                    raise InvalidInput(f"annotation {annotation_id} has no value to take")
                value = picked.value
        if value is None:
            raise InvalidInput("give a value, or the annotation_id of the answer to take")
        checked = canonical_value(project.task, project.normalize_value(value, text=record.text))
        gold_id = queries.add_gold(
            conn,
            project_id=project.id,
            record_id=record_id,
            value=checked,
            method=method,
            user_id=user.id,
            annotation_id=annotation_id,
            note=note,
        )
        versions = [gold_version(v) for v in queries.gold_versions(conn, record_id=record_id)]
    return GoldDecision(record_id, gold_id, checked, method, versions)


@dataclass(frozen=True)
class ConsensusReport:
    project: str
    rule: str
    threshold: float
    written: int
    unchanged: int
    reviewed: int
    not_agreeing: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def agreeing_value(
    keys: Sequence[Hashable], *, rule: ConsensusRule, threshold: float, min_answers: int
) -> Hashable | None:
    """The answer the rule accepts for one record's answers, or ``None``."""
    if len(keys) < min_answers:
        return None
    counts = Counter(keys).most_common(2)
    if rule == "unanimous":
        return counts[0][0] if len(counts) == 1 else None
    if len(counts) == 2 and counts[0][1] == counts[1][1]:
        return None
    return counts[0][0] if top_share(list(keys)) >= threshold else None


def apply_consensus(
    store: Store,
    *,
    project: str,
    rule: ConsensusRule | None = None,
    threshold: float | None = None,
    min_answers: int | None = None,
) -> ConsensusReport:
    """Write gold (method ``consensus``) for records whose answers agree by ``rule``.

    ``unanimous``: every answer the same. ``majority``: one answer has a strict plurality and
    at least ``threshold`` of the answers. Records with at least ``min_answers`` answers only.
    Each option left ``None`` comes from the project's settings (``consensus_rule``,
    ``consensus_threshold``, ``consensus_min_answers``). A reviewer's or an imported gold is
    never overwritten; an earlier consensus gold is superseded when the agreeing answer changed.
    """
    with store.read() as conn:
        configured = project_queries.get_project(conn, slug=project).spec.settings
    rule = configured.consensus_rule if rule is None else rule
    threshold = configured.consensus_threshold if threshold is None else threshold
    min_answers = configured.consensus_min_answers if min_answers is None else min_answers
    if rule not in ("unanimous", "majority"):
        raise InvalidInput(f"rule must be 'unanimous' or 'majority'; got {rule!r}")
    if not 0.0 < threshold <= 1.0:
        raise InvalidInput(f"threshold must be in (0, 1]; got {threshold}")
    if min_answers < 1:
        raise InvalidInput(f"min_answers must be at least 1; got {min_answers}")
    written = unchanged = reviewed = not_agreeing = 0
    with store.write() as conn:
        row = project_queries.get_project(conn, slug=project)
        votes = votes_from_rows(row, queries.human_answers(conn, project_id=row.id))
        gold = queries.current_gold(conn, project_id=row.id)
        for record in votes.record_ids:
            agreed = agreeing_value(
                votes.record_keys(record), rule=rule, threshold=threshold, min_answers=min_answers
            )
            if agreed is None:
                not_agreeing += 1
                continue
            current = gold.get(record)
            if current is not None and current.method in REVIEWED_METHODS:
                reviewed += 1
                continue
            value = next(
                votes.values[(record, a)]
                for a in votes.annotators
                if votes.key(record, a) == agreed
            )
            checked = canonical_value(row.task, value)
            if current is not None and value_key(row.task, current.value) == agreed:
                unchanged += 1
                continue
            queries.add_gold(
                conn, project_id=row.id, record_id=record, value=checked, method="consensus"
            )
            written += 1
    return ConsensusReport(project, rule, threshold, written, unchanged, reviewed, not_agreeing)


__all__ = [
    "AgreementReport",
    "Coefficient",
    "ConsensusReport",
    "GoldDecision",
    "PairAgreement",
    "PeriodAgreement",
    "QueueItem",
    "Resolution",
    "Votes",
    "agreeing_value",
    "agreement_report",
    "apply_consensus",
    "canonical_value",
    "completed_at",
    "epoch_seconds",
    "gold_version",
    "load_votes",
    "local_access",
    "my_resolutions",
    "review_queue",
    "set_gold",
    "value_key",
    "votes_from_rows",
]
