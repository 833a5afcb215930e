"""``tocsin drill`` and ``tocsin classify`` against the real API served on loopback: a routine
drill run, triaged, answered and reported in the terminal and to a Markdown file."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner, Result

from testkit.waiting import eventually
from tests.api.conftest import TOKEN
from tests.api.messaging import Messaging
from tocsin.cli import app


async def tocsin(served: str, *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, app, ["--api-url", served, "--token", TOKEN, *args]
    )


async def test_a_routine_drill_run_classified_and_reported_from_the_terminal(
    messaging: Messaging, served: str, tmp_path: Path
) -> None:
    m = messaging
    listed = await tocsin(served, "drill", "scenarios")
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line.split() for line in listed.output.splitlines()[1:]}
    assert rows["routine"][:2] == ["routine", "routine"]
    assert "Single-point service failure" in listed.output
    assert "0 10 1 * * (UTC)" in listed.output

    unknown = await tocsin(served, "drill", "run", "fire", "--by", "Jo Mbeki")
    assert unknown.exit_code == 1
    assert "known scenarios: comprehensive, integrated, routine" in unknown.output

    started = await tocsin(served, "drill", "run", "routine", "--by", "Jo Mbeki")
    assert started.exit_code == 0, started.output
    run_id = started.output.split()[1]
    assert started.output.startswith(f"DRILL {run_id} started; it ends by ")

    async def injected() -> str | None:
        found = (await m.api.get(f"/api/v1/drills/{run_id}")).json()["incidents"]
        return found[0] if found else None

    incident = await eventually(injected)
    wrong = await tocsin(
        served, "classify", incident, "--level", "a", "--type", "service_outage", "--by", "Ben"
    )
    assert wrong.exit_code == 0, wrong.output
    assert wrong.output.strip() == f"{incident} classified as level A service_outage by Ben"
    await m.stack.env.sleep(timedelta(minutes=3))
    await m.api.post(f"/api/v1/incidents/{incident}/ack", json={"by": "Ada Okafor"})
    await m.api.post(f"/api/v1/incidents/{incident}/resolve", json={"by": "Ada Okafor"})

    async def shown() -> Result | None:
        result = await tocsin(served, "drill", "show", run_id)
        return result if "NOT PASSED" in result.output else None

    shown_run = await eventually(shown)
    assert "classification accuracy  ≥ 95% of triage right" in shown_run.output
    assert "recovered within 90% of 1h (54m)" in shown_run.output
    out_of_range = await tocsin(
        served, "drill", "score", run_id, "--collaboration", "12", "--reputation", "0.9"
    )
    assert out_of_range.exit_code == 1
    assert "collaboration" in out_of_range.output

    report = tmp_path / "drill.md"
    written = await tocsin(served, "drill", "report", run_id, "--out", str(report))
    assert written.exit_code == 0, written.output
    text = report.read_text(encoding="utf-8")
    assert "- **Result:** not passed — 2 of 3 targets met" in text
    assert "| Ben | 0 | 1 | 0% |" in text
    runs = await tocsin(served, "drill", "list")
    assert run_id in runs.output
    assert "2/3" in runs.output
