"""Query functions for projects and memberships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from labelkitchen.errors import Conflict, NotFound
from labelkitchen.schema import Project, ProjectSpec
from labelkitchen.store.tables import projects


def _to_project(row: Row[Any]) -> Project:
    spec = ProjectSpec.model_validate(
        {
            "slug": row.slug,
            "name": row.name,
            "description": row.description,
            "task": row.task,
            "labels": row.labels,
            "goal": row.goal,
            "settings": row.settings,
        }
    )
    return Project(id=row.id, spec=spec, created_at=row.created_at, updated_at=row.updated_at)


def _columns(spec: ProjectSpec) -> dict[str, Any]:
    data = spec.model_dump(mode="json")
    return {
        "slug": spec.slug,
        "name": spec.name or spec.slug,
        "description": spec.description,
        "task": spec.task.value,
        "labels": data["labels"],
        "goal": data["goal"],
        "settings": data["settings"],
    }


def insert_project(conn: Connection, *, spec: ProjectSpec) -> Project:
    if conn.execute(select(projects.c.id).where(projects.c.slug == spec.slug)).first():
        raise Conflict(f"a project with slug {spec.slug!r} already exists")
    project_id = conn.execute(insert(projects).values(**_columns(spec))).inserted_primary_key
    return get_project(conn, project_id=int(project_id[0]))  # type: ignore[index]


def get_project(
    conn: Connection, *, slug: str | None = None, project_id: int | None = None
) -> Project:
    query = select(projects)
    query = (
        query.where(projects.c.slug == slug)
        if slug is not None
        else query.where(projects.c.id == project_id)
    )
    row = conn.execute(query).first()
    if row is None:
        available = conn.execute(select(projects.c.slug).order_by(projects.c.slug)).scalars()
        names = ", ".join(available) or "none yet"
        raise NotFound(f"no project {slug or project_id!r}; projects: {names}")
    return _to_project(row)


def list_projects(conn: Connection) -> list[Project]:
    return [_to_project(row) for row in conn.execute(select(projects).order_by(projects.c.slug))]


def update_project(conn: Connection, *, project_id: int, spec: ProjectSpec) -> Project:
    values = _columns(spec)
    values["updated_at"] = func.current_timestamp()
    conn.execute(update(projects).where(projects.c.id == project_id).values(**values))
    return get_project(conn, project_id=project_id)


def delete_project(conn: Connection, *, project_id: int) -> None:
    conn.execute(delete(projects).where(projects.c.id == project_id))
