"""The README's PostgreSQL backup and restore (``pg_dump -Fc``, ``pg_restore --clean``), run
as printed against the real PostgreSQL the records tests start: only ``docker compose exec``
is left out, the server's address coming from PGHOST and PGPORT as it would in the container."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.records import RecordsStore, migrate
from tests.readme import commands
from tests.records.builders import event, incident
from tests.records.conftest import PostgresServer, _postgres_bin_dir

pytestmark = pytest.mark.integration

IN_CONTAINER = "docker compose exec -T postgresql "


@pytest.fixture
def tocsin_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The database compose's tocsin uses: named `tocsin`, as the README's commands say."""
    asyncio.run(postgres_server._admin('CREATE DATABASE "tocsin"'))
    try:
        yield postgres_server.url("tocsin")
    finally:
        asyncio.run(postgres_server.drop_database("tocsin"))


def _run(line: str, server: PostgresServer, cwd: Path) -> None:
    env = {
        "PATH": f"{_postgres_bin_dir()}:/usr/bin:/bin",
        "PGHOST": server.host,
        "PGPORT": str(server.port),
        "HOME": str(cwd),
    }
    result = subprocess.run(
        ["/bin/bash", "-c", line.removeprefix(IN_CONTAINER)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"


def _write(url: str, *ids: str) -> None:
    async def write() -> None:
        await migrate(url)
        store = RecordsStore.from_url(url)
        try:
            for incident_id in ids:
                await store.apply(incident(incident_id), [event(incident_id, 1)])
        finally:
            await store.close()

    asyncio.run(write())


def _ids(url: str) -> list[str | None]:
    async def read() -> list[str | None]:
        store = RecordsStore.from_url(url)
        try:
            found = [await store.get_incident(i) for i in ("inc-1", "inc-2", "inc-3")]
            return [i.id if i is not None else None for i in found]
        finally:
            await store.close()

    return asyncio.run(read())


def test_the_readmes_pg_dump_and_pg_restore_bring_back_the_records(
    tocsin_database: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    lines = [line for line in commands("Run in production") if "postgresql pg_" in line]
    dump, restore = lines
    assert dump.startswith(IN_CONTAINER)
    assert restore.startswith(IN_CONTAINER)
    _write(tocsin_database, "inc-1", "inc-2")

    _run(dump, postgres_server, tmp_path)
    _write(tocsin_database, "inc-3")
    _run(restore, postgres_server, tmp_path)

    assert _ids(tocsin_database) == ["inc-1", "inc-2", None]
    assert os.path.getsize(tmp_path / "tocsin-records.dump") > 0
