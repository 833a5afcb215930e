"""An action recorded on the instant of one of its incident's own timers (a level-A step at
+10m, the re-page every 5m after the breach) is applied after the timer fired, side by side
as one after another. Before, Temporal's time-skipping server could stop such an incident for
good: the action's task cancelled a timer that fired while the task ran, the server refused the
task and never handed it out again, and the update was never answered (ADR 0028)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.catalog import load_catalog
from domain.models import Actor, Declaration, IncidentType, Level
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_playbooks
from tocsin.binaries import temporal_test_server
from workflows.playtest.cases import Action
from workflows.playtest.runner import Happened, Scenario
from workflows.playtest.stage import stage

TUESDAY_MORNING = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _scenario(title: str, *actions: Action) -> Scenario:
    return Scenario(
        title=title,
        declaration=Declaration(
            title=title,
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="what-if"),
        ),
        payload=None,
        actions=actions,
        horizon=timedelta(minutes=30),
        acks_need_a_page=True,
        at=TUESDAY_MORNING,
    )


ACK_ON_STEP = _scenario(
    "acknowledged as the +10m step pages",
    Action(at=timedelta(minutes=10), by="Ada Okafor", ack=True),
)
RESOLVED_ON_REPAGE = _scenario(
    "resolved as the re-page fires", Action(at=timedelta(minutes=20), by="Ada Okafor", resolve=True)
)
# Enough incidents on those instants that, before, one of them stopped nearly every time.
BATCH = [ACK_ON_STEP, RESOLVED_ON_REPAGE] * 4


def _timed(happened: list[Happened]) -> list[tuple[timedelta, str, str | None]]:
    """What the incident's timers did: pages and breaches, not the deadlines an action set."""
    return [(h.at, h.what.value, h.who) for h in happened if h.what.value in ("paged", "breached")]


async def test_actions_on_a_timer_instant_come_after_the_timer_and_are_answered() -> None:
    playbooks = load_playbooks(DEFAULT_DIR)
    async with (
        stage(temporal_test_server(), load_catalog()) as on,
        on.under(DEFAULT_DIR, playbooks) as alone,
        on.under(DEFAULT_DIR, playbooks) as together,
    ):
        one_by_one = [await alone.run(s) for s in (ACK_ON_STEP, RESOLVED_ON_REPAGE)]
        batch = await together.run_many(BATCH)

    acked, resolved = (_timed(o.happened) for o in one_by_one)
    # The +10m step paged before the acknowledgement stopped the escalation.
    assert {(t, who) for t, _, who in acked if t == timedelta(minutes=10)} == {
        (timedelta(minutes=10), "Chen Wei"),
        (timedelta(minutes=10), "Jo Mbeki"),
    }
    assert max(t for t, _, _ in acked) == timedelta(minutes=10)
    assert one_by_one[0].incident.acknowledged_by == "Ada Okafor"
    assert not one_by_one[0].incident.window_breached
    # The breach at +15m, then the re-page at +20m before the resolution, and nothing after.
    assert (timedelta(minutes=15), "breached", None) in resolved
    assert [t for t, what, _ in resolved if what == "paged"][-1] == timedelta(minutes=20)
    assert one_by_one[1].incident.status == "resolved"
    for scenario, outcome in zip(BATCH, batch, strict=True):
        same = one_by_one[0] if scenario is ACK_ON_STEP else one_by_one[1]
        assert _timed(outcome.happened) == _timed(same.happened), scenario.title
        assert outcome.incident.status == same.incident.status, scenario.title
        assert outcome.refused == same.refused == [], scenario.title
