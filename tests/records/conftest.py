"""Records-store fixtures: a fresh database per test, on a SQLite file and on a throwaway
PostgreSQL cluster started from the installed server binaries."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.records import RecordsStore, migrate
from testkit.processes import free_port

PG_USER = "tocsin"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    async def create_database(self) -> str:
        name = f"records_{uuid.uuid4().hex}"
        await self._admin(f'CREATE DATABASE "{name}"')
        return name

    async def drop_database(self, name: str) -> None:
        await self._admin(f'DROP DATABASE "{name}" WITH (FORCE)')

    async def _admin(self, statement: str) -> None:
        # CREATE/DROP DATABASE cannot run inside a transaction.
        engine = create_async_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()


def _postgres_bin_dir() -> Path:
    candidates = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    if not candidates:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under "
            "/usr/lib/postgresql/*/bin: install them with `apt-get install -y postgresql` "
            "(the Makefile's test-deps target does this)"
        )
    return candidates[-1]


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster in a temporary directory on 127.0.0.1, stopped at session end.

    PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` OS user.
    """
    bin_dir = _postgres_bin_dir()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    # Not under pytest's basetemp: that is private to root and postgres could not enter it.
    base = Path(tempfile.mkdtemp(prefix="tocsin-pg-"))
    if as_root:
        shutil.chown(base, user="postgres", group="postgres")
    data, log = base / "data", base / "server.log"

    def run(*args: str) -> None:
        result = subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            server_log = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(
                f"{Path(args[0]).name} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{server_log}"
            )

    port = free_port()
    # A run stopped by SIGTERM (a CI cancel, `timeout`) would skip teardown and leave the
    # cluster running; pytest does run finalizers after an interrupt.
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-sync")  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} "
            # The socket stays in our directory, away from the system's /var/run/postgresql.
            f"-c unix_socket_directories={base} "
            # Durability is irrelevant for a cluster thrown away after the run.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
            "-w", "-t", "60", "start")  # fmt: skip
        try:
            yield PostgresServer(host="127.0.0.1", port=port, user=PG_USER)
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous_handler)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, not yet migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = await server.create_database()
    try:
        yield server.url(name)
    finally:
        await server.drop_database(name)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[RecordsStore]:
    """A store on a freshly migrated database."""
    await migrate(database_url)
    opened = RecordsStore.from_url(database_url)
    try:
        yield opened
    finally:
        await opened.close()
