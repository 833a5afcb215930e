"""Rehearsals side by side on one clock (``Rehearsal.run_many``, what-if's batches) decide
exactly what the same scenarios decide one after another: who is paged when, breaches,
acknowledgements not given, at the instant each case names."""

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

SATURDAY_NIGHT = datetime(2026, 3, 7, 1, 0, tzinfo=UTC)  # 02:00 in Paris
TUESDAY_MORNING = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _scenario(
    title: str, level: Level, at: datetime, *actions: Action, kind: IncidentType | None = None
) -> Scenario:
    return Scenario(
        title=title,
        declaration=Declaration(
            title=title,
            level=level,
            type=kind or IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="what-if"),
        ),
        payload=None,
        actions=actions,
        horizon=timedelta(minutes=40),
        acks_need_a_page=True,
        at=at,
    )


# Actions on the instant of a timer (a re-page every 5m from the breach) are
# test_rehearsal_timer_instants.py's.
SCENARIOS = [
    _scenario("acknowledged at once", Level.A, TUESDAY_MORNING,
              Action(at=timedelta(minutes=2), by="Ada Okafor", ack=True)),
    _scenario("acknowledged late, at night", Level.A, SATURDAY_NIGHT,
              Action(at=timedelta(minutes=17), by="Ben Lindqvist", ack=True)),
    _scenario("by someone never paged", Level.B, TUESDAY_MORNING,
              Action(at=timedelta(minutes=3), by="Jo Mbeki", ack=True)),
    _scenario("raised mid-window", Level.C, TUESDAY_MORNING,
              Action(at=timedelta(minutes=10), by="Ada Okafor", level=Level.A),
              Action(at=timedelta(minutes=32), by="Ada Okafor", resolve=True)),
    _scenario("a data leak nobody answers", Level.B, SATURDAY_NIGHT,
              kind=IncidentType.DATA_LEAK),
]  # fmt: skip


def _seen(happened: list[Happened]) -> list[tuple[timedelta, str, str | None]]:
    return [(h.at, h.what.value, h.who) for h in happened]


async def test_a_batch_decides_what_the_scenarios_decide_one_after_another() -> None:
    playbooks = load_playbooks(DEFAULT_DIR)
    async with (
        stage(temporal_test_server(), load_catalog()) as on,
        on.under(DEFAULT_DIR, playbooks) as alone,
        on.under(DEFAULT_DIR, playbooks) as together,
    ):
        one_by_one = [await alone.run(s) for s in SCENARIOS]
        batch = await together.run_many(SCENARIOS)

    for scenario, a, b in zip(SCENARIOS, one_by_one, batch, strict=True):
        assert _seen(b.happened) == _seen(a.happened), scenario.title
        assert b.refused == a.refused, scenario.title
        assert b.escalations == a.escalations, scenario.title
        assert (b.incident.acknowledged_by, b.incident.window_breached) == (
            a.incident.acknowledged_by,
            a.incident.window_breached,
        ), scenario.title
    night = dict(zip([s.title for s in SCENARIOS], batch, strict=True))
    assert (timedelta(minutes=15), "paged", "Lina Duarte") in _seen(
        night["acknowledged late, at night"].happened
    )
    assert night["by someone never paged"].refused == [
        "Jo Mbeki acknowledged at +3m, but was not paged by then: counted as not given"
    ]
