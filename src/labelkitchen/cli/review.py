"""``labelkitchen agreement``, ``annotators`` and ``review`` (consensus, queue)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from labelkitchen.cli.common import DbOption, JsonOption, console, open_store, print_json
from labelkitchen.cli.common import reports_errors as handled
from labelkitchen.errors import InvalidInput
from labelkitchen.services import label_errors, quality, review

review_app = typer.Typer(
    help="Review: automatic consensus and the adjudication queue.", no_args_is_help=True
)
ProjectArg = Annotated[str, typer.Argument(help="Project slug.")]


def _num(value: float | None, digits: int = 3) -> str:
    return "undefined" if value is None else f"{value:.{digits}f}"


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"


def agreement_command(
    project: ProjectArg,
    resamples: Annotated[
        int, typer.Option(help="Bootstrap resamples for the 95% intervals (0: none).")
    ] = review.DEFAULT_RESAMPLES,
    seed: Annotated[int, typer.Option(help="Random seed of the bootstrap.")] = 0,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Inter-annotator agreement: overall, per label and per annotator pair."""
    with open_store(db) as store:
        report = review.agreement_report(
            store, project=project, n_resamples=resamples, random_state=seed
        )
    if json_out:
        print_json(report.to_dict())
        return
    console.print(
        f"{report.project} ({report.task}): {report.n_records:,} records, "
        f"{len(report.annotators)} annotators"
    )
    overall = Table("measure", "value", "95% interval", "units", "note", title="Overall")
    for c in report.overall:
        overall.add_row(
            c.name, _num(c.value), _interval(c.ci_low, c.ci_high), str(c.n_units), c.reason or ""
        )
    console.print(overall)
    per_label = Table("label", "measure", "value", "units", "note", title="Per label")
    for label, coefficients in report.per_label.items():
        for c in coefficients:
            per_label.add_row(label, c.name, _num(c.value), str(c.n_units), c.reason or "")
    console.print(per_label)
    pairs = Table("annotator", "annotator", "measure", "value", "units", "note", title="Pairs")
    for p in report.pairs:
        pairs.add_row(p.a, p.b, p.measure, _num(p.value), str(p.n_units), p.reason or "")
    console.print(pairs)
    if len(report.over_time) > 1:
        timeline = Table(
            "from", "units", "measure", "value", "95% interval", "note",
            title=f"Over time (per {report.period_unit}, by when a record's answers completed)",
        )  # fmt: skip
        for period in report.over_time:
            timeline.add_row(
                period.start[:16].replace("T", " "),
                str(period.units),
                period.measure,
                _num(period.value),
                _interval(period.low, period.high),
                period.reason or "",
            )
        console.print(timeline)


def annotators_command(
    project: ProjectArg, json_out: JsonOption = False, db: DbOption = None
) -> None:
    """Per annotator: throughput, time per record, agreement, estimated accuracy, cost."""
    with open_store(db) as store:
        report = quality.annotator_report(store, project=project)
    if json_out:
        print_json(report.to_dict())
        return
    table = Table(
        "annotator",
        "answers",
        "per hour",
        "median s",
        "vs consensus",
        "vs gold",
        "est. accuracy",
        "drift",
        "cost / gold label",
        title=f"{report.project}: annotators",
    )
    for a in report.annotators:
        drift = ""
        if a.drift_change is not None and a.drift_p_value is not None:
            drift = f"{a.drift_change:+.2f} (p={a.drift_p_value:.3f})"
        table.add_row(
            a.annotator,
            f"{a.answers:,}",
            _num(a.answers_per_hour, 1),
            "" if a.median_ms is None else f"{a.median_ms / 1000:.1f}",
            f"{_num(a.consensus.value)} ({a.consensus.n})",
            f"{_num(a.gold.value)} ({a.gold.n})",
            _num(a.estimated_accuracy),
            drift,
            _num(a.cost_per_gold_label, 2),
        )
    console.print(table)
    console.print(
        "drift: agreement with consensus, later half of the answers minus the earlier half "
        "(two-proportion test)"
    )
    if report.reviewers:
        reviewers = Table("reviewer", "passes", "records", "hours", "cost", title="Review passes")
        for r in report.reviewers:
            reviewers.add_row(
                r.reviewer, str(r.passes), str(r.records), f"{r.active_hours:.2f}", _num(r.cost, 2)
            )
        console.print(reviewers)
    if report.model_note:
        console.print(report.model_note)
    if report.model_vs_gold is not None and report.majority_vs_gold is not None:
        console.print(
            f"against {report.n_gold:,} gold labels: Dawid-Skene "
            f"{_num(report.model_vs_gold.value)}, majority vote "
            f"{_num(report.majority_vs_gold.value)}"
        )
    if report.passes_per_gold_label is not None:
        console.print(
            f"passes per gold label: {report.passes_per_gold_label:.2f} "
            f"({report.review_passes:,} review passes on {report.reviewed_gold:,} records)"
        )
    if report.cost_per_gold_label is not None:
        console.print(
            f"cost per gold label (annotation and review): {report.cost_per_gold_label:.2f}"
        )
    if report.cost_note:
        console.print(report.cost_note)


@review_app.command("consensus")
@handled
def consensus_command(
    project: ProjectArg,
    rule: Annotated[
        str | None,
        typer.Option(
            help="unanimous: every answer the same; majority: see --threshold. "
            "[default: the project's consensus_rule]"
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Share of answers the majority answer needs. "
            "[default: the project's consensus_threshold]"
        ),
    ] = None,
    min_answers: Annotated[
        int | None,
        typer.Option(help="Answers a record needs. [default: the project's consensus_min_answers]"),
    ] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Write gold (method consensus) for records whose answers agree."""
    if rule not in (None, "unanimous", "majority"):
        raise InvalidInput(f"--rule must be unanimous or majority; got {rule!r}")
    with open_store(db) as store:
        report = review.apply_consensus(
            store,
            project=project,
            rule=None if rule is None else "unanimous" if rule == "unanimous" else "majority",
            threshold=threshold,
            min_answers=min_answers,
        )
    if json_out:
        print_json(report.to_dict())
        return
    console.print(
        f"{report.project}: wrote {report.written:,} consensus gold labels; "
        f"{report.unchanged:,} unchanged, {report.reviewed:,} already reviewed, "
        f"{report.not_agreeing:,} not agreeing"
    )


@review_app.command("queue")
@handled
def queue_command(
    project: ProjectArg,
    limit: Annotated[int, typer.Option(help="Records to show.")] = 20,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Records whose annotators disagree, most disagreement first."""
    with open_store(db) as store:
        access = review.local_access(store, project=project)
        items = review.review_queue(store, access=access, limit=limit)
    if json_out:
        print_json([item.__dict__ for item in items])
        return
    table = Table("record", "disagreement", "uncertainty", "answers", "text", title="Review queue")
    for item in items:
        answers = ", ".join(f"{a['annotator']}: {_short(a['value'])}" for a in item.answers)
        table.add_row(
            str(item.record_id),
            f"{item.disagreement:.2f}",
            _num(item.uncertainty, 2),
            answers,
            item.text[:60],
        )
    console.print(table)


@review_app.command("errors")
@handled
def errors_command(
    project: ProjectArg,
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = (
        label_errors.DEFAULT_FOLDS
    ),
    limit: Annotated[int, typer.Option(help="Records to show.")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed of the folds.")] = 0,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Suspected label errors: compute and store the queue, then show it."""
    with (
        open_store(db) as store,
        Progress(
            TextColumn("cross-validating"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} folds"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=json_out,
        ) as progress,
    ):
        task = progress.add_task("folds", total=folds)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        label_errors.compute_suspected_errors(
            store, project=project, folds=folds, random_state=seed, progress=update
        )
        access = review.local_access(store, project=project)
        queue = label_errors.suspected_errors(store, access=access, limit=limit)
    if json_out:
        print_json(queue.to_dict())
        return
    console.print(
        f"{queue.project}: {queue.n_flagged:,} of {queue.n_records:,} labelled records flagged "
        f"({queue.folds}-fold cross-validation); the {len(queue.items)} most suspect:"
    )
    table = Table(
        "record", "score", "given", "suggested", "reasons", "text", title="Suspected errors"
    )
    for item in queue.items:
        reasons = ", ".join(item.reasons)
        if item.neighbours:
            reasons += " (" + ", ".join(str(n) for n in item.neighbours[:3]) + ")"
        table.add_row(
            str(item.record_id),
            f"{item.score:.3f}",
            f"{_short(_value(item.given))} [{item.given_source}]",
            _short(_value(item.suggested)),
            reasons,
            item.text[:60],
        )
    console.print(table)


def _value(label: Any) -> dict[str, Any]:
    return {"labels": label} if isinstance(label, list) else {"label": label}


def _short(value: Any) -> str:
    if not value:
        return "-"
    if "label" in value:
        return str(value["label"])
    if "labels" in value:
        return "+".join(value["labels"]) or "(none)"
    return f"{len(value.get('spans', []))} spans"
