"""Logging in, sessions, CSRF, tokens, throttling."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.server.conftest import PASSWORD

from labelkitchen.services import accounts
from labelkitchen.store import Store


def _login(client: TestClient, username: str = "annotator", password: str = PASSWORD):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_login_sets_an_httponly_samesite_cookie(app_client: TestClient) -> None:
    response = _login(app_client)
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert response.json()["user"]["username"] == "annotator"
    assert app_client.get("/api/me").json()["user"]["username"] == "annotator"


@pytest.mark.parametrize("username", ["annotator", "nobody-at-all"])
def test_login_failure_does_not_tell_whether_the_user_exists(
    app_client: TestClient, username: str
) -> None:
    response = _login(app_client, username, "wrong password")
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}


def test_repeated_failures_are_throttled(app_client: TestClient) -> None:
    for _ in range(5):
        assert _login(app_client, password="nope nope").status_code == 401
    blocked = _login(app_client)  # even the right password waits
    assert blocked.status_code == 429 and "too many failed logins" in blocked.json()["detail"]
    assert int(blocked.headers["retry-after"]) > 0


def test_state_change_with_cookie_needs_csrf(app_client: TestClient) -> None:
    token = _login(app_client, "owner").json()["csrf_token"]
    body = {"role": "viewer"}
    assert app_client.put("/api/projects/spam/members/annotator", json=body).status_code == 403
    ok = app_client.put(
        "/api/projects/spam/members/annotator", json=body, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 204


def test_logout_ends_the_session(app_client: TestClient) -> None:
    _login(app_client)
    app_client.post("/api/auth/logout")
    assert app_client.get("/api/me").status_code == 401


def test_password_change_ends_sessions(app_client: TestClient, server_store: Store) -> None:
    _login(app_client)
    accounts.update_user(server_store, username="annotator", password="a new password")
    assert app_client.get("/api/me").status_code == 401


def test_tokens_are_stored_hashed_and_revocable(
    app_client: TestClient, server_store: Store
) -> None:
    new = accounts.create_token(server_store, username="viewer")
    headers = {"Authorization": f"Bearer {new.token}"}
    assert app_client.get("/api/me", headers=headers).status_code == 200
    with server_store.read() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM api_tokens").scalars().all()
    assert new.token not in stored
    accounts.revoke_token(
        server_store,
        user_id=app_client.get("/api/me", headers=headers).json()["user"]["id"],
        token_id=new.id,
    )
    assert app_client.get("/api/me", headers=headers).status_code == 401


def test_expired_token_is_refused(app_client: TestClient, server_store: Store) -> None:
    new = accounts.create_token(server_store, username="viewer", expires_in_days=1)
    with server_store.write() as conn:
        conn.exec_driver_sql("UPDATE api_tokens SET expires_at = '2000-01-01 00:00:00'")
    response = app_client.get("/api/me", headers={"Authorization": f"Bearer {new.token}"})
    assert response.status_code == 401


def test_passwords_are_argon2(server_store: Store) -> None:
    with server_store.read() as conn:
        hashes = conn.exec_driver_sql("SELECT password_hash FROM users").scalars().all()
    assert all(h.startswith("$argon2id$") for h in hashes)


def test_security_headers(app_client: TestClient) -> None:
    response = app_client.get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
