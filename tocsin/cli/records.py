"""``tocsin records backup|restore``: the SQLite records database, copied page by page with
SQLite's online backup API, so a backup taken while tocsin runs is consistent.

PostgreSQL has its own tools for this (``pg_dump -Fc``, ``pg_restore``); the README's "Run in
production" shows them, and these commands say so rather than half-doing it.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli.base import app, fail
from tocsin.settings import Settings

records_app = typer.Typer(
    help="The records database (SQLite): backup and restore.", no_args_is_help=True
)
app.add_typer(records_app, name="records")

_POSTGRES_HINT = (
    "the records database is PostgreSQL: back it up with `pg_dump -Fc` and restore it with "
    "`pg_restore --clean --if-exists` (README: Run in production)"
)


@records_app.command("backup")
def backup(
    file: Annotated[Path, typer.Argument(help="the new backup file (never overwritten)")],
) -> None:
    """Copy the records to FILE; safe while tocsin runs."""
    live = _sqlite_file()
    if not live.is_file():
        fail(f"no records database at {live}: nothing to back up")
    if file.exists():
        fail(f"{file} exists: a backup never overwrites a file, name a new one")
    with closing(sqlite3.connect(live)) as source, closing(sqlite3.connect(file)) as target:
        source.backup(target)
        # One self-contained file: no -wal beside it to forget when it is copied away.
        target.execute("PRAGMA journal_mode = DELETE")
        incidents, version = _contents(target, file)
    typer.echo(f"backed up {incidents} incidents (schema {version}) to {file}")


@records_app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="a backup made by `tocsin records backup`")],
) -> None:
    """Replace the records with FILE's, then migrate them; stop tocsin first."""
    from adapters.records import migrate

    settings = Settings()
    live = _sqlite_file(settings)
    if not file.is_file():
        fail(f"{file}: no such file")
    try:
        with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as backup_db:
            incidents, version = _contents(backup_db, file)
    except sqlite3.DatabaseError as exc:
        fail(f"{file} is not a tocsin records backup: {exc}")
    newest = max(p.name[:4] for p in _migrations().glob("[0-9][0-9][0-9][0-9]_*.py"))
    if version > newest:
        fail(
            f"{file} has schema {version}, newer than this tocsin's {newest}: upgrade tocsin first"
        )
    live.parent.mkdir(parents=True, exist_ok=True)
    with _stack_stopped(settings.data_dir), closing(sqlite3.connect(file)) as source:
        with closing(sqlite3.connect(live)) as target:
            source.backup(target)
        asyncio.run(migrate(settings.resolved_database_url()))
    typer.echo(f"restored {incidents} incidents (schema {version}) from {file} into {live}")


def _sqlite_file(settings: Settings | None = None) -> Path:
    from sqlalchemy.engine import make_url

    settings = settings or Settings()
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() != "sqlite" or not url.database:
        fail(_POSTGRES_HINT)
    return Path(url.database)


def _contents(db: sqlite3.Connection, file: Path) -> tuple[int, str]:
    """How many incidents, and the schema version; fails unless it is tocsin's records."""
    try:
        (version,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
        (incidents,) = db.execute("SELECT count(*) FROM incidents").fetchone()
    except (sqlite3.OperationalError, TypeError):
        fail(f"{file} is not a tocsin records database (no schema version or incidents table)")
    return int(incidents), str(version)


def _migrations() -> Path:
    from adapters.records.migrate import MIGRATIONS_DIR

    return MIGRATIONS_DIR / "versions"


@contextmanager
def _stack_stopped(data_dir: Path) -> Iterator[None]:
    """Holds ``tocsin up``'s lock on the data directory: a running stack would keep writing to
    the records being replaced, and one started meanwhile would read half of them."""
    from tocsin.up import LOCK_FILE

    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            fail(f"tocsin is running on {data_dir} (pid {holder}): stop it, then restore")
        yield
    finally:
        os.close(fd)
