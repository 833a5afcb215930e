"""Every command of the README's "Test your playbooks" section, run, and its output compared
with what the README shows (durations, incident ids and instants aside)."""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from playbooks.base import DEFAULT_DIR
from tests.conftest import Stack
from tests.workflows.test_what_if import candidate_dir, record_two_incidents
from tocsin.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Test your playbooks\n", 1)[1].split("\n## ", 1)[0]
    return [(kind, body) for kind, body in _BLOCK.findall(section)]


def normalised(text: str) -> list[str]:
    text = re.sub(r"\(\d+\.\ds\)", "(…s)", text)
    text = re.sub(r" in \d+\.\ds", " in …s", text)
    text = re.sub(r"\d{8}-[a-z0-9]{6}", "<incident>", text)
    text = re.sub(r"declared \d{4}-\d\d-\d\d \d\d:\d\dZ", "declared <when>", text)
    return [line.rstrip() for line in text.strip().splitlines()]


def run(console: str) -> tuple[int, list[str], list[str]]:
    """The block's command, run; its exit code, its output and the README's."""
    command, _, shown = console.partition("\n")
    args = shlex.split(command.removeprefix("$ "))
    assert args[0] == "tocsin"
    result = CliRunner().invoke(app, args[1:], catch_exceptions=False)
    return result.exit_code, normalised(result.output), normalised(shown)


def test_the_shipped_cases_pass_with_junit_as_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOCSIN_PLAYBOOKS_DIR", str(DEFAULT_DIR))
    case, console = blocks()[0][1], blocks()[1][1]
    shipped = (DEFAULT_DIR / "tests" / "acknowledgements.yaml").read_text(encoding="utf-8")
    assert case.split("\n", 1)[1] in shipped

    code, output, shown = run(console)

    assert code == 0
    assert output == shown
    junit = (tmp_path / "junit.xml").read_text()
    assert junit.count("<testcase ") == 14
    assert 'failures="0" errors="0"' in junit


def test_the_failing_case_fails_as_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOCSIN_PLAYBOOKS_DIR", str(DEFAULT_DIR))
    (kind, case), (_, console) = blocks()[2], blocks()[3]
    assert kind == "yaml"
    name, _, body = case.partition("\n")
    (tmp_path / name.removeprefix("# ")).write_text(body)

    code, output, shown = run(console)

    assert code == 1
    assert output == shown


async def test_the_what_if_report_is_the_readme_s(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await record_two_incidents(stack)
    candidate_dir(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOCSIN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    monkeypatch.setenv("TOCSIN_PLAYBOOKS_DIR", str(DEFAULT_DIR))

    code, output, shown = await asyncio.to_thread(run, blocks()[4][1])

    assert code == 0
    assert output == shown
    assert (tmp_path / "report.md").read_text().startswith("# What-if: candidate playbooks")
