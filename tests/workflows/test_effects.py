"""Side effects in bursts (ADR 0010), on the time-skipping server: one activity per
activation, direct messages bundled per person, permanent failures recorded and survived,
reminders to whoever owns the incident."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.models import (
    Actor,
    Declaration,
    EventKind,
    Function,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
    Recipient,
    Role,
    Status,
    Tier,
    TimelineEvent,
)
from domain.notify import Notification, PermanentFailure
from domain.statements import STATEMENT_SEQ
from playbooks.loader import load_roster
from testkit.playbooks import playbook_dir, with_bundle_window
from testkit.waiting import eventually
from tests.conftest import RecordingNotifier, Stack, open_stack
from workflows.ids import pager_workflow_id, workflow_id
from workflows.incident.workflow import IncidentWorkflow
from workflows.pager.client import hand_to_pager

ALICE = Actor(name="Alice")
ADA = "Ada Okafor"  # technical support primary in the bundled roster: leads service outages
WINDOW = timedelta(seconds=30)  # the bundled roster's bundle_window


async def declare(
    stack: Stack, title: str = "Checkout failing", level: Level = Level.B
) -> Incident:
    return await stack.service.declare(
        Declaration(title=title, level=level, type=IncidentType.SERVICE_OUTAGE, declared_by=ALICE)
    )


async def scheduled_activities(stack: Stack, incident: Incident) -> list[str]:
    handle = stack.client.get_workflow_handle(workflow_id(incident.id))
    history = await handle.fetch_history()
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_each_activation_runs_its_record_and_notifications_as_one_activity(
    stack: Stack,
) -> None:
    incident = await declare(stack)
    await eventually(lambda: stack.notifier.of_kind(NotificationKind.PAGE, incident.id))
    await stack.service.acknowledge(incident.id, Actor(name="Bob"))
    await stack.service.resolve(incident.id, Actor(name="Bob"), "rolled back")
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident.id))
    await handle.result()

    # Declaration (record, engagement, notice, card; its pages in an activity of their own,
    # ADR 0022), the acknowledgement and the resolution: three activations that decided
    # something, three activities, and the one that paged.
    assert await scheduled_activities(stack, incident) == ["hand_pages"] + ["apply_effects"] * 3
    # The incident's own events (its customer statements have theirs too).
    kinds = [e.kind for e in await stack.store.timeline(incident.id) if e.seq < STATEMENT_SEQ]
    assert kinds == [
        EventKind.DECLARED,
        EventKind.PAGED,
        EventKind.ENGAGED,
        EventKind.INFORMED,
        EventKind.ACKNOWLEDGED,
        EventKind.RESOLVED,
    ]
    recorded = await stack.store.get_incident(incident.id)
    assert recorded is not None
    assert {p.name for p in recorded.paged} == {ADA, "Dara Nwosu", "Gil Ramos"}


async def test_the_lead_is_paged_while_the_incidents_records_cannot_be_written(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADR 0022: the page leaves from the incident's first workflow task on its own queue;
    nothing of the paperwork (here the records write every other effect comes after) is in
    its way."""
    release = asyncio.Event()
    write = stack.store.apply

    async def stuck(incident: Incident, events: Sequence[TimelineEvent]) -> None:
        await release.wait()
        await write(incident, events)

    monkeypatch.setattr(stack.store, "apply", stuck)
    incident = await declare(stack)

    await eventually(lambda: len(stack.notifier.messages_to(ADA)) == 1)
    assert [p.incident.id for p in stack.notifier.messages_to(ADA)[0]] == [incident.id]
    assert await stack.store.get_incident(incident.id) is None
    assert not stack.notifier.of_kind(NotificationKind.STATUS, incident.id)

    release.set()

    async def recorded() -> bool:
        stored = await stack.store.get_incident(incident.id)
        return stored is not None and ADA in {p.name for p in stored.paged}

    await eventually(recorded)
    assert len(stack.notifier.messages_to(ADA)) == 1


async def test_pages_to_one_person_within_the_window_come_as_one_message(stack: Stack) -> None:
    first = await declare(stack, "Checkout failing")
    await eventually(lambda: len(stack.notifier.messages_to(ADA)) == 1)
    started = await stack.env.get_current_time()

    storm = [await declare(stack, f"Service {n} down") for n in range(5)]

    # Every page of the storm has been handed to Ada's pager by now ("reached").
    async def handed_over() -> bool:
        for incident in storm:
            live = await stack.service.current(incident.id)
            if ADA not in {p.name for p in live.paged}:
                return False
        return True

    await eventually(handed_over)
    assert len(stack.notifier.messages_to(ADA)) == 1  # held while the first page is fresh

    await stack.env.sleep(
        WINDOW - (await stack.env.get_current_time() - started) + timedelta(seconds=1)
    )
    await eventually(lambda: len(stack.notifier.messages_to(ADA)) == 2)

    single, bundle = stack.notifier.messages_to(ADA)
    assert [p.incident.id for p in single] == [first.id]
    assert sorted(p.incident.id for p in bundle) == sorted(i.id for i in storm)
    assert {p.kind for p in bundle} == {NotificationKind.PAGE}
    # Dara (customer service, engaged in support) got hers bundled the same way.
    assert [len(m) for m in stack.notifier.messages_to("Dara Nwosu")] == [1, 5]


class RefusingNotifier(RecordingNotifier):
    """Slack saying ``channel_not_found`` for every engagement: a configuration mistake."""

    async def send(self, notification: Notification) -> str | None:
        if notification.kind is NotificationKind.ENGAGE:
            raise PermanentFailure("channel_not_found")
        return await super().send(notification)


@pytest.fixture
async def refusing(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async for opened in open_stack(ts_env, tmp_path, notifier=RefusingNotifier()):
        yield opened


async def test_a_permanent_failure_is_recorded_and_the_incident_still_resolves(
    refusing: Stack,
) -> None:
    stack = refusing
    incident = await declare(stack)

    async def failure_recorded() -> bool:
        kinds = [e.kind for e in await stack.store.timeline(incident.id)]
        return EventKind.NOTIFICATION_FAILED in kinds

    await eventually(failure_recorded)
    failed = [
        e
        for e in await stack.store.timeline(incident.id)
        if e.kind is EventKind.NOTIFICATION_FAILED
    ]
    assert failed[0].data["reason"] == "channel_not_found"
    assert failed[0].data["recipient"] == "Dara Nwosu"
    assert "will not be retried" in failed[0].text
    # The page to the lead went out regardless.
    assert [
        n.recipient.person.name
        for n in stack.notifier.of_kind(NotificationKind.PAGE)
        if n.recipient
    ] == [ADA]

    resolved = await stack.service.resolve(incident.id, Actor(name="Bob"), "fixed")
    assert resolved.status is Status.RESOLVED
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident.id))
    assert (await handle.result()).status is Status.RESOLVED
    counts = Counter(await scheduled_activities(stack, incident))
    assert set(counts) == {"apply_effects", "hand_pages"}


async def test_update_reminders_go_to_whoever_acknowledged(stack: Stack) -> None:
    incident = await declare(stack, level=Level.B)
    carol = Actor(name="carol")  # acknowledged from the CLI; not in the roster
    acked = await stack.service.acknowledge(incident.id, carol)
    assert acked.acknowledged_at is not None

    await stack.env.sleep(timedelta(hours=1, seconds=5))  # level B: an update every hour
    await eventually(lambda: stack.notifier.of_kind(NotificationKind.REMINDER, incident.id))

    reminder = stack.notifier.of_kind(NotificationKind.REMINDER, incident.id)[0]
    assert reminder.recipient is not None
    assert reminder.recipient.person.name == "carol"
    assert reminder.recipient.role.value == "lead"
    assert "carol" in reminder.text


async def test_reminders_reach_the_roster_entry_of_a_slack_user_who_acknowledged(
    stack: Stack,
) -> None:
    incident = await declare(stack, level=Level.B)
    await stack.service.acknowledge(incident.id, Actor(name="Ben", slack_user_id="U0TECH002"))

    await stack.env.sleep(timedelta(hours=1, seconds=5))
    await eventually(lambda: stack.notifier.of_kind(NotificationKind.REMINDER, incident.id))

    reminder = stack.notifier.of_kind(NotificationKind.REMINDER, incident.id)[0]
    assert isinstance(reminder.recipient, Recipient)
    assert reminder.recipient.person.name == "Ben Lindqvist"
    assert reminder.recipient.person.email == "ben@example.com"


async def test_pages_handed_to_one_pager_at_once_share_its_signals(stack: Stack) -> None:
    """A storm pages one person from every incident at the same moment: the worker sends
    what waits for that pager together (ADR 0022), and each page still reaches her once."""
    incident = await declare(stack)
    await eventually(lambda: len(stack.notifier.messages_to(ADA)) == 1)
    started = await stack.env.get_current_time()
    ada = load_roster().people(Function.TECHNICAL_SUPPORT, Tier.PRIMARY)[0]
    recipient = Recipient(
        person=ada, function=Function.TECHNICAL_SUPPORT, tier=Tier.PRIMARY, role=Role.LEAD
    )
    # The page goes out from a hop of its own (ADR 0037); the records may follow it.
    (declared, *_) = await eventually(lambda: stack.store.timeline(incident.id))
    pages = [
        Notification(
            key=f"{incident.id}/storm-{n}/page/{ada.name}",
            kind=NotificationKind.PAGE,
            incident=incident,
            event=declared,
            recipient=recipient,
            text=f"page {n}",
        )
        for n in range(10)
    ]

    await asyncio.gather(
        *(hand_to_pager(stack.client, stack.task_queue, p, recipient, WINDOW) for p in pages)
    )

    handle = stack.client.get_workflow_handle(pager_workflow_id(stack.task_queue, recipient))
    signals = [
        event
        for event in (await handle.fetch_history()).events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert 2 <= len(signals) < 1 + len(pages)  # the first page, then the storm's, shared
    await stack.env.sleep(
        WINDOW - (await stack.env.get_current_time() - started) + timedelta(seconds=1)
    )
    await eventually(lambda: len(stack.notifier.messages_to(ADA)) == 2)
    bundle = stack.notifier.messages_to(ADA)[1]
    assert sorted(p.text for p in bundle) == sorted(p.text for p in pages)


@pytest.fixture
async def unbundled(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    playbooks = with_bundle_window(playbook_dir(tmp_path / "playbooks"), "0s")
    async for opened in open_stack(ts_env, tmp_path, playbooks, notifier=RefusingNotifier()):
        yield opened


async def test_with_no_bundle_window_a_page_goes_straight_from_its_first_hop(
    unbundled: Stack,
) -> None:
    """Nothing to bundle: the page leaves from the activity the incident's first workflow
    task scheduled, with no pager in between (ADR 0022); a refusal for good is still on
    the timeline."""
    stack = unbundled
    incident = await declare(stack)

    await eventually(lambda: len(stack.notifier.messages_to(ADA)) == 1)
    ada = load_roster().people(Function.TECHNICAL_SUPPORT, Tier.PRIMARY)[0]
    recipient = Recipient(
        person=ada, function=Function.TECHNICAL_SUPPORT, tier=Tier.PRIMARY, role=Role.LEAD
    )
    pager = stack.client.get_workflow_handle(pager_workflow_id(stack.task_queue, recipient))
    with pytest.raises(RPCError):
        await pager.describe()  # never started

    async def refusal_recorded() -> list[TimelineEvent]:
        return [
            e
            for e in await stack.store.timeline(incident.id)
            if e.kind is EventKind.NOTIFICATION_FAILED
        ]

    failed = await eventually(refusal_recorded)
    assert failed[0].data["recipient"] == "Dara Nwosu"  # her engagement, refused
    assert [p.incident.id for p in stack.notifier.messages_to(ADA)[0]] == [incident.id]
