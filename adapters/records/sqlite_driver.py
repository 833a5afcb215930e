"""SQLAlchemy's aiosqlite adaptation, one trip to the connection's thread per statement (ADR 0033).

aiosqlite runs each call of the sqlite3 API in the connection's own thread and hands the
result back to the event loop. SQLAlchemy's adapted cursor makes four such calls for a query
(open a cursor, execute, fetch the rows, close) and three for a write. Each one is a queue
hand-off, a wake-up of the thread and a wake-up of the event loop through its self-pipe:
about half of the worker's records time in a storm went on these hand-offs, not on SQL
(`bench/ANALYSIS.md`, 2026-12-05). This cursor does the four in one function on the thread, and a
transaction's BEGIN goes with its first statement (``begin``).
The engine passes it in as the dialect's DBAPI module (``create_async_engine(module=…)``), so
the dialect and everything above it are SQLAlchemy's own.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any] | None, int, int | None]


def _run(
    conn: sqlite3.Connection, begin: str | None, operation: str, parameters: Any, many: bool
) -> _Outcome:
    """On the connection's thread: the transaction's BEGIN if it waits for its first
    statement, the statement, its rows and counts, the cursor closed."""
    cursor = conn.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor holding the outcome of its last statement; no driver cursor."""

    __slots__ = ("_description", "_lastrowid", "_rowcount", "arraysize")

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self.arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        return  # nothing held on the thread: the rows are here already

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._on_thread(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._on_thread(operation, seq_of_parameters, many=True)

    async def _on_thread(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: _Connection = self._adapt_connection  # type: ignore[assignment]
        async with adapted._execute_mutex:
            begin, adapted.begin_with = adapted.begin_with, None
            outcome: _Outcome = await connection._execute(  # type: ignore[no-untyped-call]
                _run, connection._conn, begin, operation, parameters, many
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows if rows is not None else ())

    def nextset(self) -> None:
        raise NotImplementedError("SQLite returns one result set per statement")


class _Connection(AsyncAdapt_aiosqlite_connection):
    """``begin_with``: the BEGIN of a transaction SQLAlchemy has begun, sent with its first
    statement; a transaction with none ends without a trip to the thread."""

    __slots__ = ("begin_with",)
    _cursor_cls = _Cursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.begin_with: str | None = None

    def rollback(self) -> None:
        if not self._nothing_to_end():
            super().rollback()

    def commit(self) -> None:
        if not self._nothing_to_end():
            super().commit()

    def _nothing_to_end(self) -> bool:
        """True when nothing is left to end: the transaction sent no statement, or SQLite
        is not in one (the pool's rollback after a commit): no trip to the thread."""
        pending, self.begin_with = self.begin_with is not None, None
        if pending or not self._connection._connection:
            return True
        return not self._connection._conn.in_transaction


class Dbapi(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy's dialect sees it, with the cursor above."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        connection = aiosqlite.connect(*arg, **kw)
        # As SQLAlchemy's own adaptation does: the thread must not keep the process alive.
        connection._thread.daemon = True
        try:
            return _Connection(self, await_(connection))
        except BaseException:
            # A connect that failed leaves aiosqlite stopping the thread, which then reports to
            # the event loop; a command that fails ends its loop at once (``asyncio.run``), and
            # a report to a closed loop raised in the thread (aiosqlite issue 241). The stop is
            # already queued and takes microseconds.
            connection._thread.join(timeout=5)
            raise


def begin(dbapi_connection: Any, statement: str) -> None:
    """Begin a transaction with ``statement`` (BEGIN or BEGIN IMMEDIATE) on a connection of
    this module: it is sent with the transaction's first statement."""
    if not isinstance(dbapi_connection, _Connection):
        raise TypeError(f"not a connection of {__name__}: {type(dbapi_connection).__name__}")
    dbapi_connection.begin_with = statement
