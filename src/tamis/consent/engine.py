"""Where the registry lives: database URLs, and engines set up for durable, serialised writes.

``--db`` / ``TAMIS_DB`` take a SQLAlchemy URL or a plain file path (``x.db`` means
``sqlite:///x.db``); the default is ``./.tamis/registry.db``. ``postgresql://`` and ``postgres://``
URLs use psycopg 3 (``postgresql+psycopg://``).

SQLite is set up for durability of acknowledged writes: WAL journal, ``synchronous=FULL`` (the WAL
is synced at every commit, so a write the API has acknowledged survives a power loss, not only a
process crash; ``NORMAL`` would risk the last transactions), and a busy timeout so that concurrent
writers wait for each other instead of failing. tamis emits ``BEGIN`` itself: ``BEGIN IMMEDIATE``
for writes (the write lock is taken up front, so a writer never has to give up half-way) and a
plain ``BEGIN`` for reads (one consistent snapshot per read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url

from tamis.errors import RegistryError

DEFAULT_BUSY_TIMEOUT_S = 30.0
# Page cache per SQLite connection: index inserts of a large import touch pages all over the
# indexes; SQLite's default 2 MiB makes them go to the OS for each one.
SQLITE_CACHE_KIB = 64 * 1024
# Execution option that marks a connection as a writer (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "tamis_write"


def display_url(url: str | URL) -> str:
    """The URL with its password masked, fit for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for an in-memory database)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_registry_engine(url: str, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    """An engine for the registry at ``url`` (SQLite or PostgreSQL), set up as described above."""
    shown = display_url(url)
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise RegistryError(
            f"{shown} is neither a database URL nor a file path "
            "(write e.g. .tamis/registry.db or postgresql://user@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_s)
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = max(1, round(busy_timeout_s))
        try:
            return sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
        except ImportError as exc:
            raise RegistryError(
                f"cannot use {shown}: {exc}; install the PostgreSQL driver with "
                "`pip install 'tamis[postgres]'`"
            ) from None
    raise RegistryError(
        f"the consent registry supports SQLite and PostgreSQL, not {backend!r} ({shown})"
    )


def _sqlite_engine(url: URL, busy_timeout_s: float) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(f"cannot create the folder of {path}: {exc.strerror}") from None
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout_s})
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # tamis emits BEGIN itself (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            cursor.execute("PRAGMA temp_store = MEMORY")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
