"""``tocsin review``, ``tocsin action(s)`` and ``tocsin report`` against the real API served
on loopback: a review from draft to published and exported, and the report with its chart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner, Result

from testkit.waiting import eventually
from tests.api.conftest import TOKEN
from tests.api.messaging import Messaging, declare
from tocsin.cli import app


async def tocsin(served: str, *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, app, ["--api-url", served, "--token", TOKEN, *args]
    )


async def test_a_review_from_draft_to_exported_markdown_in_the_terminal(
    messaging: Messaging, served: str, tmp_path: Path
) -> None:
    m = messaging
    incident = await declare(m, level="B")
    await m.api.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Ada Okafor"})
    await m.api.post(f"/api/v1/incidents/{incident['id']}/resolve", json={"by": "Ada Okafor"})

    async def shown() -> Result | None:
        result = await tocsin(served, "review", "show", incident["id"])
        return result if result.exit_code == 0 else None

    first = await eventually(shown)
    assert "Ada Okafor" in first.output
    assert "(not written yet)" in first.output

    edited = await tocsin(
        served, "review", "edit", incident["id"],
        "--summary", "Checkout failed for 20 minutes.",
        "--root-cause", "A connection pool too small for the sale traffic.",
        "--why", "Checkouts timed out", "--why", "The pool was exhausted",
        "--lesson", "Load-test before sales", "--category", "capacity", "--ready",
        "--by", "Ada Okafor",
    )  # fmt: skip
    assert edited.exit_code == 0, edited.output
    assert "in review" in edited.output
    written = await tocsin(served, "review", "show", incident["id"])
    assert "\nRoot cause:\n  A connection pool too small for the sale traffic.\n" in written.output
    assert "  Category: capacity\n" in written.output  # as the export has it
    action = await tocsin(
        served, "review", "action", incident["id"], "--title", "Size the pool from load tests",
        "--owner", "Ben Lindqvist", "--due", "14d", "--priority", "high", "--by", "Ada Okafor",
    )  # fmt: skip
    assert action.exit_code == 0, action.output
    action_id = next(w for w in action.output.split() if w.startswith("a-"))

    published = await tocsin(served, "review", "publish", incident["id"], "--by", "Ada Okafor")
    assert published.exit_code == 0, published.output
    assert "published" in published.output
    found = await tocsin(served, "review", "search", "connection", "pools")
    assert f"r-{incident['id']}" in found.output
    out = tmp_path / "review.md"
    exported = await tocsin(served, "review", "export", incident["id"], "--out", str(out))
    assert exported.exit_code == 0, exported.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Post-incident review: Checkout failing")
    assert "1. Checkouts timed out" in text
    assert "| Size the pool from load tests | Ben Lindqvist |" in text

    listed = await tocsin(served, "actions")
    assert action_id in listed.output
    done = await tocsin(served, "action", "done", action_id, "--by", "Ben Lindqvist")
    assert done.exit_code == 0, done.output
    assert (await tocsin(served, "actions")).output.strip() == "no action items"
    refused = await tocsin(served, "review", "edit", incident["id"], "--summary", "x")
    assert refused.exit_code == 1
    assert "amendment" in refused.output


async def test_the_report_prints_its_table_bars_and_draws_a_chart(
    messaging: Messaging, served: str, tmp_path: Path
) -> None:
    m = messaging
    for level in ("A", "B"):
        incident = await declare(m, level=level)
        await m.api.post(f"/api/v1/incidents/{incident['id']}/ack", json={"by": "Ada Okafor"})

    async def counted() -> bool:
        rows = (await m.api.get("/api/v1/reports/response")).json()["items"]
        return bool(sum(r["acknowledged"] for r in rows) == 2)

    await eventually(counted)
    chart = tmp_path / "mtta.png"
    result = await tocsin(served, "report", "--chart", str(chart))

    assert result.exit_code == 0, result.output
    assert "LEVEL  MONTH" in result.output
    assert "Level A — mean time to acknowledge" in result.output
    assert "█" in result.output or "·" in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "mtta.svg"
    await tocsin(served, "report", "--chart", str(svg))
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    as_json = await tocsin(served, "--json", "report")
    assert {r["level"] for r in json.loads(as_json.output)["items"]} == {"A", "B"}
    quarterly = await tocsin(served, "report", "quarterly")
    assert quarterly.output.startswith("# Quarterly incident digest")
