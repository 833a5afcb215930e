"""Each shipped drill scenario run end to end on the time-skipping server, with scripted
responders who acknowledge, classify (right and wrong) and resolve; every score asserted.
A drill nobody answers ends at its deadline and scores zero."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.drills import DrillRun, DrillStatus, LeadScores, Score
from domain.errors import IncidentConflict
from domain.models import Actor, Incident, IncidentType, Level, Status
from domain.statements import Channel
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_scenarios
from playbooks.roster import RosterSource
from testkit.waiting import eventually
from tests.conftest import Stack
from workflows.drills.client import DrillService, manual_workflow_id

ADA = Actor(name="Ada Okafor")  # technical support primary: leads service outages
BEN = Actor(name="Ben Lindqvist")
DARA = Actor(name="Dara Nwosu")  # customer service primary: leads data leaks
GIL = Actor(name="Gil Ramos")  # brand/PR primary: leads major product incidents
JO = Actor(name="Jo Mbeki")  # leadership


def drills(stack: Stack) -> DrillService:
    return DrillService(
        stack.client,
        stack.task_queue,
        stack.store,
        stack.playbooks,
        load_scenarios(),
        RosterSource(DEFAULT_DIR),
    )


async def start(stack: Stack, scenario: str) -> DrillRun:
    run = await drills(stack).start(scenario, JO, await stack.env.get_current_time())
    return run


async def incident(stack: Stack, run: DrillRun, step: int) -> Incident:
    async def injected() -> Incident | None:
        recorded = await stack.store.drills.get(run.id)
        if recorded is None or step not in recorded.incidents:
            return None
        return await stack.store.get_incident(recorded.incidents[step])

    return await eventually(injected)


async def finished(stack: Stack, run: DrillRun) -> DrillRun:
    result: DrillRun = await stack.client.get_workflow_handle(
        manual_workflow_id(run.scenario), result_type=DrillRun
    ).result()
    return result


def by_target(run: DrillRun) -> dict[str, Score]:
    return {s.target: s for s in run.scores}


async def classify(
    stack: Stack, incident: Incident, level: Level, type: IncidentType, by: Actor
) -> None:
    await drills(stack).classify(incident.id, level, type, by, await stack.env.get_current_time())


async def test_routine_drill_graded_through_the_intake_and_scored(stack: Stack) -> None:
    run = await start(stack, "routine")
    first = await incident(stack, run, 0)
    # The alert went through the real intake and grading: a level B outage, marked a drill.
    assert first.drill
    assert first.drill_run == run.id
    assert (first.level, first.type) == (Level.B, IncidentType.SERVICE_OUTAGE)
    pages = await eventually(
        lambda: [n for n in stack.notifier.sent if n.incident.id == first.id] or None
    )
    assert pages
    assert all("DRILL" in n.text for n in pages if n.text)

    await classify(stack, first, Level.B, IncidentType.SERVICE_OUTAGE, ADA)  # right
    await classify(stack, first, Level.A, IncidentType.SERVICE_OUTAGE, BEN)  # wrong level
    await stack.env.sleep(timedelta(minutes=10))
    await stack.service.acknowledge(first.id, ADA)
    await stack.env.sleep(timedelta(minutes=35))
    await stack.service.resolve(first.id, ADA, "rolled back the deploy")

    done = await finished(stack, run)

    assert done.status is DrillStatus.FINISHED
    scores = by_target(done)
    assert list(scores) == ["classification_accuracy", "step_1_acknowledged", "recovery"]
    assert scores["classification_accuracy"].value == 0.5
    assert not scores["classification_accuracy"].met  # target 95%
    ack = scores["step_1_acknowledged"]
    assert ack.met
    assert ack.value is not None
    assert 600 <= ack.value < 660
    recovery = scores["recovery"]
    # 45 minutes against 90% of the 60-minute target (54 minutes).
    assert recovery.met
    assert recovery.value is not None
    assert 2700 <= recovery.value < 2760
    assert await stack.store.drills.get(run.id) == done


async def test_integrated_drill_keeps_customers_out_and_waits_for_the_leads_scores(
    stack: Stack,
) -> None:
    run = await start(stack, "integrated")
    crisis = await incident(stack, run, 0)
    assert (crisis.level, crisis.type) == (Level.A, IncidentType.MAJOR_PRODUCT_INCIDENT)
    await classify(stack, crisis, Level.A, IncidentType.MAJOR_PRODUCT_INCIDENT, GIL)
    await stack.env.sleep(timedelta(minutes=5))
    await stack.service.acknowledge(crisis.id, GIL)
    await stack.env.sleep(timedelta(minutes=6))
    surge = await incident(stack, run, 1)  # the ticket surge, injected at 10 minutes
    assert surge.drill
    assert surge.level is Level.C
    await classify(stack, surge, Level.C, IncidentType.MAJOR_PRODUCT_INCIDENT, DARA)
    await classify(stack, surge, Level.C, IncidentType.MAJOR_PRODUCT_INCIDENT, GIL)
    await stack.env.sleep(timedelta(minutes=9))
    await stack.service.acknowledge(surge.id, DARA)  # 10 minutes after it was injected
    await stack.env.sleep(timedelta(minutes=40))
    await stack.service.resolve(crisis.id, GIL, "checkout fixed, codes honoured")
    await stack.service.resolve(surge.id, DARA, "tickets answered")

    done = await finished(stack, run)

    scores = by_target(done)
    assert scores["classification_accuracy"].value == 1.0
    assert scores["classification_accuracy"].met
    assert scores["step_1_acknowledged"].met  # 5 minutes against 15
    assert scores["step_2_acknowledged"].met  # 10 minutes against level C's 60
    assert scores["reputation_recovery"].value is None
    assert not scores["reputation_recovery"].met
    assert scores["collaboration"].note == "awaiting the lead's score"

    rescored = await drills(stack).enter_lead_scores(
        run.id,
        LeadScores(
            collaboration=9.0,
            reputation_recovery=0.8,
            by=JO.name,
            at=await stack.env.get_current_time(),
            follow_ups=["Pre-approve a campaign holding statement"],
        ),
    )
    scores = by_target(rescored)
    assert scores["collaboration"].value == 9.0
    assert scores["collaboration"].met
    assert scores["reputation_recovery"].value == 0.8
    assert not scores["reputation_recovery"].met  # target 85%

    # The level A crisis needed a customer statement: it went to the drill preview only.
    messages = await stack.store.statements.of_incident(crisis.id)
    assert messages
    deliveries = [d for m in messages for d in await stack.store.statements.deliveries(m.id)]
    assert deliveries
    assert {d.channel for d in deliveries} == {Channel.DRILL_PREVIEW}

    report = await drills(stack).report(run.id)
    assert report.follow_ups == ["Pre-approve a campaign holding statement"]
    accuracy = {r.name: (r.right, r.total) for r in report.responders}
    assert accuracy == {"Dara Nwosu": (1, 1), "Gil Ramos": (2, 2)}
    # Jo started the drill; leadership taking part means acting on its incidents.
    assert [q.met for q in report.leadership] == [False]


async def test_comprehensive_drill_scores_the_joint_response_of_every_lead_function(
    stack: Stack,
) -> None:
    run = await start(stack, "comprehensive")
    api = await incident(stack, run, 0)
    chat = await incident(stack, run, 1)
    assert api.type is IncidentType.SERVICE_OUTAGE
    assert chat.level is Level.B
    await classify(stack, api, Level.A, IncidentType.SERVICE_OUTAGE, ADA)
    await classify(stack, chat, Level.A, IncidentType.SERVICE_OUTAGE, ADA)  # wrong: B
    await stack.env.sleep(timedelta(minutes=3))
    leak = await incident(stack, run, 2)
    assert (leak.level, leak.type) == (Level.A, IncidentType.DATA_LEAK)
    await classify(stack, leak, Level.A, IncidentType.DATA_LEAK, DARA)
    await classify(stack, leak, Level.A, IncidentType.DATA_LEAK, JO)
    await stack.service.acknowledge(api.id, ADA)
    await stack.service.acknowledge(chat.id, ADA)
    await stack.env.sleep(timedelta(minutes=19))
    await stack.service.acknowledge(leak.id, DARA)  # 22 minutes in: the last lead
    for each, who in ((api, ADA), (chat, ADA), (leak, DARA)):
        await stack.service.resolve(each.id, who, "recovered")

    done = await finished(stack, run)

    scores = by_target(done)
    assert scores["classification_accuracy"].value == 0.75  # 3 of 4
    assert not scores["classification_accuracy"].met
    assert scores["step_1_acknowledged"].met
    assert scores["step_2_acknowledged"].met
    # The leak was acknowledged 20 minutes after it was declared: level A's window is 15.
    leak_ack = scores["step_3_acknowledged"]
    assert not leak_ack.met
    assert leak_ack.value is not None
    assert 20 * 60 <= leak_ack.value < 21 * 60
    joint = scores["joint_response"]
    assert joint.met
    assert joint.value is not None
    assert 22 * 60 <= joint.value < 23 * 60
    report = await drills(stack).report(run.id)
    assert report.leadership[0].leaders == ["Jo Mbeki"]
    assert report.leadership[0].met


async def test_comprehensive_joint_response_needs_each_incidents_own_lead_function(
    stack: Stack,
) -> None:
    run = await start(stack, "comprehensive")
    await stack.env.sleep(timedelta(minutes=3))
    for step in range(3):
        await stack.service.acknowledge((await incident(stack, run, step)).id, ADA)
    for step in range(3):
        await stack.service.resolve((await incident(stack, run, step)).id, ADA, "recovered")

    done = await finished(stack, run)

    joint = by_target(done)["joint_response"]
    # Technical support acknowledged the data leak, which customer service leads.
    assert not joint.met
    assert joint.value is None
    assert joint.note == "not every lead function acknowledged"


async def test_a_drill_nobody_answers_ends_at_its_deadline_and_scores_zero(stack: Stack) -> None:
    run = await start(stack, "routine")
    first = await incident(stack, run, 0)

    await stack.env.sleep(timedelta(hours=2, minutes=1))
    done = await finished(stack, run)

    assert done.status is DrillStatus.FINISHED
    assert done.finished_at is not None
    assert done.finished_at - run.started_at >= timedelta(hours=2)
    assert [(s.target, s.value, s.met) for s in done.scores] == [
        ("classification_accuracy", 0.0, False),
        ("step_1_acknowledged", None, False),
        ("recovery", None, False),
    ]
    # The drill's end closed its incident, which does not count as a recovery.
    closed = await stack.service.current(first.id)
    assert closed.status is Status.RESOLVED
    assert closed.resolved_by == "tocsin"
    assert await stack.store.lease_holder("drill:routine") is None


async def test_a_second_run_of_a_running_scenario_is_refused(stack: Stack) -> None:
    run = await start(stack, "routine")
    await incident(stack, run, 0)

    with pytest.raises(IncidentConflict, match="a routine drill is already running"):
        await start(stack, "routine")
    other = await start(stack, "integrated")  # another scenario may run beside it
    assert other.scenario == "integrated"
    assert [r.id for r in await stack.store.drills.runs(scenario="routine")] == [run.id]
