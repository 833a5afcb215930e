"""Migrations: repeatable, safe when several processes start at once, and in step with the
models the store uses."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from adapters.records import RecordsStore, migrate
from adapters.records.engine import create_engine
from adapters.records.tables import managed_by_sql, metadata
from tests.records.builders import event, incident


async def _schema_state(url: str) -> tuple[list[str], list[Any]]:
    def inspect(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"include_name": managed_by_sql})
        return list(compare_metadata(context, metadata))

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            versions = list(await conn.scalars(text("SELECT version_num FROM alembic_version")))
            differences = await conn.run_sync(inspect)
    finally:
        await engine.dispose()
    return versions, differences


async def test_migrating_twice_leaves_the_schema_at_head_matching_the_models(
    database_url: str,
) -> None:
    await migrate(database_url)
    await migrate(database_url)

    versions, differences = await _schema_state(database_url)
    assert versions == ["0012"]
    assert differences == []


async def test_migrating_again_keeps_the_records(database_url: str) -> None:
    await migrate(database_url)
    store = RecordsStore.from_url(database_url)
    try:
        await store.apply(incident("inc-1"), [event("inc-1", 1)])
        await migrate(database_url)

        assert await store.get_incident("inc-1") == incident("inc-1")
        assert len(await store.timeline("inc-1")) == 1
    finally:
        await store.close()


async def test_processes_migrating_a_fresh_database_at_once_all_succeed(
    database_url: str,
) -> None:
    # Without serialisation PostgreSQL can block here for good; make that a failure. A task
    # group cancels the others when one fails, so none outlives the test.
    async with asyncio.timeout(60), asyncio.TaskGroup() as group:
        for _ in range(4):
            group.create_task(migrate(database_url))

    versions, differences = await _schema_state(database_url)
    assert versions == ["0012"]
    assert differences == []


async def test_a_url_without_an_async_driver_gets_one(database_url: str) -> None:
    plain = database_url.replace("+aiosqlite", "").replace("+asyncpg", "")

    await migrate(plain)
    store = RecordsStore.from_url(plain)
    try:
        await store.apply(incident("inc-1"), [])
        assert await store.count_incidents() == 1
    finally:
        await store.close()


def test_an_unsupported_database_is_refused_without_revealing_the_password() -> None:
    with pytest.raises(ValueError, match="unsupported records database driver") as caught:
        RecordsStore.from_url("mysql+aiomysql://tocsin:s3cret@127.0.0.1/records")

    assert "s3cret" not in str(caught.value)
