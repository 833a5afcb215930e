"""Records databases for tests: SQLite files with the newest schema, without migrating each.

Running the alembic migrations was a tenth of the CPU of a test that opens a worker; a test
process migrates one template file once and copies it for every test that asks. The
migrations themselves are tested on their own (``tests/records/test_migrate.py``), and the
stores of ``tests/records`` migrate as before, on SQLite and PostgreSQL."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from adapters.records import migrate

_template: Path | None = None


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def migrated_sqlite(path: Path) -> str:
    """The URL of a new SQLite records database at ``path``, already at the newest schema."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="tocsin-records-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        await migrate(sqlite_url(folder / "records.db"))
        _template = folder / "records.db"
    shutil.copyfile(_template, path)
    return sqlite_url(path)
