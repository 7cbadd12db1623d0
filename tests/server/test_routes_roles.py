"""Every API route against every role: who may do what (table-driven)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labelkitchen.server import create_app
from labelkitchen.settings import Settings

WHO = ("anonymous", "outsider", "viewer", "annotator", "reviewer", "owner", "admin")
ANNOTATORS = {"annotator", "reviewer", "owner"}
MEMBERS = {"viewer", *ANNOTATORS, "admin"}
MANAGERS = {"owner", "admin"}
REVIEWERS = {"reviewer", "owner", "admin"}

# (method, path, body, who may) — every route of the API appears here (checked below).
TABLE = [
    ("GET", "/api/me", None, set(WHO) - {"anonymous"}),
    ("GET", "/api/users", None, {"admin"}),
    ("POST", "/api/users", {"username": "newbie", "password": "long enough"}, {"admin"}),
    ("PATCH", "/api/users/viewer", {"display_name": "V"}, {"admin"}),
    ("GET", "/api/tokens", None, set(WHO) - {"anonymous"}),
    ("POST", "/api/tokens", {"name": "t"}, set(WHO) - {"anonymous"}),
    ("DELETE", "/api/tokens/999", None, set()),  # nobody owns token 999: 404 for all
    ("GET", "/api/projects", None, set(WHO) - {"anonymous"}),
    (
        "POST",
        "/api/projects",
        {"slug": "fresh", "task": "classify", "labels": ["x"]},
        set(WHO) - {"anonymous"},
    ),
    ("GET", "/api/projects/spam", None, MEMBERS),
    ("PATCH", "/api/projects/spam", {"name": "Renamed"}, MANAGERS),
    ("DELETE", "/api/projects/spam", None, MANAGERS),
    ("GET", "/api/projects/spam/stats", None, MEMBERS),
    ("GET", "/api/projects/spam/members", None, MEMBERS),
    ("PUT", "/api/projects/spam/members/outsider", {"role": "viewer"}, MANAGERS),
    ("DELETE", "/api/projects/spam/members/viewer", None, MANAGERS),
    ("GET", "/api/projects/spam/queue/next", None, ANNOTATORS),
    (
        "POST",
        "/api/projects/spam/records/{record}/annotations",
        {"value": {"label": "spam"}},
        ANNOTATORS,
    ),
    ("POST", "/api/projects/spam/undo", None, set()),  # nothing answered yet: 404 for all
    ("GET", "/api/projects/spam/history", None, MEMBERS),
    ("GET", "/api/projects/spam/progress", None, MEMBERS),
    ("GET", "/api/projects/spam/records", None, MEMBERS),
    ("GET", "/api/projects/spam/records/{record}", None, MEMBERS),
    ("POST", "/api/projects/spam/predict", {"texts": ["x"]}, set()),  # no model yet: 404
    ("GET", "/api/projects/spam/agreement", None, MEMBERS - {"annotator"}),
    ("GET", "/api/projects/spam/annotators", None, MEMBERS - {"annotator"}),
    ("GET", "/api/projects/spam/review/queue", None, REVIEWERS),
    ("GET", "/api/projects/spam/review/mine", None, ANNOTATORS | {"admin"}),
    ("POST", "/api/projects/spam/review/suspected-errors", {"folds": 3}, REVIEWERS),
    ("GET", "/api/projects/spam/review/suspected-errors", None, REVIEWERS),
    (
        "POST",
        "/api/projects/spam/records/{record}/gold",
        {"value": {"label": "spam"}, "note": "checked"},
        REVIEWERS,
    ),
    ("POST", "/api/projects/spam/review/consensus", {"rule": "unanimous"}, REVIEWERS),
    ("POST", "/api/projects/spam/review/spot-checks", {"share": 0.1}, REVIEWERS),
    ("GET", "/api/projects/spam/review/spot-checks", None, REVIEWERS),
    (  # no spot check 999: 404 for all
        "POST",
        "/api/projects/spam/review/spot-checks/verdicts",
        {"check_id": 999, "correct": True},
        set(),
    ),
    ("POST", "/api/auth/logout", None, set(WHO)),
]
DENIED = {401, 403, 404}


def _route_keys(tmp_path: Path) -> set[tuple[str, str]]:
    """Every documented API operation (the OpenAPI spec is the API's contract)."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", secret_key="x"))
    paths = app.openapi()["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item}


def _normalise(path: str) -> str:
    return (
        path.replace("/spam", "/{slug}")
        .replace("{record}", "{record_id}")
        .replace("/999", "/{token_id}")
        .replace("/users/viewer", "/users/{username}")
        .replace("/members/outsider", "/members/{username}")
        .replace("/members/viewer", "/members/{username}")
    )


def test_table_covers_every_api_route(tmp_path: Path) -> None:
    covered = {(m, _normalise(p)) for m, p, _, _ in TABLE} | {("POST", "/api/auth/login")}
    assert _route_keys(tmp_path) == covered


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), TABLE, ids=[f"{m} {p}" for m, p, _, _ in TABLE]
)
def test_route_authorization(
    app_client: TestClient,
    as_user: dict,
    who: str,
    method: str,
    path: str,
    body: dict | None,
    allowed: set[str],
) -> None:
    record = app_client.get("/api/projects/spam/records", headers=as_user["owner"]).json()[
        "records"
    ][0]["id"]
    headers = {} if who == "anonymous" else as_user[who]
    response = app_client.request(
        method, path.replace("{record}", str(record)), json=body, headers=headers
    )
    if who in allowed:
        assert response.status_code < 400, response.text
    else:
        assert response.status_code in DENIED, response.text
