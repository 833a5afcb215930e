"""``tocsin up``'s checks before it starts anything, and its API token file."""

from __future__ import annotations

import os
import shutil
import socket
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from playbooks.base import DEFAULT_DIR
from testkit.processes import free_port
from tocsin.cli import app
from tocsin.settings import Settings
from tocsin.up import Stack, _banner, busy_ports, ensure_token

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TOCSIN_API_TOKEN", "TOCSIN_DATA_DIR", "TOCSIN_PLAYBOOKS_DIR", "TOCSIN_API_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_token_is_generated_private_and_kept_across_starts(tmp_path: Path) -> None:
    first = ensure_token(tmp_path)
    path = tmp_path / "api-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 40
    assert ensure_token(tmp_path) == first
    assert path.read_text(encoding="utf-8").strip() == first


def test_empty_token_file_is_replaced_by_a_fresh_token(tmp_path: Path) -> None:
    (tmp_path / "api-token").write_text("\n", encoding="utf-8")
    token = ensure_token(tmp_path)
    assert token
    assert (tmp_path / "api-token").read_text(encoding="utf-8").strip() == token


def test_busy_ports_finds_a_listening_port_only() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        assert busy_ports("127.0.0.1", [taken, free_port()]) == [taken]


def test_up_with_a_broken_playbook_dir_names_the_problem_and_starts_nothing(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, broken, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (broken / "roster.yaml").unlink()
    level_a = broken / "level-a.yaml"
    level_a.write_text(
        level_a.read_text(encoding="utf-8").replace(
            "response_window: 15m", "response_window: soon"
        ),
        encoding="utf-8",
    )
    data_dir = tmp_path / "data"

    result = runner.invoke(app, ["up", "--playbooks", str(broken), "--data-dir", str(data_dir)])

    assert result.exit_code == 2
    problems = result.stderr.splitlines()[1:]
    assert len(problems) == 2
    assert problems[0].startswith(f"  {level_a}: response_window: ")
    assert problems[1] == f"  {broken / 'roster.yaml'}: file is missing"
    assert not data_dir.exists()


def test_up_refuses_a_port_in_use_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        data_dir = tmp_path / "data"

        result = runner.invoke(app, ["up", "--api-port", str(port), "--data-dir", str(data_dir)])

    assert result.exit_code == 2
    assert f"port(s) already in use: {port}" in result.stderr
    assert not data_dir.exists()


ROOT = Path(__file__).resolve().parents[2]


def _readme_banner() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```\ntocsin is up\n") + 4
    return text[start : text.index("\n```", start)]


def test_the_banner_shows_where_the_token_is_and_its_start_only_as_the_readme_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in os.environ if n.startswith("TOCSIN_")]:
        monkeypatch.delenv(name)
    token = "UcYpDyp5" + "x" * 35  # as secrets.token_urlsafe(32) makes them
    # The README's machine has two cores: one worker each (the default).
    settings = Settings(data_dir=ROOT / ".tocsin", playbooks_dir=ROOT / "playbooks", workers=2)
    stack = Stack(settings, 7233, Path("temporal"))

    banner = _banner(stack, token)

    assert token not in banner
    assert banner.strip("\n").replace(str(ROOT), "/path/to/tocsin") == _readme_banner()


def test_processes_up_starts_use_the_allocator_settings_unless_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    stack = Stack(Settings(data_dir=tmp_path), 7233, Path("temporal"))
    env = stack._child_env()
    # Two glibc arenas (ADR 0035); Python's objects from glibc, whose free pages the
    # worker's trimmer gives back (ADR 0039).
    assert (env["MALLOC_ARENA_MAX"], env["PYTHONMALLOC"]) == ("2", "malloc")
    monkeypatch.setenv("PYTHONMALLOC", "pymalloc")
    assert stack._child_env()["PYTHONMALLOC"] == "pymalloc"
