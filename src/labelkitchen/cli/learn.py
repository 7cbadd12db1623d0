"""``labelkitchen train``, ``predict``, ``model export|serve`` and ``simulate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from labelkitchen.cli.common import DbOption, console, open_store
from labelkitchen.cli.common import reports_errors as handled
from labelkitchen.errors import InvalidInput
from labelkitchen.io.readers import detect_format, read_rows
from labelkitchen.services import train as service
from labelkitchen.services.projects import get_project

model_app = typer.Typer(help="Trained models: export one, serve it alone.", no_args_is_help=True)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def train(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    weak: Annotated[
        bool,
        typer.Option(
            "--weak",
            help="Also train on weak labels for records no human labelled: the label model's "
            "labels (classify, multilabel) or the span LFs' aggregated spans (spans).",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Train the project's model on gold and human labels; evaluate on dev/test gold.

    classify and multilabel projects train the text baseline (TF-IDF + logistic regression);
    spans projects train the span tagger (a spaCy pipeline trained from scratch). The pool's
    predictions are stored: they order uncertainty queues and appear on the annotation screen.
    """
    with open_store(db) as store:
        report = service.train_project(store, project=project, weak=weak)
    console.print(
        f"trained model v{report.version} on {report.n_train:,} records"
        + (f" ({report.n_weak:,} weakly labelled)" if report.n_weak else "")
        + f" in {report.seconds:.1f} s"
    )
    alignment = report.alignment
    if alignment and (
        alignment["n_expanded"] or alignment["n_unplaceable"] or alignment["n_overlapping"]
    ):
        console.print(
            f"span alignment: {alignment['n_spans']:,} training spans, "
            f"{alignment['n_expanded']:,} grown to whole tokens, "
            f"{alignment['n_unplaceable']:,} unplaceable and "
            f"{alignment['n_overlapping']:,} overlapping dropped"
        )
    for split in ("dev", "test"):
        metrics = report.metrics.get(split)
        if not metrics:
            continue
        table = Table(
            "label",
            "precision",
            "recall",
            "F1",
            "support",
            title=f"{split}: {metrics['n']:,} gold records, macro F1 {metrics['macro_f1']:.3f}"
            + (f", micro F1 {metrics['micro_f1']:.3f}" if "n_true" in metrics else ""),
            title_justify="left",
        )
        for label, row in metrics["per_label"].items():
            table.add_row(
                label,
                _pct(row["precision"]),
                _pct(row["recall"]),
                _pct(row["f1"]),
                str(row["support"]),
            )
        console.print(table)
    goal = report.goal
    if goal["value"] is not None:
        target = (
            "no target"
            if goal["target"] is None
            else (f"target {goal['target']:g}: {'met' if goal['met'] else 'not met yet'}")
        )
        what = goal["metric"] + (f" of {goal['label']!r}" if goal["label"] else "")
        console.print(f"goal: {what} on {goal['split']} = {goal['value']:.3f} ({target})")


def predict(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    file: Annotated[Path, typer.Argument(help="Records to label (JSONL, CSV, ... or text).")],
    text_field: Annotated[str, typer.Option(help="Field holding the text.")] = "text",
    out: Annotated[
        Path | None, typer.Option(help="Output JSONL (default: standard output).")
    ] = None,
    batch: Annotated[int, typer.Option(help="Texts per model call.")] = 1000,
    db: DbOption = None,
) -> None:
    """Label a file with the project's newest model; writes JSON Lines with the predictions."""
    if not file.exists():
        raise InvalidInput(f"{file}: no such file")
    rows, _ = read_rows(file, fmt=detect_format(file))
    handle = out.open("w", encoding="utf-8") if out else None
    written = 0
    with (
        open_store(db) as store,
        Progress(
            TextColumn("[bold]predicting"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        project_row = get_project(store, slug=project)
        task = progress.add_task("predict", total=None)
        pending: list[dict[str, Any]] = []

        def flush() -> None:
            nonlocal written
            texts = [str(item[text_field]) for item in pending]
            for item, prediction in zip(
                pending, service.predict_texts(store, project=project_row, texts=texts), strict=True
            ):
                line = json.dumps({**item, "prediction": prediction}, ensure_ascii=False)
                if handle:
                    handle.write(line + "\n")
                else:
                    typer.echo(line)
            written += len(pending)
            progress.update(task, completed=written)
            pending.clear()

        for row in rows:
            if row.data is None:
                raise InvalidInput(f"{file}, line {row.line}: {row.error}")
            if text_field not in row.data:
                raise InvalidInput(f"{file}, line {row.line}: no field {text_field!r}")
            pending.append(row.data)
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
    if handle:
        handle.close()
        console.print(f"wrote {written:,} predictions to {out}")


@model_app.command("export")
@handled
def export(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    directory: Annotated[Path, typer.Argument(help="Folder to write the model to.")],
    db: DbOption = None,
) -> None:
    """Write the newest model as a self-contained folder (skops + JSON + model card)."""
    with open_store(db) as store:
        path = service.export_model(store, project=project, directory=directory)
    console.print(f"model written to {path}; serve it with: labelkitchen model serve {path}")


@model_app.command("serve")
@handled
def serve_model(
    directory: Annotated[Path, typer.Argument(help="A folder from `model export`.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
) -> None:
    """Serve an exported model alone: POST /predict {"texts": [...]}."""
    import uvicorn

    from labelkitchen.server.model_app import create_model_app

    app = create_model_app(directory)
    console.print(f"model at http://{host}:{port}/predict (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def simulate(
    file: Annotated[Path, typer.Argument(help="Labelled data: JSONL or CSV.")],
    text_field: Annotated[str, typer.Option(help="Field holding the text.")] = "text",
    label_field: Annotated[str, typer.Option(help="Field holding the label.")] = "label",
    strategy: Annotated[
        list[str], typer.Option(help="Strategy (repeatable), e.g. random, entropy, margin.")
    ] = ["random.v1", "least_confidence.v1", "margin.v1", "entropy.v1"],  # noqa: B006
    seeds: Annotated[int, typer.Option(help="Runs per strategy.")] = 5,
    seed_size: Annotated[int, typer.Option(help="Labels to start from.")] = 20,
    batch: Annotated[int, typer.Option(help="Labels added per round.")] = 20,
    budget: Annotated[int, typer.Option(help="Labels at the end.")] = 500,
    test_size: Annotated[float, typer.Option(help="Share held out for the test split.")] = 0.3,
    diversity: Annotated[
        bool, typer.Option(help="Diversity-aware batches (k-means++ over features).")
    ] = False,
    out: Annotated[
        Path, typer.Option(help="Curves as JSON (a PNG plot is written beside).")
    ] = Path("curves.json"),
) -> None:
    """Replay active learning on labelled data and write the learning curves."""
    from labelkitchen.learn.simulate import curves_to_json, plot_curves
    from labelkitchen.learn.simulate import simulate as run

    rows, _ = read_rows(file, fmt=detect_format(file))
    texts, labels = [], []
    for row in rows:
        if row.data is None:
            raise InvalidInput(f"{file}, line {row.line}: {row.error}")
        texts.append(str(row.data[text_field]))
        labels.append(str(row.data[label_field]))
    with Progress(
        TextColumn("[bold]simulating {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        rounds = (max(budget - seed_size, 0) + batch - 1) // batch + 1
        task = progress.add_task(file.name, total=rounds * seeds * len(strategy))
        curves = run(
            texts,
            labels,
            strategies=strategy,
            seeds=seeds,
            seed_size=seed_size,
            batch=batch,
            budget=budget,
            test_size=test_size,
            diversity=diversity,
            on_point=lambda *_: progress.advance(task),
        )
    settings = {
        "file": str(file),
        "seeds": seeds,
        "seed_size": seed_size,
        "batch": batch,
        "budget": budget,
        "test_size": test_size,
        "diversity": diversity,
    }
    data = curves_to_json(curves, settings)
    out.write_text(json.dumps(data, indent=1), encoding="utf-8")
    plot_curves(data, out.with_suffix(".png"), title=file.name)
    table = Table("strategy", "macro F1 at the end (mean over seeds)")
    for name, by_seed in data["curves"].items():
        finals = [run_points[-1][1] for run_points in by_seed.values()]
        table.add_row(name, f"{sum(finals) / len(finals):.3f}")
    console.print(table)
    console.print(f"curves: {out}  plot: {out.with_suffix('.png')}")
