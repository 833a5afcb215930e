"""Reviews and action items on the time-skipping server: a review opens itself when the
incident resolves, its owner is reminded before it is due and the leads are told while it is
overdue; an action item is followed for weeks after the incident's workflow has ended."""

from __future__ import annotations

from datetime import timedelta

from alerts.catalog import load_catalog
from alerts.models import WebhookPayload
from domain.alerts import AlertOutcome
from domain.models import (
    Actor,
    Declaration,
    EventKind,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
    TimelineEvent,
)
from domain.reviews import REVIEW_SEQ, ActionItem, ActionStatus, Priority, Review, ReviewStatus
from domain.statements import STATEMENT_SEQ
from testkit.waiting import eventually
from tests.alert_payloads import payload, raw, starting_at
from tests.conftest import Stack
from workflows.ids import review_workflow_id, workflow_id
from workflows.reviews.client import ReviewService

ADA = Actor(name="Ada Okafor")  # technical support primary: leads a service outage


def reviews(stack: Stack) -> ReviewService:
    return ReviewService(stack.client, stack.task_queue, stack.store, stack.playbooks)


async def resolved_incident(stack: Stack, level: Level = Level.B) -> Incident:
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=level,
            type=IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="Alice"),
        )
    )
    await stack.service.acknowledge(incident.id, ADA)
    await stack.service.post_update(incident.id, "Rolled back release 4512", ADA)
    return await stack.service.resolve(incident.id, ADA, "bad feature flag")


async def opened(stack: Stack, incident: Incident) -> Review:
    return await eventually(lambda: stack.store.reviews.of_incident(incident.id))


def review_notices(stack: Stack, incident: Incident) -> list[tuple[str, str]]:
    return [
        (n.recipient.person.name, n.event.kind.value)
        for n in stack.notifier.of_kind(NotificationKind.REVIEW, incident.id)
        if n.recipient
    ]


async def test_a_resolved_incident_opens_its_review_prefilled_from_the_records(
    stack: Stack,
) -> None:
    incident = await resolved_incident(stack)

    review = await opened(stack, incident)

    assert review.status is ReviewStatus.DRAFT
    assert review.owner == "Ada Okafor"  # paged as the lead
    assert incident.resolved_at is not None
    assert review.due_at == incident.resolved_at + timedelta(days=5)  # level B
    assert review.summary == "bad feature flag"
    # The incident's own events, all of them; its statements' may still be coming.
    recorded = [e for e in await stack.store.timeline(incident.id) if e.seq < STATEMENT_SEQ]
    assert [e for e in review.timeline if e.seq < STATEMENT_SEQ] == recorded
    assert [e.kind for e in review.timeline][:2] == [EventKind.DECLARED, EventKind.PAGED]
    assert EventKind.UPDATE_POSTED in {e.kind for e in review.timeline}
    times = review.key_times
    assert times.time_to_ack_seconds is not None
    assert times.acknowledged_within_window is True
    assert (
        times.time_to_resolve_seconds
        == (incident.resolved_at - incident.declared_at).total_seconds()
    )
    assert {"Alice", "Ada Okafor"} <= set(review.participants)
    assert review.breaches == []

    # The review is saved before its line on the timeline is written: wait for the line.
    async def review_lines() -> list[TimelineEvent] | None:
        found = [e for e in await stack.store.timeline(incident.id) if e.seq > REVIEW_SEQ]
        return found or None

    (line,) = await eventually(review_lines)
    assert line.kind is EventKind.REVIEW_OPENED
    assert "owned by Ada Okafor" in line.text


async def test_the_owner_is_reminded_then_the_leads_told_until_it_is_published(
    stack: Stack,
) -> None:
    incident = await resolved_incident(stack, Level.A)  # due in 3 days
    review = await opened(stack, incident)

    await stack.env.sleep(timedelta(days=2, hours=1))  # a day before it is due
    await eventually(lambda: review_notices(stack, incident) == [("Ada Okafor", "review_reminded")])

    await stack.env.sleep(timedelta(days=1))  # past due: the lead's primary and manager
    await eventually(lambda: len(review_notices(stack, incident)) == 3)
    assert sorted(review_notices(stack, incident)[1:]) == [
        ("Ada Okafor", "review_overdue"),
        ("Chen Wei", "review_overdue"),
    ]

    await stack.env.sleep(timedelta(days=2))  # told again every 2 days
    await eventually(lambda: len(review_notices(stack, incident)) == 5)

    now = await stack.env.get_current_time()
    service = reviews(stack)
    await service.edit(
        review.id,
        {"root_cause": "A feature flag defaulted on in production."},
        now,
        version=None,
    )
    await service.publish(review.id, "Ada Okafor", now)
    handle = stack.client.get_workflow_handle(review_workflow_id(incident.id))
    await eventually(lambda: _closed(handle))
    await stack.env.sleep(timedelta(days=4))
    assert len(review_notices(stack, incident)) == 5
    kinds = [e.kind for e in await stack.store.timeline(incident.id) if e.seq > REVIEW_SEQ]
    assert kinds == [
        EventKind.REVIEW_OPENED,
        EventKind.REVIEW_REMINDED,
        EventKind.REVIEW_OVERDUE,
        EventKind.REVIEW_OVERDUE,
        EventKind.REVIEW_PUBLISHED,
    ]


async def _closed(handle: object) -> bool:
    description = await handle.describe()  # type: ignore[attr-defined]
    return description.close_time is not None


async def test_an_action_item_is_followed_weeks_after_the_incident_ended(stack: Stack) -> None:
    incident = await resolved_incident(stack)
    review = await opened(stack, incident)
    incident_run = stack.client.get_workflow_handle(workflow_id(incident.id))
    await eventually(lambda: _closed(incident_run))
    now = await stack.env.get_current_time()
    action = ActionItem(
        id="a-0123456789ab",
        review_id=review.id,
        incident_id=incident.id,
        title="Alert on feature-flag drift",
        owner="Ben Lindqvist",
        due_at=now + timedelta(days=14),
        priority=Priority.HIGH,
        created_at=now,
        created_by="Ada Okafor",
    )
    await reviews(stack).add_action(review.id, action, now)

    def notices() -> list[tuple[str, str]]:
        return [
            (name, kind)
            for name, kind in review_notices(stack, incident)
            if kind.startswith("action")
        ]

    await stack.env.sleep(timedelta(days=12, hours=1))  # two days before it is due
    await eventually(lambda: notices() == [("Ben Lindqvist", "action_reminded")])

    await stack.env.sleep(timedelta(days=2))  # overdue: owner, review owner, manager
    await eventually(lambda: len(notices()) == 4)
    assert sorted(notices()[1:]) == [
        ("Ada Okafor", "action_overdue"),
        ("Ben Lindqvist", "action_overdue"),
        ("Chen Wei", "action_overdue"),
    ]

    await stack.env.sleep(timedelta(days=7))  # and every week while it stays open
    await eventually(lambda: len(notices()) == 7)

    now = await stack.env.get_current_time()
    done = await reviews(stack).change_action(
        action.id,
        status=ActionStatus.DONE,
        reason=None,
        due_at=None,
        owner=None,
        by="Ben Lindqvist",
        now=now,
    )
    assert done.status is ActionStatus.DONE
    await stack.env.sleep(timedelta(days=14))
    assert len(notices()) == 7
    lines = [
        e for e in await stack.store.timeline(incident.id) if e.kind is EventKind.ACTION_CLOSED
    ]
    assert len(lines) == 1
    assert "done by Ben Lindqvist" in lines[0].text


async def test_a_review_whose_incident_reopens_is_refreshed_and_followed_to_its_new_due_date(
    stack: Stack,
) -> None:
    catalog = load_catalog()
    fired = await stack.service.receive_alerts(payload("support-chat-firing"), catalog)
    assert fired.incident is not None
    incident = fired.incident  # level C: its review is due 10 days after it resolves
    await stack.service.receive_alerts(payload("support-chat-resolved"), catalog)
    first = await opened(stack, incident)

    await stack.env.sleep(timedelta(minutes=20))  # within the reopen window
    again = starting_at(raw("support-chat-firing"), incident.declared_at + timedelta(minutes=20))
    reopened = await stack.service.receive_alerts(WebhookPayload.model_validate(again), catalog)
    assert reopened.outcome is AlertOutcome.REOPENED
    await stack.env.sleep(timedelta(hours=6))
    await stack.service.resolve(incident.id, ADA, "restarted the chat gateway")

    async def refreshed() -> Review | None:
        review = await stack.store.reviews.get(first.id)
        return review if review is not None and review.version > first.version else None

    review = await eventually(refreshed)
    assert review.due_at >= first.due_at + timedelta(hours=6)
    assert EventKind.REOPENED in [e.kind for e in review.timeline]

    now = await stack.env.get_current_time()
    # An hour past the reminder the first due date had: the review is due later now.
    await stack.env.sleep(first.due_at - timedelta(days=1) + timedelta(hours=1) - now)
    assert review_notices(stack, incident) == []
    await stack.env.sleep(review.due_at - first.due_at)
    await eventually(
        lambda: [kind for _, kind in review_notices(stack, incident)] == ["review_reminded"]
    )


async def test_a_new_incident_on_a_reviewed_service_links_its_reviews(stack: Stack) -> None:
    first = await resolved_incident(stack)
    review = await opened(stack, first)
    now = await stack.env.get_current_time()
    service = reviews(stack)
    await service.edit(
        review.id, {"root_cause": "The payment gateway pool was too small."}, now, None
    )
    await service.publish(review.id, "Ada Okafor", now)

    again = await stack.service.declare(
        Declaration(
            title="Checkout failing again",
            level=Level.B,
            type=IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="Alice"),
        )
    )

    def linked() -> list[str]:
        return [
            n.event.text
            for n in stack.notifier.of_kind(NotificationKind.STATUS, again.id)
            if n.recipient is None and "Related reviews" in n.event.text
        ]

    (line,) = await eventually(linked)
    assert review.id in line
    assert "payment gateway pool" in line
