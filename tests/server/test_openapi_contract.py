"""The OpenAPI spec describes what the API really answers, errors included.

Every operation is called by callers who may not use it (nobody, someone outside the project, a
viewer, an annotator) and by the admin with an empty body: each answer's status must be one the
spec lists for the operation, and its body must match the schema documented for that status.
Then one real example of each error status, from the requests that cause it, is checked the same
way, and the integer ids in the spec are bounded to what the database holds.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from tests.server.conftest import PASSWORD

from labelkitchen.server import create_app
from labelkitchen.server.deps import MAX_ID
from labelkitchen.store import Store

CALLERS = ("anonymous", "outsider", "viewer", "annotator", "admin")


@pytest.fixture
def client(server_store: Store) -> TestClient:
    return TestClient(create_app(server_store.settings, store=server_store))


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    spec: dict[str, Any] = client.get("/api/openapi.json").json()
    return spec


def problems(spec: dict[str, Any], method: str, path: str, response: Any) -> list[str]:
    """Why ``response`` (to ``method path``, a path of the spec) breaks the spec; [] if it does
    not."""
    where = f"{method.upper()} {path} -> {response.status_code}"
    documented = spec["paths"][path][method.lower()]["responses"]
    if str(response.status_code) not in documented:
        return [f"{where}: status not documented (documented: {sorted(documented)})"]
    content = documented[str(response.status_code)].get("content", {})
    if "application/json" not in content:
        return []
    schema = {**content["application/json"]["schema"], "components": spec["components"]}
    body = response.json()
    if not jsonschema_rs.validator_for(schema).is_valid(body):
        return [f"{where}: body {body!r} does not match {content['application/json']['schema']}"]
    return []


def _url(path: str, record_id: int) -> str:
    return (
        path.replace("{slug}", "spam")
        .replace("{record_id}", str(record_id))
        .replace("{username}", "viewer")
        .replace("{token_id}", "999")
    )


@pytest.mark.parametrize("caller", CALLERS)
def test_every_operation_answers_only_what_it_documents(
    client: TestClient, spec: dict[str, Any], as_user: dict, caller: str
) -> None:
    record_id = client.get("/api/projects/spam/records", headers=as_user["owner"]).json()[
        "records"
    ][0]["id"]
    headers = {} if caller == "anonymous" else as_user[caller]
    found: list[str] = []
    statuses: set[int] = set()
    operations = [
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if not (caller == "admin" and method == "delete")  # keep the project for the rest
    ]
    for method, path in operations:
        body = {} if "requestBody" in spec["paths"][path][method] else None
        response = client.request(method, _url(path, record_id), json=body, headers=headers)
        statuses.add(response.status_code)
        found += problems(spec, method, path, response)
    assert not found, "\n".join(found)
    expected = {"anonymous": 401, "outsider": 404, "viewer": 403, "annotator": 403, "admin": 422}
    assert expected[caller] in statuses  # the run met the errors it is about


def test_a_domain_422_is_one_documented_message(
    client: TestClient, spec: dict[str, Any], as_user: dict
) -> None:
    record = client.get("/api/projects/spam/queue/next", headers=as_user["annotator"]).json()
    response = client.post(
        f"/api/projects/spam/records/{record['id']}/annotations",
        json={"value": {"label": "eggs"}},
        headers=as_user["annotator"],
    )
    assert response.status_code == 422 and "unknown label 'eggs'" in response.json()["detail"]
    assert (
        problems(spec, "post", "/api/projects/{slug}/records/{record_id}/annotations", response)
        == []
    )


def test_a_malformed_answer_is_fastapis_validation_error(
    client: TestClient, spec: dict[str, Any], as_user: dict
) -> None:
    """The answer route reads its own body: its 422 keeps FastAPI's shape."""
    record = client.get("/api/projects/spam/queue/next", headers=as_user["annotator"]).json()
    response = client.post(
        f"/api/projects/spam/records/{record['id']}/annotations",
        json={"value": {"label": "spam"}, "answer": "maybe", "extra": 1},
        headers=as_user["annotator"],
    )
    assert response.status_code == 422
    assert {(tuple(p["loc"]), p["type"]) for p in response.json()["detail"]} == {
        (("body", "answer"), "literal_error"),
        (("body", "extra"), "extra_forbidden"),
    }
    assert (
        problems(spec, "post", "/api/projects/{slug}/records/{record_id}/annotations", response)
        == []
    )


def test_a_full_record_is_a_documented_409(
    client: TestClient, spec: dict[str, Any], as_user: dict
) -> None:
    record = client.get("/api/projects/spam/queue/next", headers=as_user["annotator"]).json()
    url = f"/api/projects/spam/records/{record['id']}/annotations"
    assert (
        client.post(
            url, json={"value": {"label": "spam"}}, headers=as_user["annotator"]
        ).status_code
        == 201
    )
    response = client.post(url, json={"value": {"label": "ham"}}, headers=as_user["owner"])
    assert response.status_code == 409  # overlap 1: the record has its answer
    assert (
        problems(spec, "post", "/api/projects/{slug}/records/{record_id}/annotations", response)
        == []
    )


def test_a_browser_write_without_its_csrf_token_is_a_documented_403(
    client: TestClient, spec: dict[str, Any]
) -> None:
    assert (
        client.post("/api/auth/login", json={"username": "owner", "password": PASSWORD}).status_code
        == 200
    )
    response = client.patch("/api/projects/spam", json={"name": "Renamed"})
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert problems(spec, "patch", "/api/projects/{slug}", response) == []


def test_an_unreadable_body_is_a_documented_400(
    client: TestClient, spec: dict[str, Any], as_user: dict
) -> None:
    response = client.post(
        "/api/projects",
        content=b'{"slug": "\xff"}',
        headers={**as_user["admin"], "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert problems(spec, "post", "/api/projects", response) == []


def test_a_throttled_login_is_a_documented_429(client: TestClient, spec: dict[str, Any]) -> None:
    for _ in range(20):
        response = client.post("/api/auth/login", json={"username": "owner", "password": "wrong"})
        if response.status_code == 429:
            break
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert problems(spec, "post", "/api/auth/login", response) == []


def test_integer_ids_in_the_spec_fit_the_database(spec: dict[str, Any]) -> None:
    ids = [
        (path, parameter["name"], parameter["schema"])
        for path, item in spec["paths"].items()
        for operation in item.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"].endswith("_id") or parameter["name"] in ("after", "before")
    ]
    assert {name for _, name, _ in ids} >= {"record_id", "token_id", "after", "before"}
    for path, name, schema in ids:
        bounds = (
            schema
            if "maximum" in schema
            else next(s for s in schema.get("anyOf", []) if s.get("type") == "integer")
        )
        assert bounds["minimum"] >= 0 and bounds["maximum"] == MAX_ID == 2**63 - 1, (path, name)


def test_every_error_status_shares_one_body_schema(spec: dict[str, Any]) -> None:
    """401, 403, 404 and 409 are ``{"detail": message}``; 422 is that or FastAPI's list."""
    error = {"$ref": "#/components/schemas/Error"}
    for item in spec["paths"].values():
        for operation in item.values():
            for status in ("401", "403", "404", "409"):
                if status in operation["responses"]:
                    body = operation["responses"][status]["content"]["application/json"]
                    assert body["schema"] == error
            if "422" in operation["responses"]:
                body = operation["responses"]["422"]["content"]["application/json"]
                assert body["schema"]["anyOf"] == [
                    {"$ref": "#/components/schemas/HTTPValidationError"},
                    error,
                ]
