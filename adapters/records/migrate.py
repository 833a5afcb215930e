"""Schema migrations with alembic, run from code: no alembic.ini to ship or to find."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from adapters.records.engine import create_engine, writer

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Any constant shared by every tocsin process; it names the PostgreSQL advisory lock that
# serialises concurrent migrations (the worker and the API may start together).
_PG_LOCK_KEY = 7_263_301_001


async def migrate(url: str) -> None:
    """Bring the database to the newest schema; does nothing if it is already there.

    Safe to call from several processes at once: one migrates, the others then find the
    schema current. Runs in the caller's event loop (alembic gets a sync connection through
    ``run_sync``, as in alembic's asyncio cookbook recipe).
    """
    engine = create_engine(url)
    try:
        # On SQLite the write engine begins with BEGIN IMMEDIATE, which serialises migrators.
        async with writer(engine).begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                )
            else:
                # SQLite's BEGIN goes with a transaction's first statement (``sqlite_driver``):
                # the lock is taken here, before alembic runs, since alembic's environment is
                # global to the process and two migrations in one process must not interleave.
                await conn.execute(text("SELECT 1"))
            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
