"""Shared fixtures: settings on tmp_path, a store per backend, literal data helpers.

``store`` runs each test on a fresh SQLite file and, for tests marked ``postgres`` (or those
using ``any_store``), on a real PostgreSQL database created for this test session. Set
``LABELKITCHEN_TEST_POSTGRES_URL`` to the server (CI does); with
``LABELKITCHEN_REQUIRE_POSTGRES=1`` an unreachable server fails the tests instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from labelkitchen.settings import Settings
from labelkitchen.store import Store
from labelkitchen.store import tables as t

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
POSTGRES_URL = os.environ.get(
    "LABELKITCHEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("LABELKITCHEN_REQUIRE_POSTGRES") == "1"


def shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"shared test data missing: {path} (expected ../shared/data beside the repo)")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'lk.db'}")


@pytest.fixture
def sqlite_store(settings: Settings) -> Iterator[Store]:
    with Store.open(settings=settings) as store:
        yield store


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own on the PostgreSQL server, dropped when the session ends."""
    admin_url = make_url(POSTGRES_URL)
    name = f"lk_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL required but unreachable at {POSTGRES_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def postgres_store(postgres_database: str, tmp_path: Path) -> Iterator[Store]:
    store = Store.open(postgres_database, settings=Settings(database_url=postgres_database))
    names = ", ".join(f'"{table.name}"' for table in t.metadata.sorted_tables)
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    """The store suite's fixture: every test using it runs on SQLite and on PostgreSQL."""
    name = "sqlite_store" if request.param == "sqlite" else "postgres_store"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to check that a failed operation changed nothing."""
    with store.engine.connect() as conn:
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in conn.execute(select(table))), key=repr
            )
            for table in t.metadata.sorted_tables
        }


def write_lines(path: Path, lines: list[str] | list[bytes]) -> Path:
    data = b"".join(
        (line if isinstance(line, bytes) else line.encode("utf-8")) + b"\n" for line in lines
    )
    path.write_bytes(data)
    return path
