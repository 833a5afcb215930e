"""``tocsin records backup|restore`` on SQLite: a backup taken from a live database brings the
records back as they were, and a restore refuses what would lose or corrupt them."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shlex
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from adapters.records import RecordsStore, migrate
from adapters.records.migrate import MIGRATIONS_DIR
from tests.readme import commands
from tests.records.builders import event, incident
from tocsin.cli import app
from tocsin.up import LOCK_FILE

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TOCSIN_DATABASE_URL", raising=False)
    directory = tmp_path / "data"
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(directory))
    monkeypatch.chdir(tmp_path)
    return directory


def _url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'tocsin.db'}"


def _record(data_dir: Path, *ids: str) -> None:
    async def write() -> None:
        await migrate(_url(data_dir))
        store = RecordsStore.from_url(_url(data_dir))
        try:
            for incident_id in ids:
                await store.apply(incident(incident_id), [event(incident_id, 1)])
        finally:
            await store.close()

    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(write())


def _incident_ids(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "tocsin.db") as db:
        return [row[0] for row in db.execute("SELECT id FROM incidents ORDER BY id")]


def _run(*args: str) -> Result:
    return runner.invoke(app, ["records", *args])


def test_the_readmes_backup_and_restore_bring_back_the_records_as_they_were(
    data_dir: Path,
) -> None:
    backup_line, restore_line = (
        line for line in commands("Run in production") if line.startswith("tocsin records")
    )
    _record(data_dir, "inc-1", "inc-2")

    made = runner.invoke(app, shlex.split(backup_line)[1:])
    _record(data_dir, "inc-3")
    restored = runner.invoke(app, shlex.split(restore_line)[1:])

    assert made.exit_code == 0, made.output
    schema = _newest_schema()
    assert made.stdout == f"backed up 2 incidents (schema {schema}) to tocsin-records.db\n"
    assert restored.exit_code == 0, restored.output
    assert restored.stdout == (
        f"restored 2 incidents (schema {schema}) from tocsin-records.db into {data_dir}/tocsin.db\n"
    )
    assert _incident_ids(data_dir) == ["inc-1", "inc-2"]


def test_a_backup_is_one_self_contained_file(data_dir: Path, tmp_path: Path) -> None:
    _record(data_dir, "inc-1")

    assert _run("backup", "copy.db").exit_code == 0

    assert sorted(p.name for p in tmp_path.glob("copy.db*")) == ["copy.db"]
    with sqlite3.connect(tmp_path / "copy.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_a_backup_never_overwrites_a_file(data_dir: Path, tmp_path: Path) -> None:
    _record(data_dir, "inc-1")
    (tmp_path / "kept.db").write_text("something else", encoding="utf-8")

    result = _run("backup", "kept.db")

    assert result.exit_code == 1
    assert "kept.db exists" in result.stderr
    assert (tmp_path / "kept.db").read_text(encoding="utf-8") == "something else"


def test_restore_refuses_a_file_that_is_not_a_records_backup(
    data_dir: Path, tmp_path: Path
) -> None:
    _record(data_dir, "inc-1")
    (tmp_path / "notes.txt").write_text("not a database at all", encoding="utf-8")
    with sqlite3.connect(tmp_path / "other.db") as other:
        other.execute("CREATE TABLE t (x)")

    for name in ("notes.txt", "other.db"):
        result = _run("restore", name)
        assert result.exit_code == 1
        assert f"{name} is not a tocsin records" in result.stderr
    assert _incident_ids(data_dir) == ["inc-1"]


def test_restore_refuses_while_tocsin_up_runs_on_the_data_directory(data_dir: Path) -> None:
    _record(data_dir, "inc-1")
    assert _run("backup", "b.db").exit_code == 0
    _record(data_dir, "inc-2")
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"4242")
        result = _run("restore", "b.db")
    finally:
        os.close(fd)

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: tocsin is running on {data_dir} (pid 4242): stop it, then restore\n"
    )
    assert _incident_ids(data_dir) == ["inc-1", "inc-2"]


def test_on_postgresql_the_commands_point_to_pg_dump(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOCSIN_DATABASE_URL", "postgresql+asyncpg://tocsin@db/tocsin")

    result = _run("backup", "x.db")

    assert result.exit_code == 1
    assert "pg_dump -Fc" in result.stderr


def _newest_schema() -> str:
    """The revision a fresh records database is migrated to: the newest migration's."""
    versions = MIGRATIONS_DIR / "versions"
    return max(p.name.split("_", 1)[0] for p in versions.glob("[0-9]*_*.py"))
