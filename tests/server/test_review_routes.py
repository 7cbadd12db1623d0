"""The review API: two annotators disagree, a reviewer resolves it, agreement and statistics."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _answer(client: TestClient, headers: dict[str, str], label: str, record: int) -> int:
    response = client.post(
        f"/api/projects/spam/records/{record}/annotations",
        json={"value": {"label": label}, "duration_ms": 2000},
        headers=headers,
    )
    assert response.status_code < 400, response.text
    return int(record)


def test_disagreement_is_queued_resolved_and_kept(app_client: TestClient, as_user: dict) -> None:
    settings = {"overlap": 2, "queue_strategy": "sequential"}
    patched = app_client.patch(
        "/api/projects/spam", json={"settings": settings}, headers=as_user["owner"]
    )
    assert patched.status_code == 200, patched.text
    record = app_client.get("/api/projects/spam/records", headers=as_user["owner"]).json()[
        "records"
    ][0]["id"]
    first = _answer(app_client, as_user["annotator"], "spam", record)
    _answer(app_client, as_user["owner"], "ham", record)
    queue = app_client.get("/api/projects/spam/review/queue", headers=as_user["reviewer"]).json()
    assert [item["record_id"] for item in queue] == [first]
    assert queue[0]["disagreement"] == 0.5
    picked = next(a for a in queue[0]["answers"] if a["annotator"] == "annotator")
    response = app_client.post(
        f"/api/projects/spam/records/{first}/gold",
        json={"annotation_id": picked["annotation_id"], "note": "links to a channel"},
        headers=as_user["reviewer"],
    )
    assert response.status_code == 201, response.text
    assert response.json()["value"] == {"label": "spam"}
    response = app_client.post(
        f"/api/projects/spam/records/{first}/gold",
        json={"value": {"label": "ham"}},
        headers=as_user["owner"],
    )
    versions = response.json()["versions"]
    assert [(v["value"]["label"], v["reviewer"], v["current"]) for v in versions] == [
        ("spam", "reviewer", False),
        ("ham", "owner", True),
    ]
    queue = app_client.get("/api/projects/spam/review/queue", headers=as_user["reviewer"]).json()
    assert queue == []
    agreement = app_client.get(
        "/api/projects/spam/agreement?resamples=0", headers=as_user["viewer"]
    ).json()
    assert agreement["pairs"][0]["value"] == 0.0  # p_o = 0 and p_e = 0 on spam vs ham
    stats = app_client.get("/api/projects/spam/annotators", headers=as_user["viewer"]).json()
    by_name = {a["annotator"]: a for a in stats["annotators"]}
    assert by_name["owner"]["gold"]["value"] == 1.0
    assert by_name["annotator"]["gold"]["value"] == 0.0
    assert by_name["annotator"]["median_ms"] == 2000.0


def test_gold_value_is_checked_against_the_project(app_client: TestClient, as_user: dict) -> None:
    record = app_client.get("/api/projects/spam/records", headers=as_user["owner"]).json()[
        "records"
    ][0]["id"]
    response = app_client.post(
        f"/api/projects/spam/records/{record}/gold",
        json={"value": {"label": "eggs"}},
        headers=as_user["reviewer"],
    )
    assert response.status_code == 422
    assert "eggs" in response.json()["detail"]
