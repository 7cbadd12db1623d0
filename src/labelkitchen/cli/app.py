"""The ``labelkitchen`` command (alias ``lk``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from labelkitchen import __version__
from labelkitchen.cli import data, learn, projects, review, users, weak
from labelkitchen.cli.common import DbOption, console, open_store
from labelkitchen.cli.common import reports_errors as handled
from labelkitchen.cli.users import run_server
from labelkitchen.demo import DEMO_SLUG, data_dir
from labelkitchen.services.demo import DEMO_PASSWORD, DEMO_USER, build_demo
from labelkitchen.services.stats import project_stats
from labelkitchen.store.engine import current_revision, head_revision, upgrade

app = typer.Typer(
    name="labelkitchen",
    help="labelkitchen: build labelled text datasets. Import records, label them with "
    "functions, annotators and models, review, and export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(projects.app, name="project")
app.add_typer(weak.lf_app, name="lf")
app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")
app.command("serve")(handled(users.serve))
app.command("train")(handled(learn.train))
app.command("predict")(handled(learn.predict))
app.command("simulate")(handled(learn.simulate))
app.add_typer(learn.model_app, name="model")
app.add_typer(weak.weak_app, name="weak")
app.command("import")(handled(data.import_command))
app.command("export")(handled(data.export_command))
app.command("stats")(handled(data.stats_command))
app.command("agreement")(handled(review.agreement_command))
app.command("annotators")(handled(review.annotators_command))
app.add_typer(review.review_app, name="review")

db_app = typer.Typer(help="Database schema: migrate and inspect.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _version(value: bool) -> None:
    if value:
        console.print(f"labelkitchen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """labelkitchen: build labelled text datasets."""


@app.command("demo")
@handled
def demo(
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the demo project first and rebuild it.")
    ] = False,
    serve: Annotated[
        bool | None,
        typer.Option(
            "--serve/--no-serve",
            help="Serve the web app afterwards (default: when run in a terminal).",
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
    db: DbOption = None,
) -> None:
    """Build the demo project (YouTube comments to label as spam or ham) and serve it."""
    with open_store(db) as store:
        report = build_demo(store, reset=reset)
        stats = project_stats(store, project=DEMO_SLUG)
        url = store.engine.url.render_as_string(hide_password=True)
    verb = "created" if report.created else "refreshed"
    console.print(f"{verb} demo project {DEMO_SLUG} in {url}")
    console.print(
        "  data: YouTube Spam Collection (Alberto et al., ICMLA 2015), CC BY 4.0; "
        f"licence and citation in {data_dir() / 'LICENSE.md'}"
    )
    for name, part in (("test", report.test), ("train", report.train)):
        console.print(
            f"  {name}: read {part.read:,} comments, imported {part.imported:,} new, "
            f"skipped {part.duplicates:,} duplicate texts"
            + (f", {part.gold:,} gold labels" if part.gold else "")
        )
    splits = ", ".join(f"{k} {v:,}" for k, v in sorted(stats.records_by_split.items()))
    gold = {label: counts.get("gold", 0) for label, counts in stats.labels.items()}
    console.print(f"  records: {stats.records:,} ({splits})")
    console.print(
        "  test gold: "
        + ", ".join(f"{k} {v:,}" for k, v in gold.items())
        + "; train is unlabelled, waiting for labelling functions, annotators and models"
    )
    lm = report.label_model
    console.print(
        f"  labelling functions: {len(report.lfs.lfs)} rules voted on "
        f"{lm.coverage:.0%} of records; label model {lm.selected} labelled "
        f"{lm.n_labelled:,} records"
    )
    if lm.test_accuracy is not None:
        console.print(
            f"  label model on test gold: {lm.test_accuracy:.1%} accuracy "
            f"(majority vote {lm.test_majority_accuracy or 0:.1%}; records no rule voted on "
            "count as the first label)"
        )
    if lm.test_coverage is not None and lm.test_covered_accuracy is not None:
        console.print(
            f"  on the {lm.test_coverage:.1%} of test records a rule voted on: "
            f"{lm.test_covered_accuracy:.1%} (majority vote "
            f"{lm.test_majority_covered_accuracy or 0:.1%})"
        )
    goal = report.project.spec.goal
    console.print(
        f"  goal: {goal.text}\n  metric: {goal.metric.value} of "
        f"{goal.label!r}, target {goal.target}"
    )
    console.print(
        "\nnext: labelkitchen lf stats youtube-spam   |   labelkitchen stats youtube-spam   |   "
        "labelkitchen export youtube-spam --format csv --out spam.csv"
    )
    console.print(f"web app: log in as {DEMO_USER} / {DEMO_PASSWORD}")
    if serve is None:
        serve = sys.stdin.isatty() and sys.stdout.isatty()
    if serve:
        run_server(db=db, host="127.0.0.1", port=port)
    else:
        console.print("serve it with: labelkitchen serve   (then open http://127.0.0.1:8000/)")


@db_app.command("upgrade")
@handled
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    db: DbOption = None,
) -> None:
    """Bring the database schema up to date (done automatically on open by default)."""
    with open_store(db) as store:
        upgrade(store.engine, revision)
        console.print(f"schema at {current_revision(store.engine)}")


@db_app.command("current")
@handled
def db_current(db: DbOption = None) -> None:
    """Print the database's schema revision and the newest one."""
    with open_store(db) as store:
        console.print(f"database: {current_revision(store.engine)}  newest: {head_revision()}")


def main() -> None:
    app()
