"""Incidents opened by Alertmanager, on the time-skipping server: deduplication per alert
group and per alert, level raising, clearing per playbook, reopening within the window."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from temporalio.service import RPCError

from alerts.catalog import load_catalog
from alerts.models import WebhookPayload
from domain.alerts import AlertOutcome
from domain.errors import IncidentConflict
from domain.models import Actor, EventKind, Incident, Level, NotificationKind, Source, Status
from domain.statements import STATEMENT_SEQ
from testkit.waiting import eventually
from tests.alert_payloads import payload, raw, starting_at, storm, with_alert
from tests.conftest import Stack
from workflows.ids import workflow_id
from workflows.incident.client import GroupResult, IncidentService

CATALOG = load_catalog()
BOB = Actor(name="Bob")


async def receive(stack: Stack, body: WebhookPayload | dict[str, object]) -> GroupResult:
    if isinstance(body, dict):
        body = WebhookPayload.model_validate(body)
    return await stack.service.receive_alerts(body, CATALOG)


def opened(result: GroupResult) -> Incident:
    assert result.incident is not None
    return result.incident


async def kinds(stack: Stack, incident_id: str) -> list[EventKind]:
    return [e.kind for e in await stack.store.timeline(incident_id)]


async def settled(stack: Stack, incident: Incident, *, events: int = 1) -> Incident:
    """The recorded incident once the record activities have caught up with ``incident`` and
    at least ``events`` timeline events. Record activities run side by side, so the newest
    snapshot can land before an older batch of events: the timeline must also have no gap."""

    async def caught_up() -> bool:
        record = await stack.store.get_incident(incident.id)
        # The incident's own events; its statements' are numbered from STATEMENT_SEQ.
        seqs = [e.seq for e in await stack.store.timeline(incident.id) if e.seq < STATEMENT_SEQ]
        return (
            record is not None
            and record.version >= incident.version
            and len(seqs) >= events
            and seqs == list(range(1, len(seqs) + 1))
        )

    await eventually(caught_up)
    record = await stack.store.get_incident(incident.id)
    assert record is not None
    return record


async def finish(stack: Stack, incident: Incident) -> None:
    """Terminate what a test leaves open, so the server keeps skipping time for the next."""
    with contextlib.suppress(RPCError):
        await stack.client.get_workflow_handle(workflow_id(incident.id)).terminate()


async def test_a_firing_group_opens_one_incident_graded_by_its_level_label(stack: Stack) -> None:
    result = await receive(stack, payload("checkout-firing"))
    incident = opened(result)

    assert result.outcome is AlertOutcome.OPENED
    assert (incident.level, incident.type.value, incident.service) == (
        Level.A,
        "service_outage",
        "checkout",
    )
    assert incident.source is Source.ALERTMANAGER
    assert incident.title == "Checkout success ratio below 90%"
    assert incident.description == "Only 50% of checkouts succeed."
    assert incident.grading is not None
    assert incident.grading.rule == "label"
    assert incident.alerts_firing == 1
    await eventually(lambda: len(stack.notifier.of_kind(NotificationKind.PAGE, incident.id)) > 0)
    await settled(stack, incident, events=5)
    timeline = await stack.store.timeline(incident.id)
    firing = [e for e in timeline if e.kind is EventKind.ALERTS_FIRING]
    assert timeline[0].kind is EventKind.DECLARED
    assert "from the alert's level label" in timeline[0].text
    assert len(firing) == 1
    detail = firing[0].data["alerts"][0]
    assert detail["labels"]["alertname"] == "CheckoutSuccessRatioLow"
    assert detail["annotations"]["summary"] == "Checkout success ratio below 90%"
    assert detail["generator_url"].startswith("http://prometheus.example:9090/graph")
    await finish(stack, incident)


async def test_a_group_without_level_label_is_graded_by_score_with_every_factor(
    stack: Stack,
) -> None:
    incident = opened(await receive(stack, payload("support-chat-firing")))

    assert incident.level is Level.C
    grading = incident.grading
    assert grading is not None
    assert grading.rule == "score"
    assert [f.name for f in grading.factors] == [
        "affected_users",
        "criticality",
        "timeliness",
        "exposure",
    ]
    assert grading.score == pytest.approx(sum(f.contribution for f in grading.factors), abs=1e-3)
    assert incident.alerts_firing == 2
    await settled(stack, incident, events=5)
    declared = (await stack.store.timeline(incident.id))[0]
    assert "by score" in declared.text
    await finish(stack, incident)


async def test_the_same_notification_three_times_adds_no_timeline_event(stack: Stack) -> None:
    first = await receive(stack, payload("support-chat-firing"))
    incident = await settled(stack, opened(first), events=5)
    before = await kinds(stack, incident.id)

    repeats = [await receive(stack, payload("support-chat-firing")) for _ in range(3)]

    assert [r.outcome for r in repeats] == [AlertOutcome.DUPLICATE] * 3
    assert all(r.duplicates == 2 and r.deduplicated for r in repeats)
    assert {opened(r).id for r in repeats} == {incident.id}
    await asyncio.sleep(0.3)  # give a stray record activity the chance to show up
    assert await kinds(stack, incident.id) == before
    await finish(stack, incident)


async def test_concurrent_identical_notifications_open_exactly_one_incident(
    stack: Stack,
) -> None:
    results = await asyncio.gather(*(receive(stack, raw("checkout-firing")) for _ in range(50)))

    ids = {opened(r).id for r in results}
    assert len(ids) == 1
    outcomes = [r.outcome for r in results]
    assert outcomes.count(AlertOutcome.OPENED) == 1
    assert outcomes.count(AlertOutcome.DUPLICATE) == 49
    (incident_id,) = ids
    await eventually(lambda: len(stack.notifier.of_kind(NotificationKind.PAGE, incident_id)) > 0)
    await settled(stack, max((opened(r) for r in results), key=lambda i: i.version), events=5)
    assert (await kinds(stack, incident_id)).count(EventKind.ALERTS_FIRING) == 1
    assert await stack.store.count_incidents() == 1
    await finish(stack, opened(results[0]))


async def test_a_new_alert_joins_and_a_more_serious_one_raises_the_level(stack: Stack) -> None:
    first = opened(await receive(stack, payload("support-chat-firing")))
    assert first.level is Level.C

    body = with_alert(raw("support-chat-firing"), "aaaaaaaaaaaaaaaa", channel="phone", level="A")
    joined = await receive(stack, body)

    incident = opened(joined)
    assert joined.outcome is AlertOutcome.JOINED
    assert joined.new_firing == 1
    assert joined.duplicates == 2
    assert incident.id == first.id
    assert incident.level is Level.A
    # Raised: the deadline is the earlier of the old one and now plus A's 15 minutes.
    assert incident.ack_deadline <= first.ack_deadline
    assert incident.grading is not None
    assert incident.grading.rule == "label"
    await eventually(
        lambda: any(
            n.event.kind is EventKind.LEVEL_CHANGED and "graded A" in n.event.text
            for n in stack.notifier.sent
        )
    )
    await finish(stack, incident)


async def test_a_less_serious_alert_never_lowers_the_level(stack: Stack) -> None:
    first = opened(await receive(stack, payload("checkout-firing")))
    body = with_alert(raw("checkout-firing"), "bbbbbbbbbbbbbbbb", level="C", instance="x:1")

    incident = opened(await receive(stack, body))

    assert incident.level is Level.A
    assert incident.id == first.id
    await settled(stack, incident, events=6)
    assert EventKind.LEVEL_CHANGED not in await kinds(stack, incident.id)
    await finish(stack, incident)


async def test_level_a_group_resolving_mitigates_and_stops_escalation(stack: Stack) -> None:
    incident = opened(await receive(stack, payload("checkout-firing")))

    result = await receive(stack, payload("checkout-resolved"))

    cleared = opened(result)
    assert result.new_resolved == 1
    assert cleared.status is Status.MITIGATED
    assert cleared.acknowledged_at is None  # Alertmanager is not a responder
    assert cleared.alerts_firing == 0
    # No step, breach or re-page once the alerts have cleared: nobody is chased.
    await stack.env.sleep(timedelta(hours=1))
    recorded = await settled(stack, cleared)
    assert recorded.status is Status.MITIGATED
    assert recorded.escalation_count == 0
    timeline = await kinds(stack, incident.id)
    assert EventKind.ALERTS_CLEARED in timeline
    assert EventKind.BREACHED not in timeline
    # Its lead is asked to confirm and resolve it when the alerts clear, then on the cadence.
    every = stack.playbooks.for_level(Level.A).update_every
    asked = 1 + int(timedelta(hours=1) / every)
    await eventually(
        lambda: len(stack.notifier.of_kind(NotificationKind.REMINDER, incident.id)) == asked
    )
    request = stack.notifier.of_kind(NotificationKind.REMINDER, incident.id)[0]
    assert request.recipient is not None
    assert request.recipient.role.value == "lead"
    assert "confirm it is over and resolve it" in request.text
    assert timeline.count(EventKind.CONFIRM_REQUESTED) >= 1
    # A responder still resolves it.
    resolved = await stack.service.resolve(incident.id, BOB, "rolled back the deploy")
    assert resolved.status is Status.RESOLVED
    await finish(stack, incident)


async def test_level_c_group_resolving_resolves_the_incident(stack: Stack) -> None:
    incident = opened(await receive(stack, payload("support-chat-firing")))

    result = await receive(stack, payload("support-chat-resolved"))

    assert opened(result).status is Status.RESOLVED
    assert opened(result).resolved_by == "Alertmanager"
    recorded = await settled(stack, opened(result))
    assert recorded.status is Status.RESOLVED
    timeline = await kinds(stack, incident.id)
    resolved = timeline.index(EventKind.RESOLVED)
    assert timeline[resolved - 1 : resolved + 1] == [EventKind.ALERTS_CLEARED, EventKind.RESOLVED]
    # The review the resolution opens may already be on the timeline, or not yet.
    assert set(timeline[resolved + 1 :]) <= {EventKind.REVIEW_OPENED}
    with pytest.raises(IncidentConflict):
        await stack.service.acknowledge(incident.id, BOB)
    await finish(stack, incident)


async def test_one_alert_resolving_leaves_the_incident_open(stack: Stack) -> None:
    incident = opened(await receive(stack, payload("support-chat-firing")))
    body = raw("support-chat-resolved")
    body["alerts"] = body["alerts"][:1]

    result = await receive(stack, body)

    assert opened(result).status is Status.TRIGGERED
    assert opened(result).alerts_firing == 1
    await finish(stack, incident)


async def test_a_group_firing_again_within_reopen_window_reopens_its_incident(
    stack: Stack,
) -> None:
    incident = opened(await receive(stack, payload("support-chat-firing")))
    await receive(stack, payload("support-chat-resolved"))
    await stack.env.sleep(timedelta(minutes=10))
    later = incident.declared_at + timedelta(minutes=10)

    result = await receive(stack, starting_at(raw("support-chat-firing"), later))

    assert result.outcome is AlertOutcome.REOPENED
    reopened = opened(result)
    assert reopened.id == incident.id
    assert reopened.status is Status.TRIGGERED
    assert reopened.resolved_at is None
    await eventually(
        lambda: any(
            n.event.kind is EventKind.REOPENED
            for n in stack.notifier.of_kind(NotificationKind.PAGE)
        )
    )
    await finish(stack, incident)


async def test_a_group_firing_after_the_reopen_window_opens_a_new_incident(stack: Stack) -> None:
    incident = opened(await receive(stack, payload("support-chat-firing")))
    await receive(stack, payload("support-chat-resolved"))
    await stack.env.sleep(timedelta(minutes=31))
    later = incident.declared_at + timedelta(minutes=31)

    result = await receive(stack, starting_at(raw("support-chat-firing"), later))

    assert result.outcome is AlertOutcome.OPENED
    fresh = opened(result)
    assert fresh.id != incident.id
    assert fresh.status is Status.TRIGGERED
    # The old incident stays readable and resolved; acting on it is refused.
    assert (await settled(stack, incident)).status is Status.RESOLVED
    with pytest.raises(IncidentConflict):
        await stack.service.acknowledge(incident.id, BOB)
    acked = await stack.service.acknowledge(fresh.id, BOB)
    assert acked.acknowledged_by == "Bob"
    await finish(stack, fresh)


async def test_resolved_alerts_for_a_group_with_no_incident_open_nothing(stack: Stack) -> None:
    result = await receive(stack, payload("checkout-resolved"))

    assert result.incident is None
    assert result.outcome is None
    assert await stack.store.count_incidents() == 0


async def test_a_late_firing_copy_after_the_resolution_does_not_reopen(stack: Stack) -> None:
    incident = opened(await receive(stack, payload("support-chat-firing")))
    body = raw("support-chat-resolved")
    body["alerts"] = body["alerts"][:1]
    await receive(stack, body)

    # An HA peer's older copy: the same occurrence, still firing.
    result = await receive(stack, payload("support-chat-firing"))

    assert result.outcome is AlertOutcome.DUPLICATE
    assert opened(result).alerts_firing == 1
    await finish(stack, incident)


async def test_a_storm_of_ten_thousand_alerts_is_one_incident_with_summarised_timeline(
    stack: Stack,
) -> None:
    result = await receive(stack, storm(raw("checkout-firing"), 10_000))

    incident = opened(result)
    assert result.new_firing == 10_000
    assert incident.alerts_firing == 10_000
    await settled(stack, incident, events=4 + 20)
    timeline = await stack.store.timeline(incident.id)
    firing = [e for e in timeline if e.kind is EventKind.ALERTS_FIRING]
    assert sum(e.data["count"] for e in firing) == 10_000
    assert all(len(e.data["alerts"]) <= 20 for e in firing)
    assert all(len(e.text) < 300 for e in firing)
    # Delivered again, the storm changes nothing.
    again = await receive(stack, storm(raw("checkout-firing"), 10_000))
    assert again.duplicates == 10_000
    assert again.outcome is AlertOutcome.DUPLICATE
    await finish(stack, incident)


async def test_on_the_dev_server_concurrent_deliveries_open_one_incident_and_clear_it(
    dev_stack: Stack,
) -> None:
    """The same race on a real server, where the deliveries really run side by side."""
    # What is checked is that they open one incident, not how fast: fifty updates of one
    # workflow, at most ten in flight, can take longer than the usual bound on a busy machine.
    patient = IncidentService(
        dev_stack.client, dev_stack.task_queue, dev_stack.playbooks, call_timeout=60
    )
    firing = WebhookPayload.model_validate(raw("support-chat-firing"))
    results = await asyncio.gather(*(patient.receive_alerts(firing, CATALOG) for _ in range(50)))

    assert len({opened(r).id for r in results}) == 1
    assert [r.outcome for r in results].count(AlertOutcome.OPENED) == 1
    cleared = await receive(dev_stack, raw("support-chat-resolved"))
    assert opened(cleared).status is Status.RESOLVED
    recorded = await settled(dev_stack, opened(cleared), events=8)
    assert recorded.status is Status.RESOLVED
    await finish(dev_stack, opened(cleared))
