"""The README's planned-maintenance commands and its curl of the Statuspage summary, run as
written against the real API served on loopback; and a bad window refused with the reason."""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path

from tests.api.messaging import Messaging
from tests.api.test_cli_drills import tocsin

README = Path(__file__).resolve().parents[2] / "README.md"
# The id the README's examples use; the test puts the one it was given in its place.
EXAMPLE_ID = "mnt-20261210-3fa9c1"
EXAMPLE_API = "http://127.0.0.1:8080"


def readme_commands(heading: str) -> list[list[str]]:
    """The commands of the section's shell block, as a shell would split them."""
    section = README.read_text(encoding="utf-8").split(f"## {heading}\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


async def test_the_readmes_maintenance_commands_schedule_list_move_and_cancel(
    messaging: Messaging, served: str
) -> None:
    schedule, listing, move, cancel = readme_commands("Planned maintenance")
    assert schedule[:3] == ["tocsin", "maintenance", "schedule"]

    scheduled = await tocsin(served, *schedule[1:])
    assert scheduled.exit_code == 0, scheduled.output
    window_id = scheduled.output.split()[1]
    assert window_id.startswith("mnt-")
    assert "(scheduled)" in scheduled.output
    assert "checkout, support-chat" in scheduled.output
    assert "(1h 30m)" in scheduled.output

    listed = await tocsin(served, *listing[1:])
    assert listed.exit_code == 0, listed.output
    header, row = listed.output.splitlines()
    assert header.split()[:3] == ["ID", "STATUS", "FROM"]
    assert row.split()[:2] == [window_id, "scheduled"]
    assert row.endswith("Database upgrade")
    none = await tocsin(served, "maintenance", "list", "--status", "completed")
    assert none.output.strip() == "no maintenance"

    moved = await tocsin(served, *[window_id if a == EXAMPLE_ID else a for a in move[1:]])
    assert moved.exit_code == 0, moved.output
    assert "(3h 0m)" in moved.output

    cancelled = await tocsin(served, *[window_id if a == EXAMPLE_ID else a for a in cancel[1:]])
    assert cancelled.exit_code == 0, cancelled.output
    assert "(cancelled)" in cancelled.output
    again = await tocsin(served, "maintenance", "cancel", window_id)
    assert again.exit_code == 1
    assert f"maintenance {window_id} is cancelled" in again.output
    assert messaging.declared == []


async def test_the_readmes_curl_reads_the_statuspage_summary(
    messaging: Messaging, served: str
) -> None:
    (curl,) = readme_commands("Status API")
    assert curl[0] == "curl"
    args = [a.replace(EXAMPLE_API, served) for a in curl]

    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    output, _ = await process.communicate()

    assert process.returncode == 0
    summary = json.loads(output)
    assert list(summary) == ["page", "status", "components", "incidents", "scheduled_maintenances"]
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}


async def test_a_bad_window_is_refused_with_the_reason(messaging: Messaging, served: str) -> None:
    unknown = await tocsin(
        served, "maintenance", "schedule", "--title", "x", "--body", "y",
        "--component", "mainframe", "--starts", "+1h", "--for", "1h",
    )  # fmt: skip
    backwards = await tocsin(
        served, "maintenance", "schedule", "--title", "x", "--body", "y",
        "--component", "checkout", "--starts", "+2h", "--ends", "+1h",
    )  # fmt: skip
    naive = await tocsin(
        served, "maintenance", "schedule", "--title", "x", "--body", "y",
        "--component", "checkout", "--starts", "2030-01-01T02:00", "--for", "1h",
    )  # fmt: skip

    assert unknown.exit_code == 1
    assert (
        "components: Value error, 'mainframe' is not a customer-visible service" in (unknown.output)
        or "'mainframe' is not a customer-visible service in the catalog" in unknown.output
    )
    assert backwards.exit_code == 1
    assert "ends_at must be after starts_at" in backwards.output
    assert naive.exit_code == 1
    assert "give its time zone" in naive.output
    assert (await messaging.api.get("/api/v1/maintenances")).json() == {"items": []}
