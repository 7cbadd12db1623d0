"""``labelkitchen project ...``: create, list, show, update, delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from labelkitchen.cli.common import DbOption, JsonOption, console, open_store, print_json
from labelkitchen.cli.common import reports_errors as handled
from labelkitchen.errors import InvalidInput
from labelkitchen.schema import Project, ProjectSettings, TaskType
from labelkitchen.services import accounts
from labelkitchen.services import projects as service

app = typer.Typer(help="Create and manage projects.", no_args_is_help=True)


def _goal_changes(
    goal: str | None, metric: str | None, goal_label: str | None, target: float | None
) -> dict[str, Any]:
    changes = {"text": goal, "metric": metric, "label": goal_label, "target": target}
    return {k: v for k, v in changes.items() if v is not None}


def _project_dict(project: Project) -> dict[str, Any]:
    data = project.spec.model_dump(mode="json")
    data["id"] = project.id
    data["created_at"] = str(project.created_at)
    data["updated_at"] = str(project.updated_at)
    return data


def _show(project: Project) -> None:
    spec = project.spec
    console.print(f"{spec.slug}  {spec.name}  ({spec.task.value})")
    if spec.description:
        console.print(spec.description)
    table = Table("label", "hotkey", "colour", "description")
    for label in spec.labels:
        colour = label.color or ""
        swatch = Text.assemble(("■", colour), f" {colour}")
        table.add_row(label.name, label.hotkey or "", swatch, label.description)
    console.print(table)
    goal = spec.goal
    target = f"{goal.target:g}" if goal.target is not None else "not set"
    metric = goal.metric.value + (f"[{goal.label}]" if goal.label else "")
    console.print(f"goal: {goal.text or '(not stated)'}\nmetric: {metric}  target: {target}")
    settings = spec.settings
    console.print(
        f"overlap: {settings.overlap}  queue: {settings.queue_strategy}  "
        f"overlapping spans: {'allowed' if settings.allow_overlapping_spans else 'forbidden'}"
    )


@app.command("create")
@handled
def create(
    slug: Annotated[str, typer.Argument(help="Short name: lowercase letters, digits, - and _.")],
    task: Annotated[TaskType | None, typer.Option(help="classify, multilabel or spans.")] = None,
    labels: Annotated[
        str | None, typer.Option(help="Comma-separated label names, e.g. spam,ham.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    description: Annotated[str | None, typer.Option(help="What the project is about.")] = None,
    goal: Annotated[str | None, typer.Option(help="The business goal, in words.")] = None,
    metric: Annotated[
        str | None,
        typer.Option(help="Goal metric: accuracy, macro_f1, micro_f1, precision, recall, f1."),
    ] = None,
    goal_label: Annotated[
        str | None, typer.Option(help="The label a per-label metric is about.")
    ] = None,
    target: Annotated[float | None, typer.Option(help="Target value of the metric (0-1).")] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="A TOML or YAML project file.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Create a project from options or from a project file (options override the file)."""
    data: dict[str, Any] = service.read_project_file(from_file) if from_file else {}
    data["slug"] = slug
    for key, value in (
        ("task", task),
        ("labels", labels),
        ("name", name),
        ("description", description),
    ):
        if value is not None:
            data[key] = value.value if isinstance(value, TaskType) else value
    goal_data = _goal_changes(goal, metric, goal_label, target)
    if goal_data:
        data["goal"] = {**data.get("goal", {}), **goal_data}
    if "task" not in data or "labels" not in data:
        raise InvalidInput("a project needs --task and --labels (or a --from-file that sets them)")
    with open_store(db) as store:
        project = service.create_project(store, spec=data)
    console.print(
        f"created project {project.slug} ({project.task.value}, "
        f"labels: {', '.join(project.label_names)})"
    )


@app.command("list")
@handled
def list_(json_: JsonOption = False, db: DbOption = None) -> None:
    """List projects."""
    with open_store(db) as store:
        projects = service.list_projects(store)
    if json_:
        print_json([_project_dict(p) for p in projects])
        return
    if not projects:
        console.print("no projects yet: labelkitchen project create SLUG --task ... --labels ...")
        return
    table = Table("slug", "name", "task", "labels")
    for project in projects:
        table.add_row(
            project.slug, project.spec.name, project.task.value, ", ".join(project.label_names)
        )
    console.print(table)


@app.command("show")
@handled
def show(slug: str, json_: JsonOption = False, db: DbOption = None) -> None:
    """Show a project's labels, goal and settings."""
    with open_store(db) as store:
        project = service.get_project(store, slug=slug)
    if json_:
        print_json(_project_dict(project))
    else:
        _show(project)


@app.command("update")
@handled
def update(
    slug: str,
    name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    add_label: Annotated[
        list[str] | None, typer.Option("--add-label", help="Add a label (repeatable).")
    ] = None,
    goal: Annotated[str | None, typer.Option(help="The business goal, in words.")] = None,
    metric: Annotated[str | None, typer.Option(help="Goal metric.")] = None,
    goal_label: Annotated[str | None, typer.Option(help="Label of a per-label metric.")] = None,
    target: Annotated[float | None, typer.Option(help="Target value of the metric.")] = None,
    overlap: Annotated[int | None, typer.Option(help="Annotations wanted per record.")] = None,
    allow_overlapping_spans: Annotated[
        bool | None,
        typer.Option(
            "--allow-overlapping-spans/--forbid-overlapping-spans",
            help="Whether spans may overlap.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Change a project setting: NAME=VALUE, e.g. queue_strategy=margin or "
            "consensus_threshold=0.75 (repeatable; docs/concepts.md lists the settings).",
        ),
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="Apply a TOML or YAML project file.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Change a project's name, description, goal, settings, or add labels."""
    changes: dict[str, Any] = service.read_project_file(from_file) if from_file else {}
    if name is not None:
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    goal_data = _goal_changes(goal, metric, goal_label, target)
    if goal_data:
        changes["goal"] = goal_data
    settings: dict[str, Any] = {}
    if overlap is not None:
        settings["overlap"] = overlap
    if allow_overlapping_spans is not None:
        settings["allow_overlapping_spans"] = allow_overlapping_spans
    settings.update(_settings_changes(set_ or []))
    if settings:
        changes["settings"] = settings
    with open_store(db) as store:
        if add_label:
            current = service.get_project(store, slug=slug)
            existing = [lb.model_dump() for lb in current.spec.labels]
            existing += [{"name": n.strip()} for n in add_label]
            changes["labels"] = existing
        if not changes:
            raise InvalidInput("nothing to change: pass at least one option")
        project = service.update_project(store, slug=slug, changes=changes)
    console.print(f"updated project {project.slug}")


def _settings_changes(pairs: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as settings; values are read as JSON (numbers, true/false) or text.
    The project schema validates them when the change is applied."""
    known = sorted(ProjectSettings.model_fields)
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidInput(f"--set takes NAME=VALUE; got {pair!r}")
        if name not in known:
            raise InvalidInput(f"--set {name!r}: no such project setting; settings: {known}")
        try:
            changes[name] = json.loads(raw)
        except ValueError:
            changes[name] = raw.strip()
    return changes


@app.command("add-member")
@handled
def add_member(
    slug: str,
    username: Annotated[str, typer.Argument(help="The user to add.")],
    role: Annotated[str, typer.Option(help="owner, reviewer, annotator or viewer.")] = "annotator",
    db: DbOption = None,
) -> None:
    """Add a user to a project with a role (or change their role)."""
    with open_store(db) as store:
        accounts.set_member(store, project=slug, username=username, role=role)
    console.print(f"{username} is now {role} of {slug}")


@app.command("remove-member")
@handled
def remove_member(slug: str, username: str, db: DbOption = None) -> None:
    """Remove a user from a project."""
    with open_store(db) as store:
        accounts.remove_member(store, project=slug, username=username)
    console.print(f"{username} removed from {slug}")


@app.command("members")
@handled
def members(slug: str, json_: JsonOption = False, db: DbOption = None) -> None:
    """List a project's members and their roles."""
    with open_store(db) as store:
        rows = accounts.list_members(store, project=slug)
    if json_:
        print_json(rows)
        return
    table = Table("user", "role")
    for row in rows:
        table.add_row(row["username"], row["role"])
    console.print(table)


@app.command("delete")
@handled
def delete(
    slug: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
) -> None:
    """Delete a project and everything in it (asks first unless --yes)."""
    with open_store(db) as store:
        project = service.get_project(store, slug=slug)
        if not yes:
            typer.confirm(
                f"Delete project {project.slug!r} with all its records and annotations?",
                abort=True,
            )
        service.delete_project(store, slug=slug)
    console.print(f"deleted project {slug}")
