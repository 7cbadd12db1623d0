"""``labelkitchen lf ...`` and ``labelkitchen weak ...``: labelling functions and label models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from labelkitchen.cli.common import DbOption, JsonOption, console, open_store, print_json
from labelkitchen.cli.common import reports_errors as handled
from labelkitchen.services import lf_examples as examples_service
from labelkitchen.services import weak as service

lf_app = typer.Typer(
    help="Labelling functions: apply them and see how they do.", no_args_is_help=True
)
weak_app = typer.Typer(help="Label models over labelling-function votes.", no_args_is_help=True)


_TEXT_SHOWN = 300
"""Characters of a record's text the examples table shows (``--json`` gives all)."""


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "\u2026"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


@lf_app.command("apply")
@handled
def apply(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    path: Annotated[Path, typer.Argument(help="A Python module of LFs, or YAML/JSON rules.")],
    n_jobs: Annotated[int, typer.Option(help="Processes for Python LFs.")] = 1,
    db: DbOption = None,
) -> None:
    """Apply labelling functions to every record and store their votes."""
    lfs = service.load_lfs(path)
    with open_store(db) as store:
        report = service.apply_project_lfs(store, project=project, lfs=lfs, n_jobs=n_jobs)
    console.print(
        f"applied {len(report.lfs)} LFs to {report.n_records:,} records in {report.seconds:.2f} s"
    )
    table = Table("LF", "votes", "coverage")
    for name in report.lfs:
        table.add_row(name, f"{report.votes[name]:,}", _pct(report.coverage(name)))
    console.print(table)
    for fault in report.faults:
        console.print(
            f"LF {fault.lf} failed on {fault.count:,} records; first error:\n"
            f"{fault.first_traceback}",
            style="yellow",
        )


@lf_app.command("stats")
@handled
def stats(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    json_: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Coverage, overlaps, conflicts and (against gold) accuracy of each labelling function."""
    with open_store(db) as store:
        result = service.project_lf_summary(store, project=project)
    rows = result.summary.to_records()
    if json_:
        print_json(
            {
                "project": result.project,
                "task": result.task,
                "labels": list(result.labels),
                "n_gold": result.n_gold,
                "lfs": rows,
            }
        )
        return
    gold = result.n_gold > 0
    copies = any(row["near_copies"] for row in rows)
    per_label = result.task == "multilabel"  # a row per LF and label; classes absent, present
    classes = ("absent", "present") if per_label else result.labels
    # the most telling columns first: a narrow terminal folds or cuts the ones on the right
    names = ["label", "LF", "polarity", "cover"] if per_label else ["LF", "polarity", "cover"]
    names += ["right", "accuracy (95% CI)"] if gold else []
    names += ["overlap", "conflict", "conflicts most with"]
    names += ["near-copies of"] if copies else []
    table = Table(
        title=f"{result.project}: {result.summary.n_records:,} records"
        + (f", {result.n_gold:,} with gold" if gold else ", no gold yet")
        + (
            "; a span is right where a gold span has its start, end and label"
            if gold and result.task == "spans"
            else ""
        ),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    longest = max((len(row["name"]) for row in rows), default=2)
    for name in names:
        if name in ("LF", "label"):  # names are folded onto more lines rather than cut
            table.add_column(name, overflow="fold", min_width=min(longest, 20))
        elif name in ("cover", "overlap", "conflict", "right"):
            table.add_column(name, justify="right", no_wrap=True)
        elif name == "accuracy (95% CI)":
            table.add_column(name, justify="right", min_width=15)
        elif name == "polarity":  # class names whole: "present", not "prese" + "nt"
            table.add_column(name, overflow="fold", min_width=min(max(map(len, classes)), 10))
        else:
            table.add_column(name, overflow="fold")
    for row in rows:
        cells = [row["label"]] if per_label else []
        cells += [
            row["name"],
            ", ".join(classes[c] for c in row["polarity"]),
            _pct(row["coverage"]),
        ]
        if gold:
            accuracy = (
                ""
                if row["accuracy"] is None
                else (
                    f"{row['accuracy']:.0%} ({row['accuracy_low']:.0%}-{row['accuracy_high']:.0%})"
                )
            )
            judged = row["correct"] + row["incorrect"]
            cells += [f"{row['correct']}/{judged}", accuracy]
        cells += [_pct(row["overlaps"]), _pct(row["conflicts"]), row["conflicts_most_with"] or ""]
        if copies:
            cells.append(", ".join(row["near_copies"]))
        table.add_row(*cells)
    console.print(table)


@lf_app.command("examples")
@handled
def examples(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    lf: Annotated[str, typer.Argument(help="Name of the labelling function.")],
    kind: Annotated[
        str,
        typer.Option(
            help="votes (records it voted on), wrong (voted against gold), conflicts (voted "
            "against another LF), missed (abstained where gold is a label it votes)."
        ),
    ] = "votes",
    limit: Annotated[int, typer.Option(help="Records to show at most.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the random sample.")] = 0,
    json_: JsonOption = False,
    db: DbOption = None,
) -> None:
    """A random sample of records one labelling function voted on, got wrong, fought over or
    missed, with its vote, the gold label and the other LFs' votes."""
    with open_store(db) as store:
        result = examples_service.lf_examples(
            store, project=project, lf=lf, kind=kind, limit=limit, seed=seed
        )
    if json_:
        print_json(
            {
                "project": result.project,
                "lf": result.lf,
                "kind": result.kind,
                "matching": result.matching,
                "examples": [vars(example) for example in result.examples],
            }
        )
        return
    what = {
        "votes": "records it voted on",
        "wrong": "records it voted on against gold",
        "conflicts": "records where another LF voted otherwise",
        "missed": "records it abstained on although gold is a label it votes",
    }[result.kind]
    table = Table(
        title=f"{result.lf}: {len(result.examples):,} of {result.matching:,} {what}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for name in ("record", "split", "vote", "gold", "other LFs", "text"):
        table.add_column(name, overflow="fold")
    for example in result.examples:
        others = ", ".join(f"{name}: {label}" for name, label in example.others.items())
        table.add_row(
            # record text and names are shown as they are, never read as rich markup
            Text(example.external_id or str(example.record_id)),
            Text(example.split or ""),
            Text(example.vote or "-"),
            Text(example.gold or ""),
            Text(others),
            Text(_clip(example.text, _TEXT_SHOWN)),
        )
    console.print(table)


@weak_app.command("fit")
@handled
def fit(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    model: Annotated[
        str | None,
        typer.Option(
            help="Label model: label_model.v1 (chooses; the default), majority_vote.v1, "
            "weighted_vote.v1, dawid_skene.v1, matrix_completion.v1. Spans projects aggregate "
            "token tags with majority_vote.v1 (the default), dawid_skene.v1, label_model.v1 or "
            "tag_hmm.v1.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    db: DbOption = None,
) -> None:
    """Fit a label model on the LF votes; store probabilistic labels as a source."""
    with open_store(db) as store:
        report = service.fit_label_model(store, project=project, model=model, random_state=seed)
    chose = "" if report.selected == report.model else f" (chose {report.selected})"
    console.print(
        f"fitted {report.model}{chose}, version {report.version}: "
        f"{report.n_labelled:,} of {report.n_records:,} records labelled "
        f"({report.coverage:.1%} covered) in {report.seconds:.2f} s"
    )
    for note in report.notes:
        console.print(f"  {note}")
    if report.test_accuracy is not None and report.metric == "span F1":
        console.print(
            f"test span F1 on {report.n_test:,} gold records (a span counts where start, end "
            f"and label match a gold span): {report.test_accuracy:.1%} (majority vote: "
            f"{_pct(report.test_majority_accuracy)})"
        )
    elif report.test_accuracy is not None and report.metric == "accuracy per label":
        console.print(
            f"test accuracy per label on {report.n_test:,} gold records (records x labels "
            f"decided right): {report.test_accuracy:.1%} (majority vote: "
            f"{_pct(report.test_majority_accuracy)}; a label no LF voted on counts as absent)"
        )
    elif report.test_accuracy is not None:
        console.print(
            f"test accuracy on {report.n_test:,} gold records: {report.test_accuracy:.1%} "
            f"(majority vote: {_pct(report.test_majority_accuracy)}; uncovered records count "
            "as the first label)"
        )
        if report.test_coverage is not None and report.test_covered_accuracy is not None:
            console.print(
                f"  on the {report.test_coverage:.1%} of them some LF voted on: "
                f"{report.test_covered_accuracy:.1%} (majority vote: "
                f"{_pct(report.test_majority_covered_accuracy)})"
            )
