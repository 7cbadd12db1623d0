"""The queue: reservations, overlap, skips, expiry, undo, blind review, concurrency."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from labelkitchen.services import accounts, annotate
from labelkitchen.services.projects import update_project
from labelkitchen.store import Store

NEXT = "/api/projects/spam/queue/next"


def _answer(client: TestClient, headers: dict, record: int, label: str = "spam", **extra):
    body = {"value": {"label": label}, **extra}
    return client.post(
        f"/api/projects/spam/records/{record}/annotations", json=body, headers=headers
    )


def test_next_is_stable_until_answered(app_client: TestClient, as_user: dict) -> None:
    first = app_client.get(NEXT, headers=as_user["annotator"]).json()
    again = app_client.get(NEXT, headers=as_user["annotator"]).json()
    assert first["id"] == again["id"] and first["text"] == "comment number 0"
    assert _answer(app_client, as_user["annotator"], first["id"]).status_code == 201
    assert app_client.get(NEXT, headers=as_user["annotator"]).json()["text"] == ("comment number 1")


def test_overlap_one_gives_each_record_to_one_annotator(
    app_client: TestClient, as_user: dict
) -> None:
    seen: list[int] = []
    for who in ("annotator", "reviewer") * 5:
        record = app_client.get(NEXT, headers=as_user[who]).json()
        seen.append(record["id"])
        _answer(app_client, as_user[who], record["id"])
    assert len(set(seen)) == 10
    assert app_client.get(NEXT, headers=as_user["annotator"]).status_code == 204


def test_overlap_two_never_repeats_for_one_annotator(
    app_client: TestClient, as_user: dict, server_store: Store
) -> None:
    update_project(server_store, slug="spam", changes={"settings": {"overlap": 2}})
    by_record: Counter[int] = Counter()
    for who in ("annotator", "reviewer", "owner"):
        mine = []
        while (response := app_client.get(NEXT, headers=as_user[who])).status_code == 200:
            record = response.json()["id"]
            mine.append(record)
            _answer(app_client, as_user[who], record)
        assert len(mine) == len(set(mine))
        by_record.update(mine)
    assert set(by_record.values()) == {2} and len(by_record) == 10


def test_skip_returns_the_slot_but_not_to_the_skipper(
    app_client: TestClient, as_user: dict
) -> None:
    record = app_client.get(NEXT, headers=as_user["annotator"]).json()["id"]
    skipped = app_client.post(
        f"/api/projects/spam/records/{record}/annotations",
        json={"answer": "skip"},
        headers=as_user["annotator"],
    )
    assert skipped.status_code == 201
    assert app_client.get(NEXT, headers=as_user["annotator"]).json()["id"] != record
    assert app_client.get(NEXT, headers=as_user["reviewer"]).json()["id"] == record


def test_expired_reservation_returns_to_the_queue(
    app_client: TestClient, as_user: dict, server_store: Store
) -> None:
    record = app_client.get(NEXT, headers=as_user["annotator"]).json()["id"]
    with server_store.write() as conn:
        conn.exec_driver_sql("UPDATE assignments SET reserved_until = '2000-01-01 00:00:00'")
    assert app_client.get(NEXT, headers=as_user["reviewer"]).json()["id"] == record


def test_undo_hands_back_the_last_record_and_keeps_history(
    app_client: TestClient, as_user: dict, server_store: Store
) -> None:
    headers = as_user["annotator"]
    record = app_client.get(NEXT, headers=headers).json()["id"]
    _answer(app_client, headers, record, "spam")
    undone = app_client.post("/api/projects/spam/undo", headers=headers).json()
    assert undone["id"] == record and undone["previous"]["value"] == {"label": "spam"}
    assert app_client.get(NEXT, headers=headers).json()["id"] == record
    _answer(app_client, headers, record, "ham")
    history = app_client.get("/api/projects/spam/history", headers=headers).json()
    assert [h["value"] for h in history] == [{"label": "ham"}]
    with server_store.read() as conn:
        count = conn.exec_driver_sql("SELECT count(*) FROM annotations").scalar_one()
    assert count == 2  # the first answer is superseded, not overwritten
    assert app_client.get(NEXT, headers=headers).json()["id"] != record


def test_repeated_post_is_not_duplicated(
    app_client: TestClient, as_user: dict, server_store: Store
) -> None:
    record = app_client.get(NEXT, headers=as_user["annotator"]).json()["id"]
    assert _answer(app_client, as_user["annotator"], record).status_code == 201
    assert _answer(app_client, as_user["annotator"], record).status_code == 200
    with server_store.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM annotations").scalar_one() == 1


def test_no_record_exceeds_its_overlap(app_client: TestClient, as_user: dict) -> None:
    record = app_client.get(NEXT, headers=as_user["annotator"]).json()["id"]
    _answer(app_client, as_user["annotator"], record)
    extra = _answer(app_client, as_user["reviewer"], record)
    assert extra.status_code == 409


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"value": {"label": "eggs"}}, 422, "unknown label 'eggs'"),
        ({"answer": "flag", "value": {"label": "spam"}}, 422, "needs a reason"),
        ({"answer": "accept"}, 422, "needs a value"),
    ],
)
def test_bad_answers_are_explained(
    app_client: TestClient, as_user: dict, body: dict, status: int, message: str
) -> None:
    record = app_client.get(NEXT, headers=as_user["annotator"]).json()["id"]
    response = app_client.post(
        f"/api/projects/spam/records/{record}/annotations", json=body, headers=as_user["annotator"]
    )
    assert response.status_code == status and message in response.text


def test_annotators_work_blind_reviewers_see_all(app_client: TestClient, as_user: dict) -> None:
    for who in ("annotator", "reviewer"):
        record = app_client.get(NEXT, headers=as_user[who]).json()["id"]
        _answer(app_client, as_user[who], record)
    first = app_client.get("/api/projects/spam/records", headers=as_user["owner"]).json()
    ids = [r["id"] for r in first["records"][:2]]
    for record in ids:
        mine = app_client.get(
            f"/api/projects/spam/records/{record}", headers=as_user["annotator"]
        ).json()["annotations"]
        assert all(a["source"]["name"] == "annotator" for a in mine)
    seen = [
        a["source"]["name"]
        for record in ids
        for a in app_client.get(
            f"/api/projects/spam/records/{record}", headers=as_user["viewer"]
        ).json()["annotations"]
    ]
    assert sorted(seen) == ["annotator", "reviewer"]


def test_browse_filters_and_keyset_pages(app_client: TestClient, as_user: dict) -> None:
    headers = as_user["owner"]
    page = app_client.get("/api/projects/spam/records?limit=4", headers=headers).json()
    assert len(page["records"]) == 4 and page["next_after"] == page["records"][-1]["id"]
    rest = app_client.get(
        f"/api/projects/spam/records?limit=50&after={page['next_after']}", headers=headers
    ).json()
    assert len(rest["records"]) == 6 and rest["next_after"] is None
    found = app_client.get("/api/projects/spam/records?q=number%207", headers=headers).json()
    assert [r["text"] for r in found["records"]] == ["comment number 7"]


def test_member_of_one_project_cannot_open_another(app_client: TestClient, as_user: dict) -> None:
    response = app_client.get("/api/projects/other", headers=as_user["annotator"])
    assert response.status_code == 404
    listed = app_client.get("/api/projects", headers=as_user["annotator"]).json()
    assert [p["slug"] for p in listed] == ["spam"]


def test_thirty_two_annotators_at_once(server_store: Store) -> None:
    """No answer lost or duplicated, no record past its overlap, on a real SQLite file."""
    update_project(server_store, slug="spam", changes={"settings": {"overlap": 3}})
    names = [f"a{i}" for i in range(32)]
    users = {}
    for name in names:
        with server_store.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO users (username, password_hash) VALUES (?, ?)", (name, None)
            )
        accounts.set_member(server_store, project="spam", username=name, role="annotator")
        users[name] = next(u for u in accounts.list_users(server_store) if u.username == name)
    answered: list[tuple[str, int]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        try:
            user = users[name]
            access = accounts.access(server_store, user=user, project="spam")
            while (
                record := annotate.next_record(server_store, access=access, user=user)
            ) is not None:
                annotate.submit_answer(
                    server_store,
                    access=access,
                    user=user,
                    record_id=record["id"],
                    answer=annotate.Answer({"label": "ham"}),
                )
                with lock:
                    answered.append((name, record["id"]))
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[0]
    assert len(answered) == len(set(answered)) == 30  # 10 records x overlap 3
    assert set(Counter(record for _, record in answered).values()) == {3}
    with server_store.read() as conn:
        stored = conn.exec_driver_sql(
            "SELECT count(*) FROM annotations WHERE superseded_by IS NULL"
        ).scalar_one()
    assert stored == 30


def _drain(client: TestClient, headers: dict) -> list[int]:
    seen = []
    while (response := client.get(NEXT, headers=headers)).status_code == 200:
        record = response.json()["id"]
        seen.append(record)
        _answer(client, headers, record)
    return seen


def test_skip_undo_accept_keeps_the_overlap(app_client: TestClient, as_user: dict) -> None:
    headers = as_user["annotator"]
    record = app_client.get(NEXT, headers=headers).json()["id"]
    app_client.post(
        f"/api/projects/spam/records/{record}/annotations", json={"answer": "skip"}, headers=headers
    )
    assert app_client.post("/api/projects/spam/undo", headers=headers).json()["id"] == record
    assert _answer(app_client, headers, record).status_code == 201
    assert record not in _drain(app_client, as_user["reviewer"])


def test_expired_undo_reservation_keeps_the_overlap(
    app_client: TestClient, as_user: dict, server_store: Store
) -> None:
    headers = as_user["annotator"]
    record = app_client.get(NEXT, headers=headers).json()["id"]
    _answer(app_client, headers, record)
    app_client.post("/api/projects/spam/undo", headers=headers)
    with server_store.write() as conn:
        conn.exec_driver_sql("UPDATE assignments SET reserved_until = '2000-01-01 00:00:00'")
    assert record not in _drain(app_client, as_user["reviewer"])


def test_role_change_takes_effect_at_once_on_the_hot_routes(
    app_client: TestClient, as_user: dict
) -> None:
    assert app_client.get(NEXT, headers=as_user["annotator"]).status_code == 200  # cached
    changed = app_client.put(
        "/api/projects/spam/members/annotator", json={"role": "viewer"}, headers=as_user["owner"]
    )
    assert changed.status_code == 204
    assert app_client.get(NEXT, headers=as_user["annotator"]).status_code == 403


def test_large_imports_are_queued_at_the_first_claim(
    app_client: TestClient, as_user: dict, server_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labelkitchen.services import importing

    monkeypatch.setattr(importing, "EAGER_ENQUEUE", 0)
    importing.import_rows(server_store, project="spam", rows=[{"text": "late arrival"}])
    with server_store.read() as conn:
        queued = conn.exec_driver_sql("SELECT count(*) FROM queue_items").scalar_one()
    seen = [
        app_client.get(NEXT, headers=as_user[w]).json()["text"]
        for w in ("annotator", "reviewer", "owner")
    ]
    texts = []
    for who in ("annotator", "reviewer", "owner"):
        while (r := app_client.get(NEXT, headers=as_user[who])).status_code == 200:
            texts.append(r.json()["text"])
            _answer(app_client, as_user[who], r.json()["id"])
    assert queued == 11  # 10 + 1 record of "other"; the new one is not queued yet
    assert "late arrival" in texts and len(seen) == 3


def test_the_record_shown_reaches_its_suggestions_through_the_record_index(
    server_store: Store,
) -> None:
    """Showing a record never walks the annotations table (it grows with every answer)."""
    from labelkitchen.services.browse import SUGGESTION_KINDS
    from labelkitchen.store.queries import queue

    statement = queue._record_with_suggestions(SUGGESTION_KINDS)
    sql = str(statement.compile(dialect=server_store.engine.dialect))
    n_params = sql.count("?")
    with server_store.read() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (1,) * n_params).all()
    steps = [row[-1] for row in plan]
    assert any("annotations USING INDEX ix_annotations_record_id" in s for s in steps), steps
    assert not any(s.startswith("SCAN annotations") for s in steps), steps


def test_suggestions_are_shown_with_their_source(app_client: TestClient, as_user: dict) -> None:
    from labelkitchen.services.importing import import_rows

    store = app_client.app.state.store  # type: ignore[attr-defined]
    import_rows(
        store,
        project="spam",
        rows=[{"id": "s1", "text": "suggested one", "label": "ham"}],
    )
    texts = {}
    while (r := app_client.get(NEXT, headers=as_user["annotator"])).status_code == 200:
        texts[r.json()["text"]] = r.json()["suggestions"]
        _answer(app_client, as_user["annotator"], r.json()["id"])
    assert [s["value"] for s in texts["suggested one"]] == [{"label": "ham"}]
    assert texts["suggested one"][0]["source"]["kind"] == "import"
    assert texts["comment number 0"] == []


def test_a_connection_with_changed_options_is_not_handed_out_again(server_store: Store) -> None:
    """The store reuses idle connections: one a caller changed in place is closed instead."""
    with server_store.read() as conn:
        conn.execution_options(yield_per=10)
        changed = conn
    with server_store.read() as conn:
        assert conn is not changed and "yield_per" not in conn.get_execution_options()
    with server_store.read() as conn:
        clean = conn
    with server_store.read() as conn:
        assert conn is clean  # a clean one is reused
