"""Background retraining: scheduled after N answers, run by the worker, never blocking."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labelkitchen.server import create_app
from labelkitchen.services import accounts, jobs
from labelkitchen.services.importing import import_rows
from labelkitchen.services.priorities import refresh_priorities
from labelkitchen.services.projects import create_project, get_project, update_project
from labelkitchen.services.train import TRAIN_JOB, train_project
from labelkitchen.settings import Settings
from labelkitchen.store import Store

WORDS = {
    "spam": ["win", "free", "money", "click", "prize"],
    "ham": ["song", "voice", "love", "video", "beat"],
}


def _rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        label = "spam" if i % 2 else "ham"
        words = WORDS[label]
        rows.append(
            {
                "text": f"{words[i % 5]} {words[(i + 2) % 5]} number {i}",
                "label": label if i < n // 2 else None,
                "split": "train",
            }
        )
    return rows


@pytest.fixture
def store(tmp_path: Path) -> Store:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'j.db'}", secret_key="k")
    store = Store.open(settings=settings)
    create_project(
        store,
        spec={
            "slug": "s",
            "task": "classify",
            "labels": ["spam", "ham"],
            "settings": {"retrain_every": 3, "queue_strategy": "margin"},
        },
    )
    from labelkitchen.io.prepare import ImportOptions

    import_rows(
        store,
        project="s",
        rows=[r for r in _rows(400) if r["label"]],
        options=ImportOptions(labels_as="gold"),
    )
    import_rows(
        store, project="s", rows=[{"text": r["text"]} for r in _rows(400) if not r["label"]]
    )
    accounts.create_user(store, username="ann", password="long password")
    accounts.set_member(store, project="s", username="ann", role="annotator")
    return store


def test_answers_schedule_a_retraining_job(store: Store) -> None:
    client = TestClient(create_app(store.settings, store=store))
    headers = {"Authorization": f"Bearer {accounts.create_token(store, username='ann').token}"}
    for _ in range(3):
        record = client.get("/api/projects/s/queue/next", headers=headers).json()["id"]
        client.post(
            f"/api/projects/s/records/{record}/annotations",
            json={"value": {"label": "spam"}},
            headers=headers,
        )
    assert jobs.count_jobs(store, kind=TRAIN_JOB, status_="queued") == 1


def test_worker_trains_and_annotation_is_never_blocked(store: Store) -> None:
    train_project(store, project="s")  # a model exists; the next one is retraining
    job = jobs.enqueue(store, kind=TRAIN_JOB, project_id=get_project(store, slug="s").id)
    assert job is not None
    with TestClient(create_app(store.settings, store=store)) as client:  # starts the worker
        headers = {"Authorization": f"Bearer {accounts.create_token(store, username='ann').token}"}
        client.app.state.worker.wake.set()
        deadline = time.monotonic() + 20
        while jobs.status(store, job_id=job).status == "queued" and time.monotonic() < deadline:
            time.sleep(0.01)
        state_during = jobs.status(store, job_id=job).status
        record = client.get("/api/projects/s/queue/next", headers=headers).json()["id"]
        answered = client.post(
            f"/api/projects/s/records/{record}/annotations",
            json={"value": {"label": "ham"}},
            headers=headers,
        )
        state_after_answer = jobs.status(store, job_id=job).status
        while jobs.status(store, job_id=job).status == "running" and (time.monotonic() < deadline):
            time.sleep(0.05)
        final = jobs.status(store, job_id=job)
    assert answered.status_code == 201
    assert state_during == "running" and state_after_answer == "running", (
        "the answer should complete while training is still running"
    )
    assert final.status == "done", final.error
    assert final.result["version"] == 2


def test_uncertainty_strategy_orders_the_queue_by_the_model(store: Store) -> None:
    train_project(store, project="s")  # margin: the least sure records first
    project = get_project(store, slug="s")
    with store.read() as conn:
        order = conn.exec_driver_sql(
            "SELECT q.record_id, p.score FROM queue_items q JOIN predictions p "
            "ON p.record_id = q.record_id WHERE q.slots_left > 0 ORDER BY q.priority"
        ).all()
    scores = [score for _, score in order]
    assert scores == sorted(scores, reverse=True) and len(scores) == 200
    update_project(store, slug="s", changes={"settings": {"queue_strategy": "sequential"}})
    with store.read() as conn:
        ids = (
            conn.exec_driver_sql(
                "SELECT record_id FROM queue_items WHERE slots_left > 0 ORDER BY priority"
            )
            .scalars()
            .all()
        )
    assert ids == sorted(ids)
    assert refresh_priorities(store, project=project).startswith("margin")


def test_a_job_is_queued_once_per_project(store: Store) -> None:
    project_id = get_project(store, slug="s").id
    assert jobs.enqueue(store, kind=TRAIN_JOB, project_id=project_id) is not None
    assert jobs.enqueue(store, kind=TRAIN_JOB, project_id=project_id) is None


def test_two_workers_never_take_the_same_job(store: Store) -> None:
    project_id = get_project(store, slug="s").id
    jobs.enqueue(store, kind=TRAIN_JOB, project_id=project_id)
    taken: list[object] = []
    barrier = threading.Barrier(2)

    def grab(owner: str) -> None:
        barrier.wait()
        taken.append(jobs.take(store, owner=owner))

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(job is not None for job in taken) == 1
