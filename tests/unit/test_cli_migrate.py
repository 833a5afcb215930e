"""``tocsin migrate``: the one-off schema step before workers and API replicas start."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tocsin.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOCSIN_DATA_DIR", "TOCSIN_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_migrate_creates_the_sqlite_records_in_a_new_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "fresh" / "data"
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(data_dir))

    first = runner.invoke(app, ["migrate"])
    again = runner.invoke(app, ["migrate"])

    assert (first.exit_code, again.exit_code) == (0, 0), first.output + again.output
    with sqlite3.connect(data_dir / "tocsin.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "alembic_version" in tables


def test_migrate_failure_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'records.db'}"
    monkeypatch.setenv("TOCSIN_DATABASE_URL", url)

    result = runner.invoke(app, ["migrate"])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: the records migration failed: (sqlite3.OperationalError) "
        "unable to open database file"
    ]
