"""The suspected-errors queue: service, CLI and HTTP routes on a real SQLite store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import shared_data
from typer.testing import CliRunner

from labelkitchen.cli.app import app
from labelkitchen.errors import InvalidInput, PermissionDenied
from labelkitchen.schema import Role
from labelkitchen.server import create_app
from labelkitchen.services import accounts, jobs, review
from labelkitchen.services.accounts import Access
from labelkitchen.services.importing import import_rows
from labelkitchen.services.label_errors import (
    LABEL_ERRORS_JOB,
    collect_labels,
    compute_suspected_errors,
    start_suspected_errors,
    suspected_errors,
)
from labelkitchen.services.projects import create_project
from labelkitchen.settings import Settings
from labelkitchen.store import Store
from labelkitchen.store.queries import projects as project_queries

N_GOLD, N_VOTED = 560, 40
FLIPPED_GOLD = set(range(5, N_GOLD, 20))  # 28 imported gold labels flipped
FLIPPED_VOTES = {N_GOLD + 3, N_GOLD + 13, N_GOLD + 23}  # two of three annotators wrong


def _other(label: str) -> str:
    return "ham" if label == "spam" else "spam"


def _sms_rows() -> list[dict[str, Any]]:
    """600 messages of the SMS Spam Collection (deduplicated): 560 with imported gold, 40 with
    three annotators' answers; a few labels flipped; one duplicate text labelled otherwise."""
    seen: set[str] = set()
    messages = []
    for line in shared_data("sms_spam", "SMSSpamCollection").read_text("utf-8").splitlines():
        label, text = line.split("\t", 1)
        if text not in seen:
            seen.add(text)
            messages.append((text, label))
        if len(messages) == N_GOLD + N_VOTED:
            break
    rows: list[dict[str, Any]] = []
    for i, (text, label) in enumerate(messages):
        row: dict[str, Any] = {"id": f"m{i}", "text": text}
        if i < N_GOLD:
            row["gold"] = {"label": _other(label) if i in FLIPPED_GOLD else label}
        else:
            wrong = i in FLIPPED_VOTES
            answers = [_other(label) if wrong else label] * 2 + [label if wrong else _other(label)]
            row["annotations"] = [
                {"source": {"kind": "human", "name": f"ann{k}"}, "value": {"label": answer}}
                for k, answer in enumerate(answers)
            ]
        rows.append(row)
    text0, label0 = messages[0]
    rows.append({"id": "dup", "text": text0.upper(), "gold": {"label": _other(label0)}})
    return rows


def _access(store: Store, slug: str, role: Role | None = None) -> Access:
    if role is None:
        return review.local_access(store, project=slug)
    with store.read() as conn:
        project = project_queries.get_project(conn, slug=slug)
    return Access(project=project, role=role, is_admin=False)


@pytest.fixture(scope="module")
def sms_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("errors") / "lk.db"
    store = Store.open(settings=Settings(database_url=f"sqlite:///{path}"))
    create_project(store, spec={"slug": "sms", "task": "classify", "labels": ["ham", "spam"]})
    import_rows(store, project="sms", rows=_sms_rows())
    compute_suspected_errors(store, project="sms", folds=3)
    yield store
    store.close()


def _ids(store: Store, external: set[str]) -> set[int]:
    access = _access(store, "sms")
    queue = suspected_errors(store, access=access, limit=1000)
    return {item.record_id for item in queue.items if item.external_id in external}


@pytest.mark.slow
def test_queue_puts_flipped_labels_first(sms_store: Store) -> None:
    queue = suspected_errors(sms_store, access=_access(sms_store, "sms"), limit=60)  # top 10%
    flipped = {f"m{i}" for i in FLIPPED_GOLD | FLIPPED_VOTES}
    found = {item.external_id for item in queue.items} & flipped
    assert len(found) / len(flipped) >= 0.7, sorted(flipped - found)
    assert queue.status == "done" and queue.folds == 3 and queue.n_records == 601
    assert [item.rank for item in queue.items] == sorted(item.rank for item in queue.items)


@pytest.mark.slow
def test_items_name_the_given_label_and_its_source(sms_store: Store) -> None:
    items = suspected_errors(sms_store, access=_access(sms_store, "sms"), limit=1000).items
    by_external = {item.external_id: item for item in items}
    voted = [by_external[f"m{i}"] for i in FLIPPED_VOTES if f"m{i}" in by_external]
    assert voted, "no record labelled by annotators reached the queue"
    for item in voted:
        assert item.given_source == "annotators"
        assert item.suggested != item.given  # the majority was wrong; the model says so
    gold = [by_external[f"m{i}"] for i in FLIPPED_GOLD if f"m{i}" in by_external]
    assert gold and all(item.given_source == "import" for item in gold)


@pytest.mark.slow
def test_contradicting_duplicate_is_queued_with_its_neighbour(sms_store: Store) -> None:
    items = suspected_errors(sms_store, access=_access(sms_store, "sms"), limit=1000).items
    by_external = {item.external_id: item for item in items}
    dup, original = by_external["dup"], by_external["m0"]
    assert "near_duplicate" in dup.reasons and dup.neighbours == [original.record_id]
    assert original.neighbours == [dup.record_id]


@pytest.mark.slow
def test_labels_come_from_gold_then_annotator_majority(sms_store: Store) -> None:
    records = collect_labels(sms_store, project="sms")
    assert len(records.record_ids) == 601
    assert records.sources.count("annotators") == N_VOTED
    assert set(records.sources) == {"import", "annotators"}


@pytest.mark.slow
def test_annotators_may_not_see_the_queue(sms_store: Store) -> None:
    with pytest.raises(PermissionDenied):
        suspected_errors(sms_store, access=_access(sms_store, "sms", Role.ANNOTATOR), limit=5)
    with pytest.raises(PermissionDenied):
        start_suspected_errors(sms_store, access=_access(sms_store, "sms", Role.VIEWER))


@pytest.mark.slow
def test_a_record_reviewed_after_the_run_drops_out(sms_store: Store) -> None:
    access = _access(sms_store, "sms")
    first = suspected_errors(sms_store, access=access, limit=5).items[0]
    # consensus gold is not a review: the record stays
    with sms_store.write() as conn:
        from labelkitchen.store.queries.review import add_gold

        add_gold(
            conn,
            project_id=access.project.id,
            record_id=first.record_id,
            value={"label": first.given},
            method="consensus",
        )
    assert suspected_errors(sms_store, access=access, limit=5).items[0] == first
    user = accounts.create_user(sms_store, username="rev", password="long enough pw")
    review.set_gold(
        sms_store, access=access, user=user, record_id=first.record_id, value=first.suggested
    )
    after = suspected_errors(sms_store, access=access, limit=5).items
    assert first.record_id not in {item.record_id for item in after}


# --- small projects: edge cases, CLI, HTTP ---------------------------------------------------

SPAM = ["win free money now", "free prize click here", "cheap pills buy now", "claim cash"]
HAM = ["lovely song", "great voice and lyrics", "I love this video", "see you at home"]


def _small_rows(n: int = 40) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        label = "spam" if i % 2 else "ham"
        words = SPAM if label == "spam" else HAM
        text = f"{words[i % 4]} {i}"
        rows.append({"text": text, "gold": {"label": "ham" if i == 1 else label}})
    return rows


def test_queue_before_any_run_is_empty(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "p", "task": "classify", "labels": ["a", "b"]})
    queue = suspected_errors(sqlite_store, access=_access(sqlite_store, "p"), limit=5)
    assert (queue.status, queue.job_id, queue.items) == (None, None, [])


def test_project_without_labels_is_refused(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "p", "task": "classify", "labels": ["a", "b"]})
    import_rows(sqlite_store, project="p", rows=[{"text": "unlabelled"}])
    with pytest.raises(InvalidInput, match="no labels to check"):
        compute_suspected_errors(sqlite_store, project="p")


def test_spans_projects_are_refused(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "s", "task": "spans", "labels": ["PER"]})
    with pytest.raises(InvalidInput, match="spans project"):
        compute_suspected_errors(sqlite_store, project="s")
    with pytest.raises(InvalidInput, match="spans project"):
        start_suspected_errors(sqlite_store, access=_access(sqlite_store, "s"))


def test_multilabel_project_queue_lists_label_names(sqlite_store: Store) -> None:
    create_project(
        sqlite_store, spec={"slug": "m", "task": "multilabel", "labels": ["billing", "login"]}
    )
    rows = [
        {"text": f"invoice billing charge {i}", "gold": {"labels": ["billing"]}} for i in range(12)
    ]
    rows += [
        {"text": f"password login reset {i}", "gold": {"labels": ["login"]}} for i in range(12)
    ]
    rows[2]["gold"] = {"labels": ["login"]}
    import_rows(sqlite_store, project="m", rows=rows)
    compute_suspected_errors(sqlite_store, project="m", folds=4)
    top = suspected_errors(sqlite_store, access=_access(sqlite_store, "m"), limit=1).items[0]
    assert (top.text, top.given, top.suggested) == (
        "invoice billing charge 2",
        ["login"],
        ["billing"],
    )


def test_cli_computes_and_prints_the_queue(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "c", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(sqlite_store, project="c", rows=_small_rows())
    url = str(sqlite_store.engine.url)
    runner = CliRunner()
    result = runner.invoke(app, ["review", "errors", "c", "--db", url, "--folds", "3", "--json"])
    assert result.exit_code == 0, result.output
    queue = json.loads(result.output)
    assert queue["folds"] == 3 and queue["n_records"] == 40
    assert queue["items"][0]["text"] == "free prize click here 1"  # the one labelled "ham"
    result = runner.invoke(app, ["review", "errors", "c", "--db", url, "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "Suspected errors" in result.output
    assert f"│ {queue['items'][0]['record_id']} " in result.output  # the same record on top
    assert (
        jobs.latest(
            sqlite_store, kind=LABEL_ERRORS_JOB, project_id=_access(sqlite_store, "c").project.id
        ).status
        == "done"
    )


def test_cli_reports_a_spans_project_as_an_error(sqlite_store: Store) -> None:
    create_project(sqlite_store, spec={"slug": "s", "task": "spans", "labels": ["PER"]})
    url = str(sqlite_store.engine.url)
    result = CliRunner().invoke(app, ["review", "errors", "s", "--db", url])
    assert result.exit_code == 1 and "spans project" in result.output


def test_http_post_runs_a_job_and_get_returns_the_queue(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}", secret_key="k")
    store = Store.open(settings=settings)
    create_project(store, spec={"slug": "h", "task": "classify", "labels": ["spam", "ham"]})
    import_rows(store, project="h", rows=_small_rows())
    accounts.create_user(store, username="boss", password="long enough pw", is_admin=True)
    headers = {"Authorization": f"Bearer {accounts.create_token(store, username='boss').token}"}
    with TestClient(create_app(settings, store=store)) as client:  # runs the job worker
        empty = client.get("/api/projects/h/review/suspected-errors", headers=headers)
        assert empty.status_code == 200 and empty.json()["status"] is None
        started = client.post(
            "/api/projects/h/review/suspected-errors", json={"folds": 3}, headers=headers
        )
        assert started.status_code == 202 and started.json()["queued"] is True
        again = client.post("/api/projects/h/review/suspected-errors", headers=headers)
        assert again.json()["job_id"] == started.json()["job_id"]
        deadline = time.monotonic() + 120
        while True:
            body = client.get(
                "/api/projects/h/review/suspected-errors?limit=2", headers=headers
            ).json()
            if body["status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    store.close()
    assert body["status"] == "done", body
    assert len(body["items"]) == 2
    first = body["items"][0]
    assert first["text"] == "free prize click here 1" and first["given"] == "ham"
    assert set(first) == {
        "record_id",
        "external_id",
        "text",
        "given",
        "given_source",
        "suggested",
        "score",
        "rank",
        "reasons",
        "neighbours",
    }


def test_http_failed_run_shows_its_error(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'f.db'}", secret_key="k")
    store = Store.open(settings=settings)
    create_project(store, spec={"slug": "f", "task": "classify", "labels": ["spam", "ham"]})
    accounts.create_user(store, username="boss", password="long enough pw", is_admin=True)
    headers = {"Authorization": f"Bearer {accounts.create_token(store, username='boss').token}"}
    with TestClient(create_app(settings, store=store)) as client:
        client.post("/api/projects/f/review/suspected-errors", json={}, headers=headers)
        deadline = time.monotonic() + 60
        while True:
            body = client.get("/api/projects/f/review/suspected-errors", headers=headers).json()
            if body["status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    store.close()
    assert body["status"] == "failed"
    assert "no labels to check" in body["error"] and "Traceback" not in body["error"]
