"""An app on a real SQLite file (or PostgreSQL), users of every role, and clients for them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labelkitchen.server import create_app
from labelkitchen.services import accounts
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import create_project
from labelkitchen.settings import Settings
from labelkitchen.store import Store

ROLES = ("owner", "reviewer", "annotator", "viewer")
PASSWORD = "correct horse battery"


def _build(path: Path) -> dict[str, dict[str, str]]:
    """Projects, records, users of every role and a token each; returns Bearer headers."""
    settings = Settings(database_url=f"sqlite:///{path}", secret_key="test")
    with Store.open(settings=settings) as store:
        create_project(
            store,
            spec={
                "slug": "spam",
                "task": "classify",
                "labels": ["spam", "ham"],
                "settings": {"queue_strategy": "sequential"},
            },
        )
        create_project(store, spec={"slug": "other", "task": "classify", "labels": ["a", "b"]})
        import_rows(
            store,
            project="spam",
            rows=[{"id": str(i), "text": f"comment number {i}"} for i in range(10)],
        )
        import_rows(store, project="other", rows=[{"text": "elsewhere"}])
        accounts.create_user(store, username="admin", password=PASSWORD, is_admin=True)
        accounts.create_user(store, username="outsider", password=PASSWORD)
        for role in ROLES:
            accounts.create_user(store, username=role, password=PASSWORD)
            accounts.set_member(store, project="spam", username=role, role=role)
        headers = {name: token_for(store, name) for name in ("admin", "outsider", *ROLES)}
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return headers


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, str]]]:
    path = tmp_path_factory.mktemp("template") / "server.db"
    return path, _build(path)  # argon2 hashing is slow on purpose: build once, copy per test


@pytest.fixture
def server_store(tmp_path: Path, _template: tuple[Path, dict]) -> Iterator[Store]:
    path = tmp_path / "server.db"
    shutil.copyfile(_template[0], path)
    settings = Settings(database_url=f"sqlite:///{path}", secret_key="test")
    with Store.open(settings=settings) as store:
        yield store


@pytest.fixture
def app_client(server_store: Store) -> TestClient:
    return TestClient(create_app(server_store.settings, store=server_store))


def token_for(store: Store, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_token(store, username=username).token}"}


@pytest.fixture
def as_user(_template: tuple[Path, dict[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    """Bearer headers per username."""
    return _template[1]
