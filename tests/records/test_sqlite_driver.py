"""The SQLite driver under the records (``adapters.records.sqlite_driver``): statements
answer as the DBAPI says, a writer holds the write lock from its transaction's first
statement, and a transaction costs one trip to the connection's thread per statement."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.records.engine import create_engine, writer


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(f"sqlite:///{tmp_path / 'driver.db'}")
    async with writer(made).begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
    try:
        yield made
    finally:
        await made.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The calls handed to a connection's thread, by function name."""
    made: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_rows_counts_and_ids_come_back_as_the_dbapi_gives_them(engine: AsyncEngine) -> None:
    async with writer(engine).begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('ada')"))
        assert inserted.lastrowid == 1
        await conn.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": "ben"}, {"name": "cy"}]
        )
        updated = await conn.execute(text("UPDATE t SET name = upper(name) WHERE id > 1"))
        assert updated.rowcount == 2
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(1, "ada"), (2, "BEN"), (3, "CY")]
        assert (await conn.execute(text("SELECT name FROM t WHERE id = 9"))).first() is None


async def test_a_failed_statement_rolls_its_transaction_back(engine: AsyncEngine) -> None:
    async def write_then_fail() -> None:
        async with writer(engine).begin() as conn:
            await conn.execute(text("INSERT INTO t (name) VALUES ('ada')"))
            await conn.execute(text("INSERT INTO missing VALUES (1)"))

    with pytest.raises(OperationalError, match="no such table"):
        await write_then_fail()
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_a_writer_holds_the_lock_from_its_first_statement_even_a_read(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """BEGIN IMMEDIATE goes with the first statement: a writer that reads first already
    holds the write lock, so another writer cannot slip in between its read and its write."""
    other = sqlite3.connect(tmp_path / "driver.db", timeout=0.1, isolation_level=None)
    try:
        async with writer(engine).begin() as conn:
            await conn.execute(text("SELECT count(*) FROM t"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the writer committed
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_read_takes_two_trips_and_a_write_one_per_statement_and_its_commit(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT * FROM t"))
    # BEGIN with the SELECT, then the rollback that ends the read.
    assert trips == ["_run", "rollback"]

    trips.clear()
    async with writer(engine).begin() as conn:
        await conn.execute(text("SELECT count(*) FROM t"))
        await conn.execute(text("INSERT INTO t (name) VALUES ('ada')"))
    assert trips == ["_run", "_run", "commit"]

    trips.clear()
    async with writer(engine).begin():
        pass
    assert trips == []


def test_a_database_that_cannot_be_opened_fails_the_command_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `tocsin migrate` does with a data directory that does not exist: one event loop,
    # closed as soon as the connect has failed. aiosqlite's connection thread used to report
    # its stop to that loop after it had closed, raising in the thread about one time in five.
    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))

    async def connect(engine: AsyncEngine) -> None:
        try:
            async with engine.connect():
                pass
        finally:
            await engine.dispose()

    for attempt in range(30):
        before = set(threading.enumerate())
        engine = create_engine(f"sqlite:///{tmp_path / 'missing' / f'{attempt}.db'}")
        with pytest.raises(OperationalError, match="unable to open database file"):
            asyncio.run(connect(engine))
        for thread in set(threading.enumerate()) - before:
            thread.join(timeout=5)

    assert raised == []
