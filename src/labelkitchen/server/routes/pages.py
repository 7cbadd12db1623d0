"""HTML pages: Jinja templates that load plain JavaScript modules which call the JSON API.

Pages carry no data of their own beyond what the template needs to boot (the project slug, the
CSRF token); record text only ever reaches the page through the API and ``textContent``.
Jinja autoescapes everything the templates do print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from labelkitchen.errors import NotFound
from labelkitchen.schema import ProjectSettings
from labelkitchen.server.auth import csrf_token
from labelkitchen.server.deps import MaybeUserDep, Slug, StoreDep
from labelkitchen.services import accounts
from labelkitchen.services.accounts import Access, User
from labelkitchen.store import Store

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


def _error(request: Request, user: User, *, status_code: int, title: str, message: str) -> Response:
    """An HTML error page (the API answers JSON; people opening a page get a page)."""
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "user": user.public(),
            "csrf_token": csrf_token(request) or "",
            "status_code": status_code,
            "title": title,
            "message": message,
        },
        status_code=status_code,
    )


def _access(store: Store, user: User, slug: str) -> Access | None:
    """The user's access to the project, or ``None`` when it is missing or not theirs."""
    try:
        return accounts.access(store, user=user, project=slug)
    except NotFound:
        return None


def _project_page(
    request: Request,
    user: User | None,
    store: Store,
    slug: str,
    template: str,
    *,
    manage: bool = False,
    review: bool = False,
    answers: bool = False,
    **context: Any,
) -> Response:
    if user is None:
        return _page(request, template, None)
    access = _access(store, user, slug)
    if access is None:  # missing and not-a-member look the same: never reveal other projects
        return _error(
            request,
            user,
            status_code=404,
            title="Project not found",
            message=f"There is no project {slug!r}, or you are not a member of it.",
        )
    if manage and not access.can_manage:
        return _error(
            request,
            user,
            status_code=403,
            title="Only owners can change settings",
            message="Ask an owner of this project or an instance admin to change its settings.",
        )
    if review and not access.can_review:
        return _error(
            request,
            user,
            status_code=403,
            title="Only reviewers can review",
            message="Reviewing needs the reviewer or owner role in this project: ask an owner.",
        )
    if answers and not (access.can_annotate or access.can_review):
        return _error(
            request,
            user,
            status_code=403,
            title="Only annotators have decisions to see",
            message="This page shows how disagreements on your own answers were resolved; "
            "your role here does not answer records.",
        )
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


def _choices(name: str) -> list[str]:
    """The values a ``Literal`` setting of :class:`ProjectSettings` allows, in schema order."""
    return [str(value) for value in get_args(ProjectSettings.model_fields[name].annotation)]


@router.get("/projects/{slug}/settings", response_class=HTMLResponse)
def settings_page(slug: Slug, request: Request, user: MaybeUserDep, store: StoreDep) -> Response:
    return _project_page(
        request,
        user,
        store,
        slug,
        "settings.html",
        manage=True,
        queue_strategies=_choices("queue_strategy"),
        consensus_rules=_choices("consensus_rule"),
    )


SUSPECTED_ERRORS = "/api/projects/{slug}/review/suspected-errors"


@router.get("/projects/{slug}/review", response_class=HTMLResponse)
def review_page(slug: Slug, request: Request, user: MaybeUserDep, store: StoreDep) -> Response:
    served = request.app.openapi().get("paths", {})  # built once, then cached by FastAPI
    return _project_page(
        request,
        user,
        store,
        slug,
        "review.html",
        review=True,
        suspected_errors=SUSPECTED_ERRORS in served,
    )


@router.get("/projects/{slug}/decisions", response_class=HTMLResponse)
def decisions_page(slug: Slug, request: Request, user: MaybeUserDep, store: StoreDep) -> Response:
    """How the disagreements on the user's own answers were resolved (``GET review/mine``)."""
    return _project_page(request, user, store, slug, "decisions.html", answers=True)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, user: MaybeUserDep) -> Response:
    if user is not None and not user.is_admin:
        return _error(
            request,
            user,
            status_code=403,
            title="Admins only",
            message="Only instance admins can manage users.",
        )
    return _page(request, "users.html", user)
