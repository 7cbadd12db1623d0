"""The store: migrations from an empty database, connection settings, the URL switch."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from labelkitchen.errors import InvalidInput
from labelkitchen.settings import Settings
from labelkitchen.store import Store
from labelkitchen.store.engine import (
    current_revision,
    downgrade,
    head_revision,
    normalize_url,
    upgrade,
)
from labelkitchen.store.tables import metadata


def test_migrations_build_exactly_the_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    assert current_revision(store.engine) == head_revision()


def test_downgrade_to_empty_and_back(store: Store) -> None:
    downgrade(store.engine, "base")
    assert current_revision(store.engine) is None
    upgrade(store.engine)
    assert current_revision(store.engine) == head_revision()


def test_sqlite_connection_pragmas(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == sqlite_store.settings.sqlite_busy_timeout_ms
        assert pragma("wal_autocheckpoint") == 10_000


def test_default_database_is_labelkitchen_db_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with Store.open(settings=Settings()):
        pass
    assert (tmp_path / "labelkitchen.db").exists()


def test_environment_variable_sets_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELKITCHEN_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    with Store.open(settings=Settings()):
        pass
    assert (tmp_path / "env.db").exists()


def test_write_rolls_back_on_error(sqlite_store: Store) -> None:
    from sqlalchemy import func, insert, select

    from labelkitchen.store.tables import users

    with pytest.raises(RuntimeError), sqlite_store.write() as conn:
        conn.execute(insert(users).values(username="ann"))
        raise RuntimeError("boom")
    with sqlite_store.read() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar() == 0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_url_normalisation(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/x", "unsupported database URL"),
        ("postgresql+psycopg2://u@h/db", "psycopg 3 driver"),
        ("sqlite:////no/such/dir/x.db", "does not exist"),
    ],
)
def test_bad_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Store.open(url)


def test_checkpointer_copies_the_log_back_off_the_request_path(sqlite_store: Store) -> None:
    import time

    from sqlalchemy import text

    checkpointer = sqlite_store.start_checkpointer(interval=0.02)
    assert checkpointer is not None and sqlite_store.start_checkpointer() is checkpointer
    with sqlite_store.write() as conn:
        conn.execute(text("CREATE TABLE scratch (x TEXT)"))
        conn.execute(text("INSERT INTO scratch VALUES (:x)"), [{"x": "y" * 500}] * 2000)
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpointer.checkpoints > 0  # the thread copied a non-empty log back
    sqlite_store.close()
    assert not checkpointer._thread.is_alive()


def test_no_checkpointer_where_there_is_no_log(tmp_path: Path) -> None:
    with Store.open("sqlite:///:memory:", settings=Settings(auto_migrate=False)) as store:
        assert store.start_checkpointer() is None
