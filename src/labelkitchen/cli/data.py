"""``labelkitchen import``, ``export`` and ``stats``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from labelkitchen.cli.common import DbOption, JsonOption, console, open_store, print_json
from labelkitchen.errors import InvalidInput
from labelkitchen.io.readers import FORMATS
from labelkitchen.services.exporting import EXPORT_FORMATS, export_project
from labelkitchen.services.importing import (
    ImportOptions,
    ImportProgress,
    ImportReport,
    import_files,
)
from labelkitchen.services.stats import project_stats


def _label_map(raw: str | None) -> dict[str, str] | None:
    if raw is None:
        return None
    mapping = {}
    for part in raw.split(","):
        if "=" not in part:
            raise InvalidInput(f"--label-map: expected VALUE=LABEL pairs, got {part!r}")
        key, _, value = part.partition("=")
        mapping[key.strip()] = value.strip()
    return mapping


def print_import_report(report: ImportReport) -> None:
    console.print(
        f"{report.project}: read {report.read:,} records, imported "
        f"{report.imported:,}, skipped {report.duplicates:,} duplicates"
        + (f", rejected {report.rejected:,}" if report.rejected else "")
        + f" in {report.seconds:.1f} s ({report.records_per_second:,.0f} records/s)"
    )
    if report.annotations or report.gold:
        console.print(f"  {report.annotations:,} annotations, {report.gold:,} gold labels")
    if report.rejects_path is not None:
        console.print(f"  rejected records and reasons: {report.rejects_path}")


def import_command(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    files: Annotated[list[Path], typer.Argument(help="Files to import, as one import.")],
    text_field: Annotated[str, typer.Option(help="Field holding the text.")] = "text",
    id_field: Annotated[str, typer.Option(help="Field holding your record id.")] = "id",
    split: Annotated[
        str | None, typer.Option(help="Put every record in this split (train, dev, test, ...).")
    ] = None,
    split_field: Annotated[str, typer.Option(help="Field naming a record's split.")] = "split",
    label_field: Annotated[str, typer.Option(help="Field with a pre-label (classify).")] = "label",
    labels_field: Annotated[
        str, typer.Option(help="Field with pre-labels (multilabel).")
    ] = "labels",
    spans_field: Annotated[str, typer.Option(help="Field with pre-labelled spans.")] = "spans",
    label_map: Annotated[
        str | None, typer.Option(help="Rename label values, e.g. 0=ham,1=spam.")
    ] = None,
    as_gold: Annotated[
        bool, typer.Option("--gold", help="Store pre-labels as gold, not as import annotations.")
    ] = False,
    source: Annotated[
        str, typer.Option(help="Source name of the pre-label annotations.")
    ] = "import",
    encoding: Annotated[
        str, typer.Option(help="Text encoding (UTF-8 with or without BOM by default).")
    ] = "utf-8",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help=f"File format if not from the extension: {', '.join(FORMATS)}."
        ),
    ] = None,
    on_error: Annotated[
        str, typer.Option(help="abort: stop and store nothing; skip: store the good records.")
    ] = "abort",
    rejects: Annotated[
        Path | None, typer.Option(help="Where --on-error skip writes rejected records.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Import records from JSONL, JSON, CSV, TSV, Parquet or text files (one atomic import)."""
    if on_error not in ("abort", "skip"):
        raise InvalidInput(f"--on-error must be abort or skip, got {on_error!r}")
    options = ImportOptions(
        text_field=text_field,
        id_field=id_field,
        split=split,
        split_field=split_field,
        label_field=label_field,
        labels_field=labels_field,
        spans_field=spans_field,
        label_map=_label_map(label_map),
        labels_as="gold" if as_gold else "annotation",
        source_name=source,
        encoding=encoding,
        format=fmt,
        on_error="skip" if on_error == "skip" else "abort",
        rejects_path=rejects,
    )
    with (
        open_store(db) as store,
        Progress(
            TextColumn("importing"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[records]:>12,} records  {task.fields[rate]:>8,.0f}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("import", total=None, records=0, rate=0.0)

        def update(p: ImportProgress) -> None:
            elapsed = progress.tasks[0].elapsed or 1e-9
            progress.update(
                task,
                completed=p.bytes_done,
                total=p.bytes_total or None,
                records=p.read,
                rate=p.read / elapsed,
            )

        report = import_files(
            store, project=project, paths=files, options=options, on_progress=update
        )
    print_import_report(report)


def export_command(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    fmt: Annotated[
        str, typer.Option("--format", help=f"One of {', '.join(EXPORT_FORMATS)}.")
    ] = "jsonl",
    out: Annotated[
        Path | None, typer.Option(help="Output file (default: standard output).")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Only records of this split.")] = None,
    db: DbOption = None,
) -> None:
    """Export records with meta, each source's current annotations, and gold."""
    with open_store(db) as store:
        report = export_project(store, project=project, format=fmt, out=out, split=split)
    if out is not None:
        console.print(f"exported {report.records:,} records to {out} in {report.seconds:.1f} s")
    if report.summary_path is not None:
        console.print(f"per-annotator agreement with the final labels: {report.summary_path}")


def stats_command(
    project: Annotated[str, typer.Argument(help="Project slug.")],
    json_: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Records by split, annotations by source and answer, and the label distribution."""
    with open_store(db) as store:
        stats = project_stats(store, project=project)
    if json_:
        print_json(stats.to_dict())
        return
    console.print(f"{stats.project} ({stats.task}): {stats.records:,} records")
    splits = Table("split", "records", title="records by split", title_justify="left")
    for name, count in sorted(stats.records_by_split.items()):
        splits.add_row(name, f"{count:,}")
    console.print(splits)
    sources = Table(
        "source",
        "kind",
        "answer",
        "annotations",
        title="annotations by source",
        title_justify="left",
    )
    for row in stats.annotations:
        name = row.name + (f"@{row.version}" if row.version else "")
        sources.add_row(name, row.kind, row.answer, f"{row.count:,}")
    if not stats.annotations:
        sources.add_row("(none yet)", "", "", "0")
    console.print(sources)
    kinds = sorted({kind for counts in stats.labels.values() for kind in counts})
    labels = Table("label", *kinds, title="label distribution", title_justify="left")
    for label, counts in stats.labels.items():
        labels.add_row(label, *(f"{counts.get(kind, 0):,}" for kind in kinds))
    console.print(labels)
