"""HTML pages: Jinja templates that load plain JavaScript modules which call the JSON API.

Pages carry no data of their own beyond what the template needs to boot (the project slug, the
CSRF token); record text only ever reaches the page through the API and ``textContent``.
Jinja autoescapes everything the templates do print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from labelkitchen.server.auth import csrf_token
from labelkitchen.server.deps import MaybeUserDep, Slug, StoreDep
from labelkitchen.services import accounts
from labelkitchen.services.accounts import User

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")


def _page(request: Request, name: str, user: User | None, **context: Any) -> Response:
    if user is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return templates.TemplateResponse(
        request,
        name,
        {"user": user.public(), "csrf_token": csrf_token(request) or "", **context},
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html", {"user": None, "csrf_token": ""})


@router.get("/", response_class=HTMLResponse)
def projects_page(request: Request, user: MaybeUserDep) -> Response:
    return _page(request, "projects.html", user)


def _project_page(
    request: Request, user: User | None, store: Any, slug: str, template: str, **context: Any
) -> Response:
    if user is None:
        return _page(request, template, None)
    access = accounts.access(store, user=user, project=slug)  # 404 when not a member
    return _page(
        request,
        template,
        user,
        project=access.project.spec.model_dump(mode="json"),
        role=access.role.value if access.role else None,
        can_annotate=access.can_annotate,
        can_review=access.can_review,
        can_manage=access.can_manage,
        **context,
    )


@router.get("/projects/{slug}", response_class=HTMLResponse)
def project_home(slug: Slug, request: Request, user: MaybeUserDep, store: StoreDep) -> Response:
    return _project_page(request, user, store, slug, "project.html")


@router.get("/projects/{slug}/annotate", response_class=HTMLResponse)
def annotate_page(slug: Slug, request: Request, user: MaybeUserDep, store: StoreDep) -> Response:
    return _project_page(request, user, store, slug, "annotate.html")


@router.get("/projects/{slug}/data", response_class=HTMLResponse)
def data_page(slug: Slug, request: Request, user: MaybeUserDep, store: StoreDep) -> Response:
    return _project_page(request, user, store, slug, "data.html")


@router.get("/projects/{slug}/records/{record_id}", response_class=HTMLResponse)
def record_page(
    slug: Slug, record_id: int, request: Request, user: MaybeUserDep, store: StoreDep
) -> Response:
    return _project_page(request, user, store, slug, "record.html", record_id=record_id)


@router.get("/projects/{slug}/settings", response_class=HTMLResponse)
def settings_page(slug: Slug, request: Request, user: MaybeUserDep, store: StoreDep) -> Response:
    return _project_page(request, user, store, slug, "settings.html")


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, user: MaybeUserDep) -> Response:
    if user is not None and not user.is_admin:
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "user": user.public(),
                "csrf_token": csrf_token(request) or "",
                "message": "Only instance admins can manage users.",
            },
            status_code=403,
        )
    return _page(request, "users.html", user)
