"""Schemathesis against /api/openapi.json: generated requests never make the server fail.

Every operation of the spec gets a bounded number of generated requests, sent as the instance
admin with a Bearer token to an app on a real SQLite file with projects, records and users:
valid requests aimed at the ``spam`` project (so they reach the services), valid requests with
generated paths, and invalid ones. Each response must not be a server error, must have a status
the spec lists for the operation, the documented content type, and a body that matches the
schema documented for its status (errors included: see ``server/errors.py``).

Operations that delete run last, so the rest see the project whole. The schemathesis pytest
plugin's lazy fixture does not run on this pytest, so the test drives Hypothesis itself.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from labelkitchen.server import create_app
from labelkitchen.store import Store

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 4  # per operation and pass: 3 passes x 26 operations x 4, about 300 requests


def _operations(schema: Any) -> list[Any]:
    found = [result.ok() for result in schema.get_all_operations()]
    return sorted(found, key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))


def _fuzz(operation: Any, strategy: Any, headers: dict[str, str], failures: dict[str, str]) -> int:
    sent = 0

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        nonlocal sent
        sent += 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (Exception, FailureGroup) as exc:  # collected: one report for the whole run
            failures.setdefault(f"{operation.label}: {type(exc).__name__}", str(exc))

    # Unsatisfiable: nothing to vary (an operation without parameters has no invalid form).
    with contextlib.suppress(Unsatisfiable):
        run()
    return sent


def test_generated_requests_cause_no_server_errors(server_store: Store, as_user: dict) -> None:
    app = create_app(server_store.settings, store=server_store)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    failures: dict[str, str] = {}
    sent = 0
    for operation in _operations(schema):
        in_spam = {"slug": "spam"} if "{slug}" in operation.path else {}
        if "{record_id}" in operation.path:
            in_spam["record_id"] = 1
        strategies = [
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=in_spam or None),
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ]
        for strategy in strategies:
            sent += _fuzz(operation, strategy, as_user["admin"], failures)
    assert not failures, "\n\n".join(f"{key}\n{text}" for key, text in failures.items())
    assert sent >= 150  # the run is bounded, and not empty


def test_the_fuzzed_app_serves_the_contract(server_store: Store, as_user: dict) -> None:
    """The app the fuzzing runs on hands out and takes answers (so the run means something)."""
    client = TestClient(create_app(server_store.settings, store=server_store))
    record = client.get("/api/projects/spam/queue/next", headers=as_user["annotator"])
    assert record.status_code == 200
    answered = client.post(
        f"/api/projects/spam/records/{record.json()['id']}/annotations",
        json={"value": {"label": "spam"}, "answer": "accept"},
        headers=as_user["annotator"],
    )
    assert answered.status_code == 201


@pytest.mark.parametrize(
    ("method", "url", "name"),
    [
        ("GET", "/api/projects/spam/records?after={big}", "after"),
        ("GET", "/api/projects/spam/records/{big}", "record_id"),
        ("GET", "/api/projects/spam/history?before={big}", "before"),
        ("POST", "/api/projects/spam/records/{big}/annotations", "record_id"),
        ("DELETE", "/api/tokens/{big}", "token_id"),
    ],
)
def test_ids_past_64_bits_are_refused_not_a_crash(
    server_store: Store, as_user: dict, method: str, url: str, name: str
) -> None:
    """Found by this fuzzing: an id SQLite cannot hold used to raise OverflowError (a 500).
    Ids are bounded in the spec and checked as parameters: a 422 naming the parameter."""
    client = TestClient(
        create_app(server_store.settings, store=server_store), raise_server_exceptions=False
    )
    response = client.request(
        method,
        url.format(big=2**63),
        json={"value": {"label": "spam"}} if method == "POST" else None,
        headers=as_user["annotator"],
    )
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"][-1] == name and problem["type"] == "less_than_equal"
