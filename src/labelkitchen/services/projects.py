"""Project workflows: create (from flags or a TOML/YAML file), list, show, update, delete."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from labelkitchen.errors import InvalidInput, NotFound
from labelkitchen.schema import Project, ProjectSpec, make_spec
from labelkitchen.services.priorities import refresh_priorities
from labelkitchen.store import Store
from labelkitchen.store.queries import projects as queries
from labelkitchen.store.queries import queue as queue_queries


def read_project_file(path: Path) -> dict[str, Any]:
    """Read a project definition from a ``.toml``, ``.yaml`` or ``.yml`` file."""
    if not path.is_file():
        raise NotFound(f"{path}: no such project file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        else:
            raise InvalidInput(f"{path}: project files are .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path}: not valid {suffix[1:].upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a table of project settings at the top level")
    return data


def create_project(store: Store, *, spec: ProjectSpec | Mapping[str, Any]) -> Project:
    """Create a project. ``spec`` may be a :class:`ProjectSpec` or a plain mapping."""
    if not isinstance(spec, ProjectSpec):
        spec = make_spec(spec)
    with store.write() as conn:
        return queries.insert_project(conn, spec=spec)


def get_project(store: Store, *, slug: str) -> Project:
    with store.read() as conn:
        return queries.get_project(conn, slug=slug)


def list_projects(store: Store) -> list[Project]:
    with store.read() as conn:
        return queries.list_projects(conn)


def update_project(store: Store, *, slug: str, changes: Mapping[str, Any]) -> Project:
    """Change a project's name, description, goal, settings or labels.

    Labels can be added, described, recoloured or given new hotkeys; removing or renaming a
    label that stored annotations use is refused (it would orphan them). The task type and slug
    are fixed once a project exists.
    """
    with store.write() as conn:
        current = queries.get_project(conn, slug=slug)
        data = current.spec.model_dump(mode="json")
        for key in ("slug", "task"):
            if key in changes and changes[key] != data[key]:
                raise InvalidInput(f"the {key} of a project cannot change (is {data[key]!r})")
        for key, value in changes.items():
            if isinstance(value, Mapping) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        spec = make_spec(data)
        removed = set(current.label_names) - set(spec.label_names)
        if removed:
            raise InvalidInput(
                f"labels {sorted(removed)} cannot be removed: a project's labels can be added "
                "to and described, not taken away"
            )
        old, new = current.spec.settings, spec.settings
        if new.overlap != old.overlap:
            queue_queries.shift_slots(conn, project_id=current.id, delta=new.overlap - old.overlap)
        updated = queries.update_project(conn, project_id=current.id, spec=spec)
    if new.queue_strategy != old.queue_strategy:
        refresh_priorities(store, project=updated)
    return updated


def delete_project(store: Store, *, slug: str) -> None:
    """Delete a project with all its records, annotations and everything else it owns."""
    with store.write() as conn:
        project = queries.get_project(conn, slug=slug)
        queries.delete_project(conn, project_id=project.id)


__all__ = [
    "create_project",
    "delete_project",
    "get_project",
    "list_projects",
    "read_project_file",
    "update_project",
]
