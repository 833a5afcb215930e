"""The dialect-specific pieces every records writer needs."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, Table, alias
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _dialect(conn: AsyncConnection) -> str:
    dialect = conn.dialect.name
    if dialect not in _INSERTS:
        raise ValueError(f"the records store supports sqlite and postgresql, not {dialect}")
    return dialect


def insert_for(conn: AsyncConnection, table: Any) -> Any:
    """The dialect's INSERT, which has ON CONFLICT; the generic one does not."""
    return _INSERTS[_dialect(conn)](table)


def locked(conn: AsyncConnection, query: Select[Any]) -> Select[Any]:
    """Read a row that this transaction will write: PostgreSQL locks it; SQLite's writers hold
    the database lock from BEGIN IMMEDIATE already."""
    return query.with_for_update() if conn.dialect.name == "postgresql" else query


@functools.cache
def excluded(table: Table) -> Any:
    """The row an ON CONFLICT clause would have inserted, as both dialects' ``excluded``
    names it: built once per table, not per statement (the dialects' ``Insert.excluded``
    copies every column of the table each time, a visible cost per write)."""
    return alias(table, name="excluded").columns


@functools.cache
def _newer_wins(dialect: str, table: Table) -> Any:
    new = excluded(table)
    return _INSERTS[dialect](table).on_conflict_do_update(
        index_elements=[table.c.id],
        set_={c.name: new[c.name] for c in table.c if c.name != "id"},
        where=table.c.version < new.version,
    )


def newer_wins(conn: AsyncConnection, table: Any) -> Any:
    """INSERT into a table of versioned documents keyed by ``id`` (the row is the execution's
    parameters); an existing row is replaced only by a newer ``version``, so a retried or late
    write never undoes a later one. One statement per dialect and table: built with its row
    as values, SQLAlchemy built it anew and derived its cache key from every value, each
    write."""
    return _newer_wins(_dialect(conn), table)


@functools.cache
def _keep_first(dialect: str, table: Table, keys: tuple[str, ...]) -> Any:
    return _INSERTS[dialect](table).on_conflict_do_nothing(
        index_elements=[table.c[k] for k in keys]
    )


def keep_first(conn: AsyncConnection, table: Any, *keys: str) -> Any:
    """INSERT the execution's rows; a row whose ``keys`` are taken already is left as it is.
    Built once per dialect, table and keys, like ``newer_wins``."""
    return _keep_first(_dialect(conn), table, keys)


@functools.cache
def _insert_or_set(
    dialect: str, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> Any:
    new = excluded(table)
    return _INSERTS[dialect](table).on_conflict_do_update(
        index_elements=[table.c[k] for k in keys], set_={c: new[c] for c in columns}
    )


def insert_or_set(conn: AsyncConnection, table: Any, keys: tuple[str, ...], *columns: str) -> Any:
    """INSERT the execution's row; when its ``keys`` are taken, that row's ``columns`` take
    the new values."""
    return _insert_or_set(_dialect(conn), table, keys, columns)
