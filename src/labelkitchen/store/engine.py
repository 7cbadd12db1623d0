"""The store: one SQLAlchemy engine over SQLite (default) or PostgreSQL, and its migrations.

The URL is the only switch between backends. SQLite connections get WAL, foreign keys and a
busy timeout; transactions are real (``BEGIN`` is emitted by us, not guessed by the driver), and
writers can ask for ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of
failing on a lock upgrade.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from labelkitchen.errors import InvalidInput
from labelkitchen.settings import Settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` as ``postgresql+psycopg://``."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_store_engine(url: str, *, settings: Settings) -> Engine:
    """Build the engine for ``url`` with labelkitchen's connection settings."""
    url = normalize_url(url)
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise InvalidInput(f"database directory {parent} does not exist (from URL {url!r})")
        engine = create_engine(url, poolclass=NullPool if database == ":memory:" else None)
        _configure_sqlite(engine, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise InvalidInput(
                f"PostgreSQL URLs must use the psycopg 3 driver (postgresql+psycopg://...), "
                f"got {parsed.drivername!r}"
            )
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise InvalidInput(
                "PostgreSQL needs the psycopg driver: pip install 'labelkitchen[postgres]'"
            ) from exc
        return create_engine(url, pool_pre_ping=True)
    raise InvalidInput(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql+psycopg://..."
    )


def _configure_sqlite(engine: Engine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level; SQLAlchemy's "begin" event below starts transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to ``revision`` (default: the newest)."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), revision)


class Store:
    """A database handle: the engine plus the settings it was opened with.

    Cheap to build in tests (``Store.open("sqlite:///" + str(tmp_path / "t.db"))``). Query
    functions in :mod:`labelkitchen.store.queries` take a ``Connection`` from :meth:`read` or
    :meth:`write`.
    """

    def __init__(self, engine: Engine, *, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    @classmethod
    def open(cls, url: str | None = None, *, settings: Settings | None = None) -> Store:
        settings = settings or Settings()
        engine = create_store_engine(url or settings.database_url, settings=settings)
        store = cls(engine, settings=settings)
        if settings.auto_migrate and current_revision(engine) != head_revision():
            logger.info("migrating %s to the newest schema", engine.url)
            upgrade(engine)
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (a consistent snapshot)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction: committed on success, rolled back on error."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "Store",
    "create_store_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "normalize_url",
    "upgrade",
]
