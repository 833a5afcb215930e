"""On call from Slack: ``/incident oncall`` and ``/incident cover @person until …``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from testkit.fake_slack import FakeSlack
from testkit.oncall import scheduled_playbooks
from tests.slack.conftest import ADA, SlackStack, command, open_slack_stack, post_signed

BEN = "U0TECH002"


@pytest.fixture
async def scheduled(
    ts_env: WorkflowEnvironment, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[SlackStack]:
    directory = scheduled_playbooks(tmp_path / "pb")
    async for stack in open_slack_stack(ts_env, fake_slack, tmp_path, directory):
        yield stack


async def run(slack: SlackStack, text: str) -> str:
    response = await post_signed(slack, "/slack/commands", command(text, slack.announce, user=ADA))
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


async def test_cover_makes_an_override_that_oncall_then_shows(scheduled: SlackStack) -> None:
    covered = await run(scheduled, f"cover <@{BEN}|ben> until 8h")
    assert covered.startswith("Ben Lindqvist covers support from now until ")
    assert covered.endswith(", arranged by Ada Okafor).")
    (override,) = await scheduled.store.oncall.overrides("support")
    assert (override.person, override.by) == ("Ben Lindqvist", "Ada Okafor")
    assert abs((override.end - override.start).total_seconds() - 8 * 3600) < 1
    shown = await run(scheduled, "oncall")
    lines = shown.splitlines()
    assert lines[0] == "*On call now*"
    assert lines[1].startswith(
        "• technical support (primary): Ben Lindqvist (an override of support, until "
    )
    assert "• technical support (secondary): Ben Lindqvist" in lines
    (audit,) = await scheduled.store.tokens.audit_log()
    assert (audit.token, audit.person, audit.method, audit.status) == (
        "slack", "Ada Okafor", "SLACK", 201
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("cover Ben until 8h", "Usage: `/incident cover @person until <when>"),
        ("cover <@U0NOBODY1> until 8h", "<@U0NOBODY1> is not in the roster"),
        (f"cover <@{BEN}> until yesterday", "Not covered: 'yesterday' is not a time to come."),
        (f"cover <@{BEN}> until 8h on nights", "Name the schedule with `on <schedule>`"),
    ],
)
async def test_a_bad_cover_is_refused_and_changes_nothing(
    scheduled: SlackStack, text: str, answer: str
) -> None:
    assert (await run(scheduled, text)).startswith(answer)
    assert await scheduled.store.oncall.overrides() == []
