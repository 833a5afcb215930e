"""Pages go to whoever is on call when each is sent: the first page, escalation steps and
an override made while the incident is open; the timeline says which schedule chose them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.models import Actor, Declaration, EventKind, IncidentType, Level, NotificationKind
from testkit.oncall import scheduled_playbooks
from testkit.waiting import eventually
from tests.conftest import Stack, open_stack


@pytest.fixture
async def scheduled(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    """Technical support's primary and secondary tiers both held by the `support` schedule."""
    directory = scheduled_playbooks(tmp_path / "playbooks")
    roster = directory / "roster.yaml"
    text = roster.read_text(encoding="utf-8")
    roster.write_text(
        text.replace("secondary: [Ben Lindqvist]", "secondary: {schedule: support}"),
        encoding="utf-8",
    )
    async for opened in open_stack(ts_env, tmp_path, directory):
        yield opened


def _paged(stack: Stack, incident_id: str) -> list[tuple[str, str]]:
    return [
        (n.recipient.person.name, n.recipient.tier.value)
        for n in stack.notifier.sent
        if n.kind in (NotificationKind.PAGE, NotificationKind.ESCALATION)
        and n.incident.id == incident_id
        and n.recipient is not None
    ]


async def test_each_page_goes_to_whoever_holds_the_schedule_when_it_is_sent(
    scheduled: Stack,
) -> None:
    stack = scheduled
    start = await stack.env.get_current_time()
    morning = await stack.store.oncall.add_override(
        "support", "Ben Lindqvist", start - timedelta(hours=1), start + timedelta(minutes=3),
        "Chen Wei", "Ada travels", start,
    )  # fmt: skip
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=Actor(name="Alice"),
            service="checkout",
        )
    )
    await eventually(lambda: _paged(stack, incident.id) == [("Ben Lindqvist", "primary")])
    # Made while the incident is open: the next step (secondary, at 5m) goes to Chen.
    later = await stack.store.oncall.add_override(
        "support", "Chen Wei", start + timedelta(minutes=3), start + timedelta(hours=1),
        "Chen Wei", None, start,
    )  # fmt: skip
    await stack.env.sleep(timedelta(minutes=5, seconds=1))
    expected = [("Ben Lindqvist", "primary"), ("Chen Wei", "secondary")]
    await eventually(
        lambda: _paged(stack, incident.id) == expected,
        report=lambda: f"{[(n.kind, n.recipient) for n in stack.notifier.sent]}",
    )

    async def chosen() -> list[str]:
        return [e.text for e in await stack.store.timeline(incident.id)
                if e.kind is EventKind.ON_CALL]  # fmt: skip

    await eventually(lambda: _has_two(chosen))
    lines = await chosen()
    assert lines[0].startswith(
        f"Ben Lindqvist reached for technical_support primary: schedule support, override "
        f"{morning.id} until "
    )
    assert lines[1].startswith(
        f"Chen Wei reached for technical_support secondary: schedule support, override "
        f"{later.id} until "
    )


async def _has_two(lines: object) -> bool:
    assert callable(lines)
    return len(await lines()) == 2
