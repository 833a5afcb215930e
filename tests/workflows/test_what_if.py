"""``tocsin playbooks what-if``: incidents from the records replayed under the playbooks in
force and under candidate ones, side by side."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from domain.models import Actor, Declaration, IncidentType, Level
from playbooks.base import DEFAULT_DIR
from testkit.waiting import eventually
from tests.conftest import Stack
from tocsin.cli import app

BEN = Actor(name="Ben Lindqvist")
ADA = Actor(name="Ada Okafor")


def candidate_dir(tmp_path: Path) -> Path:
    """Today's playbooks, but level B pages the secondary at +15m instead of +10m."""
    candidate = tmp_path / "candidate"
    shutil.copytree(DEFAULT_DIR, candidate)
    level_b = candidate / "level-b.yaml"
    text = level_b.read_text()
    assert "  - after: 10m\n    page: [secondary]" in text
    level_b.write_text(
        text.replace(
            "  - after: 10m\n    page: [secondary]", "  - after: 15m\n    page: [secondary]"
        )
    )
    return candidate


async def record_two_incidents(stack: Stack) -> None:
    """Ben (the secondary) acknowledges a level-B outage at +12m; Ada a level-C one at +2m."""
    b = await stack.service.declare(
        Declaration(
            title="Checkout 5xx",
            level=Level.B,
            type=IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="Alertmanager"),
        )
    )
    await stack.env.sleep(timedelta(minutes=12))
    # Stamped at +12m exactly: the server's clock runs on between the sleep and the call,
    # a second or more on a busy machine, and the README's report shows the offset.
    await stack.service.acknowledge(b.id, BEN, acted_at=b.declared_at + timedelta(minutes=12))
    await stack.env.sleep(timedelta(minutes=28))
    await stack.service.resolve(b.id, BEN)
    c = await stack.service.declare(
        Declaration(
            title="Support chat slow",
            level=Level.C,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=ADA,
        )
    )
    await stack.env.sleep(timedelta(minutes=2))
    await stack.service.acknowledge(c.id, ADA)
    await stack.env.sleep(timedelta(minutes=8))
    await stack.service.resolve(c.id, ADA)

    async def recorded() -> bool:
        found = await stack.store.incidents_by_id([b.id, c.id])
        return len(found) == 2 and all(i.resolved_at is not None for i in found.values())

    await eventually(recorded)


async def what_if(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> Result:
    monkeypatch.setenv("TOCSIN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    monkeypatch.setenv("TOCSIN_PLAYBOOKS_DIR", str(DEFAULT_DIR))
    return await asyncio.to_thread(
        CliRunner().invoke, app, ["playbooks", "what-if", *args], catch_exceptions=False
    )


async def test_a_later_secondary_step_would_have_breached_bens_incident(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await record_two_incidents(stack)
    candidate = candidate_dir(tmp_path)
    since = ((await stack.env.get_current_time()) - timedelta(days=1)).isoformat()
    out = tmp_path / "report.json"

    result = await what_if(
        monkeypatch,
        tmp_path,
        "--playbooks",
        str(candidate),
        "--since",
        since[:19],
        "--out",
        str(out),
    )

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert [row["level"] for row in report["incidents"]] == ["B", "C"]
    b = report["incidents"][0]
    assert (
        b["today"]["acknowledged_within_window"],
        b["candidate"]["acknowledged_within_window"],
    ) == (True, False)
    assert (b["today"]["breaches"], b["candidate"]["breaches"]) == (0, 1)
    assert b["today"]["acks_not_given"] == []
    assert b["candidate"]["acks_not_given"] == [
        "Ben Lindqvist acknowledged at +12m, but was not paged by then: counted as not given"
    ]
    assert [(p["who"], p["at_seconds"]) for p in b["today"]["paged"]] == [
        ("Ada Okafor", 0),
        ("Ben Lindqvist", 600),
    ]
    totals = report["totals"]
    assert (totals["today"]["breaches"], totals["candidate"]["breaches"]) == (0, 1)
    assert totals["today"]["incidents"] == totals["candidate"]["incidents"] == 2
    assert (
        "candidate: Ben Lindqvist acknowledged at +12m, but was not paged by then" in result.output
    )
    assert "Totals over 2 incident(s)" in result.output


async def test_a_range_without_incidents_says_so(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await what_if(
        monkeypatch,
        tmp_path,
        "--playbooks",
        str(DEFAULT_DIR),
        "--since",
        "2020-01-01",
        "--until",
        "2020-02-01",
        "--level",
        "A",
    )

    assert result.exit_code == 1
    assert result.output.strip() == (
        "nothing to replay: since 2020-01-01 00:00 until 2020-02-01 00:00, level A: "
        "no incidents recorded"
    )


async def test_candidate_playbooks_that_do_not_validate_are_refused_before_any_replay(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidate = candidate_dir(tmp_path)
    (candidate / "level-a.yaml").write_text("level: A\nresponse_window: soon\n")

    result = await what_if(
        monkeypatch, tmp_path, "--playbooks", str(candidate), "--since", "2020-01-01"
    )

    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{candidate}: refused before replaying anything: ")
    assert any("level-a.yaml: response_window" in line for line in lines[1:]), result.output
