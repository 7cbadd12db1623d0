"""The store: one SQLAlchemy engine over SQLite (default) or PostgreSQL, and its migrations.

The URL is the only switch between backends. SQLite connections get WAL, foreign keys and a
busy timeout; transactions are real (``BEGIN`` is emitted by us, not guessed by the driver), and
writers can ask for ``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of
failing on a lock upgrade.

SQLite allows one writer at a time. Writers of one process queue on a lock of the store before
``BEGIN IMMEDIATE`` (bounded by the busy timeout), so a busy server hands the database from one
writer to the next at once; left to SQLite's busy handler, waiting writers sleep in steps of up
to 100 ms and miss the moments the lock is free. Writers in other processes still wait on the
busy timeout. The connection pool is as large as the server's thread pool, so a request never
waits for a connection or opens a new one under load. On SQLite the store also keeps a few
connections open and out of the pool between uses (:class:`_Idle`): taking one of those skips the
pool's checkout, reset and check-in, which cost more than the statements an API request runs.

:func:`execute_direct` runs a statement built once at import (the few an API request runs every
time) straight on SQLite's driver cursor, with SQLAlchemy's own type conversions: it skips the
tens of microseconds SQLAlchemy spends around each execution. Other backends go through
SQLAlchemy as usual.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

from labelkitchen.errors import InvalidInput
from labelkitchen.settings import Settings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Connections kept open per SQLite file: the server's thread pool (AnyIO's default of 40).
SQLITE_POOL_SIZE = 40
# Of those, how many the store keeps out of the pool between uses, for reads and for writes
# (writers queue one at a time, so few of them are ever idle).
IDLE_READERS = 24
IDLE_WRITERS = 8
# SQLite's default is 1,000 pages (4 MB); see _configure_sqlite.
WAL_AUTOCHECKPOINT_PAGES = 10_000


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
        if database == ":memory:":
            engine = create_engine(url, poolclass=NullPool)
        else:
            engine = create_engine(url, pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE)
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
        # Checkpoints (copying the log back into the database, with an fsync) run inside the
        # commit that crosses this many log pages. A server checkpoints from a background
        # thread (Store.start_checkpointer) long before that, so no request pays for it; a
        # command-line import still checkpoints now and then on its own.
        cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        # Straight to the driver: this runs on every transaction, statement events add nothing.
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN IMMEDIATE" if immediate else "BEGIN"
        )


@dataclass(frozen=True)
class Direct:
    """What :func:`execute_direct` returns: the rows (plain tuples) and the rows affected."""

    rows: list[tuple[Any, ...]]
    rowcount: int


@dataclass(frozen=True)
class _Plan:
    statement: Select[Any] | UpdateBase  # held so its id stays unique while planned
    sql: str
    names: tuple[str, ...]
    required: frozenset[str]
    defaults: dict[str, Any]
    binders: tuple[Callable[[Any], Any] | None, ...]
    readers: tuple[Callable[[Any], Any] | None, ...]


_PLANS: dict[tuple[int, str], _Plan] = {}


def _plan(statement: Select[Any] | UpdateBase, dialect: Dialect) -> _Plan:
    key = (id(statement), dialect.name)
    plan = _PLANS.get(key)
    if plan is not None and plan.statement is statement:
        return plan
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    if "POSTCOMPILE" in compiled.string or (compiled.binds and not names):
        raise InvalidInput(f"execute_direct cannot run this statement: {compiled.string}")
    binds = compiled.binds
    plan = _Plan(
        statement=statement,
        sql=compiled.string,
        names=names,
        required=frozenset(n for n in names if binds[n].required),
        defaults={n: binds[n].value for n in names},
        binders=tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names),
        readers=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.exported_columns
        ),
    )
    _PLANS[key] = plan
    return plan


def execute_direct(
    conn: Connection, statement: Select[Any] | UpdateBase, params: Mapping[str, Any]
) -> Direct:
    """Run a statement built once (with ``bindparam`` names) inside ``conn``'s transaction.

    On SQLite it runs on the driver's cursor: the SQL is compiled once per statement, and the
    parameters and results pass through the same type conversions SQLAlchemy would apply.
    Elsewhere it is ``conn.execute``. Rows come back as plain tuples.
    """
    if conn.dialect.name != "sqlite":
        result = conn.execute(statement, dict(params))
        found = [tuple(row) for row in result] if result.returns_rows else []
        return Direct(found, result.rowcount)
    driver = conn.connection.driver_connection
    return _run_plan(driver, _plan(statement, conn.dialect), params)


def _run_plan(driver: Any, plan: _Plan, params: Mapping[str, Any]) -> Direct:
    args = []
    for name, bind in zip(plan.names, plan.binders, strict=True):
        value = params[name] if name in plan.required else params.get(name, plan.defaults[name])
        args.append(value if bind is None else bind(value))
    cursor = driver.execute(plan.sql, args)
    rows: list[tuple[Any, ...]] = cursor.fetchall() if cursor.description else []
    if rows and any(plan.readers):
        rows = [
            tuple(v if read is None else read(v) for v, read in zip(row, plan.readers, strict=True))
            for row in rows
        ]
    return Direct(rows, cursor.rowcount)


class _Idle:
    """Open SQLAlchemy connections of one kind (reads or writes) between two uses.

    A connection comes back only when it is clean: no transaction left open, not invalidated,
    and with the execution options it was made with (a caller may have changed them in place).
    Anything else is closed. At most ``keep`` wait; the rest go back to the pool.
    """

    def __init__(self, engine: Engine, *, keep: int, immediate: bool) -> None:
        self.engine = engine
        self.keep = keep
        self.immediate = immediate
        self._conns: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._options: Mapping[str, Any] | None = None

    def take(self) -> Connection:
        with self._lock:
            if self._conns:
                return self._conns.pop()
        conn = self.engine.connect()
        if self.immediate:
            conn = conn.execution_options(sqlite_immediate=True)
        if self._options is None:
            self._options = conn.get_execution_options()
        return conn

    def give_back(self, conn: Connection) -> None:
        clean = (
            not conn.closed
            and not conn.invalidated
            and not conn.in_transaction()
            and conn.get_execution_options() == self._options
        )
        if clean:
            with self._lock:
                if not self._closed and len(self._conns) < self.keep:
                    self._conns.append(conn)
                    return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
            self._closed = True
        for conn in conns:
            conn.close()


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


@contextmanager
def _in_range() -> Iterator[None]:
    """A number SQLite cannot hold (past 64 bits) is the caller's mistake, not a crash."""
    try:
        yield
    except OverflowError as exc:
        raise _out_of_range(exc) from exc


def _out_of_range(exc: OverflowError) -> InvalidInput:
    return InvalidInput(
        f"a number is out of the database's range (integers must fit in 64 bits): {exc}"
    )


class Checkpointer:
    """A thread that checkpoints a SQLite file's write-ahead log every ``interval`` seconds.

    ``PASSIVE`` checkpoints never wait for readers or writers; they copy what they can and
    fsync the database here, off every request's path. Stops with :meth:`stop`.
    """

    def __init__(self, path: str, *, interval: float, busy_timeout_ms: int) -> None:
        self.path = path
        self.interval = interval
        self.busy_timeout_ms = busy_timeout_ms
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="labelkitchen-checkpoint", daemon=True
        )

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            while not self._stop.wait(self.interval):
                try:
                    busy, log_pages, _ = connection.execute(
                        "PRAGMA wal_checkpoint(PASSIVE)"
                    ).fetchone()
                except sqlite3.Error as exc:  # a locked or busy file: try again next time
                    logger.debug("checkpoint of %s skipped: %s", self.path, exc)
                    continue
                if log_pages > 0 and not busy:
                    self.checkpoints += 1
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


class Store:
    """A database handle: the engine plus the settings it was opened with.

    Cheap to build in tests (``Store.open("sqlite:///" + str(tmp_path / "t.db"))``). Query
    functions in :mod:`labelkitchen.store.queries` take a ``Connection`` from :meth:`read` or
    :meth:`write`.
    """

    def __init__(self, engine: Engine, *, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        sqlite = engine.dialect.name == "sqlite" and engine.url.database not in (
            None,
            "",
            ":memory:",
        )
        # One writer at a time on SQLite: queue here rather than in SQLite's busy handler.
        self._write_lock = threading.RLock() if engine.dialect.name == "sqlite" else None
        self._readers = _Idle(engine, keep=IDLE_READERS, immediate=False) if sqlite else None
        self._writers = _Idle(engine, keep=IDLE_WRITERS, immediate=True) if sqlite else None
        self._sqlite_file = engine.url.database if sqlite else None
        self._checkpointer: Checkpointer | None = None

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

    def fetch(self, statement: Select[Any], **params: Any) -> list[tuple[Any, ...]]:
        """The rows of one read built once (see :func:`execute_direct`), as plain tuples.

        One statement is its own snapshot, so on SQLite it runs on an idle connection's driver
        with no transaction around it: the lookups every API request makes (its token, its
        project) cost the statement and little else.
        """
        readers = self._readers
        if readers is None:
            with self.read() as conn:
                return execute_direct(conn, statement, params).rows
        plan = _plan(statement, self.engine.dialect)
        conn = readers.take()
        try:
            return _run_plan(conn.connection.driver_connection, plan, params).rows
        except OverflowError as exc:
            raise _out_of_range(exc) from exc
        finally:
            readers.give_back(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (a consistent snapshot)."""
        with _in_range(), self._connection(self._readers, immediate=False) as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction: committed on success, rolled back on error."""
        lock = self._write_lock
        # Past the busy timeout, go on without the lock: SQLite's own timeout then decides.
        held = lock is not None and lock.acquire(
            timeout=self.settings.sqlite_busy_timeout_ms / 1000
        )
        try:
            with (
                _in_range(),
                self._connection(self._writers, immediate=True) as conn,
                conn.begin(),
            ):
                yield conn
        finally:
            if held and lock is not None:
                lock.release()

    @contextmanager
    def _connection(self, idle: _Idle | None, *, immediate: bool) -> Iterator[Connection]:
        """An idle connection of this kind (SQLite files), else one from the pool."""
        if idle is None:
            with self.engine.connect() as conn:
                yield conn.execution_options(sqlite_immediate=True) if immediate else conn
            return
        conn = idle.take()
        try:
            yield conn
        finally:
            idle.give_back(conn)

    def start_checkpointer(self, *, interval: float = 0.5) -> Checkpointer | None:
        """Checkpoint the write-ahead log from a background thread (SQLite files; a server
        calls this at start-up). Returns the running checkpointer, or ``None`` where there is
        nothing to do (PostgreSQL, in-memory SQLite). Idempotent; :meth:`close` stops it."""
        if self._sqlite_file is None:
            return None
        if self._checkpointer is None:
            self._checkpointer = Checkpointer(
                self._sqlite_file,
                interval=interval,
                busy_timeout_ms=self.settings.sqlite_busy_timeout_ms,
            ).start()
        return self._checkpointer

    def stop_checkpointer(self) -> None:
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stop()

    def close(self) -> None:
        self.stop_checkpointer()
        for idle in (self._readers, self._writers):
            if idle is not None:
                idle.close()
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "Direct",
    "Store",
    "create_store_engine",
    "current_revision",
    "downgrade",
    "execute_direct",
    "head_revision",
    "normalize_url",
    "upgrade",
]
