"""The drills' Temporal Schedules on a real dev server (the time-skipping server has no
schedules): created from the scenarios' calendars, listed, paused, unpaused, triggered."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from domain.drills import DrillRun, DrillStatus
from domain.errors import DrillNotFound
from domain.models import Actor
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_scenarios
from playbooks.roster import RosterSource
from testkit.waiting import eventually
from tests.conftest import Stack
from workflows.drills.client import DrillService

JO = Actor(name="Jo Mbeki")


async def test_schedules_are_created_listed_paused_unpaused_and_triggered(
    dev_stack: Stack,
) -> None:
    drills = DrillService(
        dev_stack.client,
        dev_stack.task_queue,
        dev_stack.store,
        dev_stack.playbooks,
        load_scenarios(),
        RosterSource(DEFAULT_DIR),
    )
    now = datetime.now(UTC)
    try:
        routine = await drills.schedule("routine", now, by=JO)
        assert (routine.cron, routine.timezone, routine.jitter) == (
            "0 10 1 * *",
            "UTC",
            timedelta(minutes=30),
        )
        assert not routine.paused
        # The first of next month at 10:00, give or take the jitter.
        first = routine.next_runs[0]
        assert first.day == 1
        assert (
            timedelta(hours=10)
            <= first - first.replace(hour=0, minute=0, second=0)
            <= (timedelta(hours=10, minutes=30))
        )
        berlin = await drills.schedule(
            "integrated", now, cron="30 9 * * 1", timezone="Europe/Berlin", by=JO
        )
        assert (berlin.cron, berlin.timezone) == ("30 9 * * 1", "Europe/Berlin")
        assert berlin.next_runs[0].astimezone(UTC).weekday() == 0  # a Monday
        assert [s.scenario for s in await drills.schedules()] == ["integrated", "routine"]

        paused = await drills.pause("routine", JO)
        assert paused.paused
        assert paused.note == "paused by Jo Mbeki"
        # Re-created with another calendar, a paused schedule stays paused.
        moved = await drills.schedule("routine", now, cron="0 11 2 * *", by=JO)
        assert moved.paused
        assert moved.cron == "0 11 2 * *"
        resumed = await drills.unpause("routine", JO)
        assert not resumed.paused

        await drills.trigger("routine")

        async def started() -> DrillRun | None:
            runs = await dev_stack.store.drills.runs(scenario="routine")
            return runs[0] if runs and runs[0].incidents else None

        run = await eventually(started, within=30)
        assert run.started_by == "schedule"
        assert run.status is DrillStatus.RUNNING
        assert run.workflow_id.startswith("drill-routine-scheduled")
        incident = await eventually(lambda: dev_stack.store.get_incident(run.incidents[0]))
        assert incident.drill
        assert (await drills.describe("routine")).runs_so_far == 1
        await dev_stack.client.get_workflow_handle(run.workflow_id).terminate("test over")
    finally:
        for name in ("routine", "integrated"):
            with contextlib.suppress(DrillNotFound):
                await drills.unschedule(name)
    with pytest.raises(DrillNotFound, match="no schedule for the routine drill"):
        await drills.describe("routine")
