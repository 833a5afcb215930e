"""``tocsin oncall``, ``tocsin schedules`` and ``tocsin override`` against the served API."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner, Result

from tests.api.conftest import TOKEN
from tocsin.cli import app


async def tocsin(served: str, *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, app, ["--api-url", served, "--token", TOKEN, *args]
    )


async def test_who_is_on_call_and_an_override_from_the_terminal(scheduled_served: str) -> None:
    served = scheduled_served
    shown = await tocsin(served, "oncall", "--at", "2030-01-08T11:00+01:00")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].split() == ["FUNCTION", "TIER", "ON", "CALL", "SOURCE", "UNTIL", "(UTC)"]
    assert lines[1].split() == [
        "technical_support", "primary", "Ada", "Okafor", "rotation", "(support)",
        "2030-01-08", "17:00:00",
    ]  # fmt: skip
    assert lines[2].split() == ["technical_support", "secondary", "Ben", "Lindqvist", "roster", "-"]

    added = await tocsin(
        served, "override", "add", "support", "--person", "Ben Lindqvist",
        "--start", "2030-01-08T10:00+01:00", "--end", "2030-01-08T13:00+01:00",
        "--by", "Chen Wei", "--reason", "dentist",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    number = added.output.split()[1].rstrip(":")
    assert added.output.strip() == (
        f"override {number}: Ben Lindqvist covers support from 2030-01-08 09:00:00 until "
        "2030-01-08 12:00:00 UTC, arranged by Chen Wei (dentist)"
    )
    listed = await tocsin(served, "override", "list", "support")
    assert listed.output.strip() == added.output.strip()

    shifts = await tocsin(
        served, "schedules", "shifts", "support",
        "--since", "2030-01-08T08:00Z", "--until", "2030-01-08T13:00Z",
    )  # fmt: skip
    assert shifts.exit_code == 0, shifts.output
    assert [line.split() for line in shifts.output.splitlines()[1:]] == [
        ["2030-01-07", "22:00:00", "2030-01-08", "09:00:00", "Ada", "Okafor", "rotation", "weekly"],
        ["2030-01-08", "09:00:00", "2030-01-08", "12:00:00", "Ben", "Lindqvist", "override",
         "override", number],
        ["2030-01-08", "12:00:00", "2030-01-08", "17:00:00", "Ada", "Okafor", "rotation", "weekly"],
    ]  # fmt: skip

    removed = await tocsin(served, "override", "remove", "support", number, "--by", "Chen Wei")
    assert removed.output.strip() == f"override {number} of support removed"
    gone = await tocsin(served, "override", "remove", "support", number)
    assert gone.exit_code == 1
    assert f"no override {number} of 'support'" in gone.output
    bad = await tocsin(
        served, "override", "add", "nights", "--person", "Ben Lindqvist",
        "--start", "2030-01-08T10:00+01:00", "--end", "2030-01-08T11:00+01:00",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "no schedule 'nights'" in bad.output
    backwards = await tocsin(
        served, "override", "add", "support", "--person", "Ben Lindqvist",
        "--start", "2030-01-08T10:00+01:00", "--end", "2030-01-08T09:00+01:00",
    )  # fmt: skip
    assert backwards.exit_code == 1
    assert "end must be after start" in backwards.output
