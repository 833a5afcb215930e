"""Customer statements on the time-skipping server: drafted when due, approved by the
communications lead, escalated and covered by the holding statement when late, updated on the
level's cadence, and never published for a drill."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType

from domain.errors import IncidentConflict
from domain.models import (
    Actor,
    Declaration,
    EventKind,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
)
from domain.statements import Channel, DeliveryStatus, Stage, Statement, StatementStatus
from testkit.waiting import eventually
from tests.conftest import Stack
from workflows.ids import statements_workflow_id
from workflows.statements.client import StatementService

ALICE = Actor(name="Alice")
GIL = Actor(name="Gil Ramos")  # brand / PR primary in the bundled roster: the comms lead


def statements(stack: Stack) -> StatementService:
    return StatementService(stack.client, stack.task_queue, stack.playbooks)


async def declare(
    stack: Stack,
    level: Level = Level.A,
    kind: IncidentType = IncidentType.SERVICE_OUTAGE,
    *,
    drill: bool = False,
) -> Incident:
    return await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=level,
            type=kind,
            service="checkout",
            drill=drill,
            declared_by=ALICE,
        )
    )


async def messages(stack: Stack, incident: Incident, count: int = 1) -> list[Statement]:
    async def enough() -> list[Statement] | None:
        found = await stack.store.statements.of_incident(incident.id)
        return found if len(found) >= count else None

    return await eventually(enough)


async def events(stack: Stack, incident: Incident, kind: EventKind, count: int = 1) -> list[str]:
    async def enough() -> list[str] | None:
        found = [e.text for e in await stack.store.timeline(incident.id) if e.kind is kind]
        return found if len(found) >= count else None

    return await eventually(enough)


def asked(stack: Stack, incident: Incident) -> list[str]:
    return [
        n.recipient.person.name
        for n in stack.notifier.of_kind(NotificationKind.APPROVAL, incident.id)
        if n.recipient
    ]


async def test_a_level_a_outage_drafts_the_first_statement_and_asks_the_comms_lead(
    stack: Stack,
) -> None:
    incident = await declare(stack)

    (draft,) = await messages(stack, incident)

    assert draft.stage is Stage.INVESTIGATING
    assert draft.status is StatementStatus.DRAFT
    assert draft.due_at == incident.declared_at + timedelta(minutes=5)
    assert "checkout" in draft.body
    assert "Next update by" in draft.body
    await eventually(lambda: asked(stack, incident) == ["Gil Ramos"])
    approval = stack.notifier.of_kind(NotificationKind.APPROVAL, incident.id)[0]
    assert f"tocsin message approve {draft.id}" in approval.text
    (drafted,) = await events(stack, incident, EventKind.STATEMENT_DRAFTED)
    assert "due" in drafted
    assert "brand / PR primary" in drafted


async def test_the_first_draft_is_rendered_locally_and_recorded_and_asked_in_one_activity(
    stack: Stack,
) -> None:
    incident = await declare(stack)
    await eventually(lambda: asked(stack, incident) == ["Gil Ramos"])
    await messages(stack, incident)

    handle = stack.client.get_workflow_handle(statements_workflow_id(incident.id))
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    # The template is rendered by a local activity (a marker, not a task); the record of the
    # draft, its timeline event and the comms lead's request go as one activity.
    assert scheduled == ["statement_effects"]
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    assert "core_local_activity" in markers


async def test_an_approved_statement_reaches_key_accounts_then_the_status_page(
    stack: Stack,
) -> None:
    incident = await declare(stack)
    (draft,) = await messages(stack, incident)

    approved = await statements(stack).approve(draft.id, GIL, "Checkout is failing; on it.")

    assert approved.status is StatementStatus.PUBLISHED
    assert approved.approved_by == "Gil Ramos"

    async def delivered() -> list[tuple[str, str]] | None:
        found = await stack.store.statements.deliveries(draft.id)
        done = [(d.channel.value, d.target) for d in found if d.status is DeliveryStatus.DELIVERED]
        return done if len(done) == 5 else None

    assert sorted(await eventually(delivered)) == [
        ("key_account", "Contoso Retail"),  # uses every service
        ("key_account", "Northwind Traders"),  # uses checkout
        ("key_account", "lea.martin@example.com"),  # their managers, by mail too
        ("key_account", "omar.farouk@example.com"),
        ("status_page", "status page"),
    ]
    notes = stack.notifier.of_kind(NotificationKind.STATEMENT, incident.id)
    assert [n.recipient.person.name for n in notes if n.recipient] == ["Lea Martin", "Omar Farouk"]
    (record,) = await messages(stack, incident)
    assert record.status is StatementStatus.PUBLISHED
    assert record.body == "Checkout is failing; on it."
    (published,) = await stack.store.statements.published_since(incident.declared_at)
    assert published.id == draft.id

    with pytest.raises(IncidentConflict, match="already approved by Gil Ramos"):
        await statements(stack).approve(draft.id, Actor(name="Hana Sato"))


async def test_a_late_approval_is_a_breach_escalates_and_the_holding_statement_goes_out(
    stack: Stack,
) -> None:
    incident = await declare(stack)
    (draft,) = await messages(stack, incident)

    await stack.env.sleep(timedelta(minutes=5, seconds=2))

    (breach,) = await events(stack, incident, EventKind.STATEMENT_BREACHED)
    assert "holding statement went out" in breach
    held = (await messages(stack, incident, 2))[1]
    assert held.holding
    assert held.status is StatementStatus.PUBLISHED
    assert "We are aware" in held.body
    await eventually(lambda: asked(stack, incident) == ["Gil Ramos", "Hana Sato"])

    await stack.env.sleep(timedelta(minutes=10))
    await eventually(
        lambda: asked(stack, incident) == ["Gil Ramos", "Hana Sato", "Ivo Petrov", "Jo Mbeki"]
    )
    escalations = await events(stack, incident, EventKind.STATEMENT_ESCALATED, 3)
    assert escalations[-1].startswith("Statement still not approved: step 3 of 3")
    (still,) = [m for m in await messages(stack, incident, 2) if m.id == draft.id]
    assert still.status is StatementStatus.DRAFT
    assert still.breached
    breaches = await stack.store.statements.breaches_by_level()
    assert breaches == {"A": 1}


async def test_after_a_statement_the_next_update_is_drafted_on_the_cadence(
    stack: Stack,
) -> None:
    incident = await declare(stack)
    (draft,) = await messages(stack, incident)
    await statements(stack).approve(draft.id, GIL)
    await stack.service.acknowledge(incident.id, Actor(name="Ada Okafor"))

    await stack.env.sleep(timedelta(minutes=20, seconds=5))  # level A: an update every 30m

    update = (await messages(stack, incident, 2))[1]
    assert update.stage is Stage.IDENTIFIED
    assert update.status is StatementStatus.DRAFT
    published_at = draft.drafted_at  # approved at once, in the same instant
    assert update.due_at is not None
    assert abs(update.due_at - (published_at + timedelta(minutes=30))) < timedelta(seconds=5)


async def test_mitigation_and_resolution_prepare_their_statements(stack: Stack) -> None:
    incident = await declare(stack, Level.B)
    (first,) = await messages(stack, incident)
    await statements(stack).approve(first.id, GIL)

    await stack.service.mitigate(incident.id, Actor(name="Ada Okafor"), "rolled back")
    monitoring = (await messages(stack, incident, 2))[1]
    await stack.service.resolve(incident.id, Actor(name="Ada Okafor"), "fixed")
    resolved = (await messages(stack, incident, 3))[2]

    assert monitoring.stage is Stage.MONITORING
    assert resolved.stage is Stage.RESOLVED
    assert resolved.status is StatementStatus.DRAFT

    async def superseded() -> bool:
        record = await stack.store.statements.get(monitoring.id)
        return record is not None and record.status is StatementStatus.SUPERSEDED

    await eventually(superseded)


async def test_a_rejected_draft_is_drafted_again_with_the_same_due_time(stack: Stack) -> None:
    incident = await declare(stack)
    (draft,) = await messages(stack, incident)

    rejected = await statements(stack).reject(draft.id, "too vague", GIL)

    assert rejected.status is StatementStatus.REJECTED
    again = (await messages(stack, incident, 2))[1]
    assert again.status is StatementStatus.DRAFT
    assert again.due_at == draft.due_at
    (text,) = await events(stack, incident, EventKind.STATEMENT_REJECTED)
    assert "too vague" in text


async def test_a_correction_is_published_and_the_original_kept(stack: Stack) -> None:
    incident = await declare(stack)
    (draft,) = await messages(stack, incident)
    await statements(stack).approve(draft.id, GIL)

    correction = await statements(stack).correct(draft.id, "Only card payments fail.", GIL)

    assert correction.corrects == draft.id
    assert correction.status is StatementStatus.PUBLISHED

    async def superseded() -> bool:
        original = await stack.store.statements.get(draft.id)
        return original is not None and original.status is StatementStatus.SUPERSEDED

    await eventually(superseded)


async def test_a_drill_statement_goes_to_the_drill_preview_only(stack: Stack) -> None:
    incident = await declare(stack, drill=True)
    (draft,) = await messages(stack, incident)

    await statements(stack).approve(draft.id, GIL)

    async def previewed() -> list[Channel] | None:
        found = await stack.store.statements.deliveries(draft.id)
        return [d.channel for d in found] or None

    assert await eventually(previewed) == [Channel.DRILL_PREVIEW]
    assert await stack.store.statements.published_since(incident.declared_at) == []
    assert stack.notifier.of_kind(NotificationKind.STATEMENT, incident.id) == []


async def test_internal_incidents_tell_customers_nothing_unless_a_data_leak(stack: Stack) -> None:
    internal = await declare(stack, Level.C)
    leak = await declare(stack, Level.C, IncidentType.DATA_LEAK)

    (notice,) = await messages(stack, leak)

    assert notice.due_at == leak.declared_at + timedelta(minutes=60)
    assert "customer data" in notice.body
    assert await stack.store.statements.of_incident(internal.id) == []


async def test_nothing_is_held_breached_or_escalated_for_customers_once_the_incident_is_resolved(
    stack: Stack,
) -> None:
    """Declared A, acknowledged, lowered to B, updated, mitigated and resolved within a
    minute, nothing approved: the "resolved" draft may still be approved late, but customers
    are never told "investigating" after the fact, no breach is counted, nobody is chased."""
    incident = await declare(stack)
    await messages(stack, incident)
    bob = Actor(name="Bob")
    await stack.service.acknowledge(incident.id, bob)
    await stack.service.change_level(incident.id, Level.B, "only EU affected", bob)
    await stack.service.post_update(incident.id, "rolled back", bob)
    await stack.service.mitigate(incident.id, bob)
    await stack.service.resolve(incident.id, bob, "fixed")

    async def resolved_draft() -> Statement | None:
        found = await stack.store.statements.of_incident(incident.id)
        drafts = [m for m in found if m.status is StatementStatus.DRAFT]
        return drafts[0] if [m.stage for m in drafts] == [Stage.RESOLVED] else None

    draft = await eventually(resolved_draft)

    def asked_to_approve(message_id: str) -> list[str]:
        return [
            n.key
            for n in stack.notifier.of_kind(NotificationKind.APPROVAL, incident.id)
            if n.event.data.get("message") == message_id
        ]

    await eventually(lambda: asked_to_approve(draft.id))
    asked_before = set(asked(stack, incident))
    await stack.env.sleep(timedelta(hours=2))

    found = await stack.store.statements.of_incident(incident.id)
    assert [m for m in found if m.holding] == []
    assert [m for m in found if m.status is StatementStatus.PUBLISHED] == []
    assert not any(m.breached for m in found)
    timeline = [e.kind for e in await stack.store.timeline(incident.id)]
    assert EventKind.STATEMENT_BREACHED not in timeline
    assert EventKind.STATEMENT_ESCALATED not in timeline
    # The asks of drafts made before the resolution run side by side and may land after the
    # last one's (each once, by key); a chase would ask someone else: the next tier.
    assert set(asked(stack, incident)) == asked_before

    approved = await statements(stack).approve(draft.id, GIL)
    assert approved.status is StatementStatus.PUBLISHED
    assert approved.stage is Stage.RESOLVED
