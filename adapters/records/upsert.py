"""The dialect-specific pieces every records writer needs."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, Table, alias
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(conn: AsyncConnection, table: Any) -> Any:
    """The dialect's INSERT, which has ON CONFLICT; the generic one does not."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"the records store supports sqlite and postgresql, not {dialect}")


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


def newer_wins(conn: AsyncConnection, table: Any, row: dict[str, Any]) -> Any:
    """INSERT ``row`` into a table of versioned documents keyed by ``id``; an existing row is
    replaced only by a newer ``version``, so a retried or late write never undoes a later one."""
    new = excluded(table)
    return (
        insert_for(conn, table)
        .values(row)
        .on_conflict_do_update(
            index_elements=[table.c.id],
            set_={c.name: new[c.name] for c in table.c if c.name != "id"},
            where=table.c.version < new.version,
        )
    )
