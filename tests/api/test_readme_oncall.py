"""The README's "On call" section: its schedules.yaml is the one the tests use, every command
it prints runs against the served API, and the output it shows is what the command prints."""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner, Result

from domain.oncall import Schedules
from testkit.oncall import SCHEDULES
from testkit.partners import PARTNER, STEP
from tests.api.conftest import TOKEN
from tocsin.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("\n## On call\n", 1)[1].split("\n## ", 1)[0]


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", _section(), flags=re.DOTALL)


async def tocsin(served: str, *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, app, ["--api-url", served, "--token", TOKEN, *args]
    )


def test_the_readme_schedule_is_the_tested_one() -> None:
    shown = Schedules.model_validate(yaml.safe_load(_blocks("yaml")[0]))
    assert shown == Schedules.model_validate(yaml.safe_load(SCHEDULES))


async def test_every_on_call_command_of_the_readme_runs(
    scheduled_served: str, tmp_path: Path
) -> None:
    (commands,) = _blocks("sh")
    for line in commands.strip().splitlines():
        args = shlex.split(line)
        assert args[0] == "tocsin"
        args = [str(tmp_path / "playbooks") if a == "playbooks/" else a for a in args[1:]]
        result = await tocsin(scheduled_served, *args)
        assert result.exit_code == 0, f"{line}\n{result.output}"
    (shown,) = re.findall(r"```\n(\$ tocsin oncall.*?)```", _section(), flags=re.DOTALL)
    command, _, output = shown.partition("\n")
    result = await tocsin(scheduled_served, *shlex.split(command)[2:])
    assert result.output == output, result.output


def test_the_readme_partner_is_the_tested_one() -> None:
    section = _section().split("\n### External partners\n", 1)[1]
    (shown,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    assert shown == f"# roster.yaml, under functions:\n{PARTNER}# level-a.yaml\n{STEP}"
