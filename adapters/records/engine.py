"""Async engines for the records database, configured alike for the store and the migrations."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.records.sqlite_driver import Dbapi, begin

# Long enough to outlast any single write of ours; a writer that still cannot get the lock
# fails loudly and its activity is retried by Temporal.
SQLITE_BUSY_TIMEOUT_MS = 15_000

_WRITE_OPTION = "tocsin_write"

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    # Heroku-style and libpq URLs spell the scheme this way; SQLAlchemy no longer accepts it.
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> URL:
    """The URL with an async driver, so a plain ``sqlite:///`` or ``postgresql://`` works too."""
    parsed = make_url(url)
    if parsed.drivername in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[parsed.drivername])
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        # Only the scheme is named: the rest of the URL may carry a password.
        raise ValueError(
            f"unsupported records database driver {parsed.drivername!r}: "
            "use sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    return parsed


def create_engine(url: str) -> AsyncEngine:
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        # One trip to aiosqlite's thread per statement (``sqlite_driver``).
        engine = create_async_engine(parsed, module=Dbapi())
        _configure_sqlite(engine)
        return engine
    # Connections in the pool may outlive a database restart or failover.
    return create_async_engine(parsed, pool_pre_ping=True)


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, marked so that SQLite takes the write lock at BEGIN."""
    return engine.execution_options(**{_WRITE_OPTION: True})


def _switch_to_wal(cursor: Any) -> None:
    """On a database that is not yet in WAL mode the switch needs an exclusive lock, and SQLite
    answers "database is locked" at once, without waiting, when another connection is in a
    transaction (several processes migrating a fresh file together); WAL mode persists, so
    this only races on a new database. Retry until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite(engine: AsyncEngine) -> None:
    # The sqlite3 driver's legacy transaction handling neither begins a transaction for DDL
    # nor lets us choose BEGIN IMMEDIATE, so SQLAlchemy emits BEGIN itself (the recipe in
    # SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # busy_timeout first: switching to WAL needs a lock another connection may hold.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # WAL lets the API read while an activity writes.
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads before it writes cannot wait for the write lock
        # (SQLite answers SQLITE_BUSY at once), so writers take it up front.
        writes = conn.get_execution_options().get(_WRITE_OPTION)
        begin(conn.connection.dbapi_connection, "BEGIN IMMEDIATE" if writes else "BEGIN")
