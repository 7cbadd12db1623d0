"""Projects, their members and statistics."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Response

from labelkitchen.schema import Project, Role
from labelkitchen.server.deps import AccessDep, StoreDep, UserDep
from labelkitchen.server.schemas import MemberIn, ProjectIn, ProjectPatch
from labelkitchen.services import accounts, stats
from labelkitchen.services import projects as service
from labelkitchen.services.accounts import require

router = APIRouter(prefix="/api/projects", tags=["projects"])


def _public(project: Project, role: str | None = None) -> dict[str, Any]:
    data = project.spec.model_dump(mode="json")
    data.update(id=project.id, role=role, created_at=str(project.created_at))
    return data


@router.get("")
def list_projects(user: UserDep, store: StoreDep) -> list[dict[str, Any]]:
    return [_public(p, role) for p, role in accounts.visible_projects(store, user=user)]


@router.post("", status_code=201)
def create_project(body: ProjectIn, user: UserDep, store: StoreDep) -> dict[str, Any]:
    """Create a project; the caller becomes its owner."""
    project = service.create_project(store, spec=body.model_dump(exclude_none=True))
    accounts.set_member(store, project=project.slug, username=user.username, role=Role.OWNER.value)
    return _public(project, Role.OWNER.value)


@router.get("/{slug}")
def get_project(access: AccessDep) -> dict[str, Any]:
    return _public(access.project, access.role.value if access.role else None)


@router.patch("/{slug}")
def update_project(body: ProjectPatch, access: AccessDep, store: StoreDep) -> dict[str, Any]:
    require(access.can_manage, "change the project")
    project = service.update_project(
        store, slug=access.project.slug, changes=body.model_dump(exclude_none=True)
    )
    return _public(project, access.role.value if access.role else None)


@router.delete("/{slug}", status_code=204)
def delete_project(access: AccessDep, store: StoreDep) -> Response:
    require(access.can_manage, "delete the project")
    service.delete_project(store, slug=access.project.slug)
    return Response(status_code=204)


@router.get("/{slug}/stats")
def project_stats(access: AccessDep, store: StoreDep) -> dict[str, Any]:
    return asdict(stats.project_stats(store, project=access.project.slug))


@router.get("/{slug}/members")
def list_members(access: AccessDep, store: StoreDep) -> list[dict[str, Any]]:
    return accounts.list_members(store, project=access.project.slug)


@router.put("/{slug}/members/{username}", status_code=204)
def set_member(username: str, body: MemberIn, access: AccessDep, store: StoreDep) -> Response:
    require(access.can_manage, "manage members")
    accounts.set_member(store, project=access.project.slug, username=username, role=body.role)
    return Response(status_code=204)


@router.delete("/{slug}/members/{username}", status_code=204)
def remove_member(username: str, access: AccessDep, store: StoreDep) -> Response:
    require(access.can_manage, "manage members")
    accounts.remove_member(store, project=access.project.slug, username=username)
    return Response(status_code=204)
