"""Record the histories that ``test_replay.py`` replays: run each scenario on a fresh
time-skipping server with the real worker and write its history into ``histories/``.

    python -m tests.workflows.record_histories --tag effects-batch

Record new histories whenever workflow code changes on purpose, after guarding the change
with ``workflow.patched``, and commit them beside the old ones: both must keep replaying.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from alerts.catalog import load_catalog
from alerts.models import WebhookPayload
from domain.heartbeats import Monitor
from domain.models import (
    Actor,
    Declaration,
    EventKind,
    Function,
    Incident,
    IncidentType,
    Level,
    Recipient,
    Role,
    Tier,
)
from domain.reviews import ActionItem, ActionStatus
from domain.statements import Maintenance, Stage, Statement, StatementStatus
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_roster, load_scenarios
from playbooks.roster import RosterSource
from testkit.oncall import scheduled_playbooks
from testkit.partners import partner_playbooks
from testkit.waiting import eventually
from tests.alert_payloads import payload, raw, starting_at
from tests.conftest import Stack, open_stack
from tocsin.binaries import temporal_test_server
from workflows.announcements.client import AnnouncementService
from workflows.drills.client import DrillService, manual_workflow_id
from workflows.heartbeats.client import beat
from workflows.ids import (
    action_workflow_id,
    handoff_workflow_id,
    heartbeat_workflow_id,
    maintenance_workflow_id,
    pager_workflow_id,
    review_workflow_id,
    statements_workflow_id,
    workflow_id,
)
from workflows.incident.models import AckInput
from workflows.incident.workflow import IncidentWorkflow
from workflows.oncall.client import start_handoffs, tell_handoffs
from workflows.pager.workflow import PagerWorkflow
from workflows.reviews.client import ReviewService
from workflows.statements.client import StatementService

HISTORIES = Path(__file__).parent / "histories"
BOB = Actor(name="Bob")


async def full_lifecycle(stack: Stack) -> WorkflowHistory:
    incident = await stack.service.declare(
        Declaration(
            title="Payments API 5xx",
            level=Level.B,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=Actor(name="Alice"),
            service="payments",
        )
    )
    await stack.env.sleep(timedelta(minutes=31))
    await stack.service.change_level(incident.id, Level.A, "card payments down everywhere", BOB)
    await stack.service.acknowledge(incident.id, BOB)
    await stack.service.post_update(incident.id, "Failing over to the secondary PSP", BOB)
    await stack.env.sleep(timedelta(minutes=31))
    await stack.service.mitigate(incident.id, BOB, "secondary PSP serving")
    await stack.service.resolve(incident.id, BOB, "primary PSP fixed its TLS chain")
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident.id))
    await handle.result()

    async def fully_recorded() -> bool:
        kinds = [e.kind for e in await stack.store.timeline(incident.id)]
        return EventKind.RESOLVED in kinds

    await eventually(fully_recorded)
    return await handle.fetch_history()


async def breached_and_repaged(stack: Stack) -> WorkflowHistory:
    incident = await stack.service.declare(
        Declaration(
            title="Support chat down",
            level=Level.C,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=Actor(name="Alice"),
        )
    )
    await stack.env.sleep(timedelta(minutes=95))
    await stack.service.resolve(incident.id, BOB, "chat vendor recovered")
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident.id))
    await handle.result()
    return await handle.fetch_history()


async def acknowledged_by_a_kept_press(stack: Stack) -> WorkflowHistory:
    """A press no worker answered in time, kept as a signal (ADR 0038) and applied from its
    stamp; the same press kept twice counts once; then resolved."""
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=Actor(name="Alice"),
        )
    )
    pressed = await stack.env.get_current_time()
    await stack.env.sleep(timedelta(minutes=2))
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident.id))
    kept = AckInput(by=BOB, incident_id=incident.id, acted_at=pressed)
    await handle.signal(IncidentWorkflow.acknowledgement_taken, kept)
    await handle.signal(IncidentWorkflow.acknowledgement_taken, kept)
    await eventually(lambda: _has_kind(stack, incident.id, EventKind.ACKNOWLEDGED))
    await stack.service.resolve(incident.id, BOB, "rolled back")
    await handle.result()
    return await handle.fetch_history()


async def alert_group_flaps(stack: Stack) -> WorkflowHistory:
    """Opened by Alertmanager, redelivered, resolved with its alerts, reopened, resolved
    again, and closed when the reopen window runs out."""
    catalog = load_catalog()
    firing = WebhookPayload.model_validate(raw("support-chat-firing"))
    result = await stack.service.receive_alerts(firing, catalog)
    assert result.incident is not None
    incident_id = result.incident.id
    await stack.service.receive_alerts(firing, catalog)
    await stack.service.receive_alerts(payload("support-chat-resolved"), catalog)
    await stack.env.sleep(timedelta(minutes=5))
    refired = starting_at(
        raw("support-chat-firing"), result.incident.declared_at + timedelta(minutes=5)
    )
    await stack.service.receive_alerts(WebhookPayload.model_validate(refired), catalog)
    await stack.service.acknowledge(incident_id, BOB)
    resolved = starting_at(
        raw("support-chat-resolved"), result.incident.declared_at + timedelta(minutes=5)
    )
    await stack.service.receive_alerts(WebhookPayload.model_validate(resolved), catalog)
    await stack.env.sleep(timedelta(minutes=31))
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident_id))
    await handle.result()
    return await handle.fetch_history()


async def cleared_before_anyone_acknowledged(stack: Stack) -> WorkflowHistory:
    """A level-A alert incident whose alerts clear before anyone acknowledged: its lead is
    asked to confirm it, then again on the cadence, until someone resolves it."""
    catalog = load_catalog()
    result = await stack.service.receive_alerts(
        WebhookPayload.model_validate(payload("checkout-firing")), catalog
    )
    assert result.incident is not None
    incident_id = result.incident.id
    await stack.service.receive_alerts(
        WebhookPayload.model_validate(payload("checkout-resolved")), catalog
    )
    await stack.env.sleep(timedelta(hours=1, minutes=1))
    await stack.service.resolve(incident_id, BOB, "confirmed over")
    await stack.env.sleep(timedelta(minutes=31))  # the reopen window runs out
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident_id))
    await handle.result()
    return await handle.fetch_history()


async def pager_bundles_a_storm(stack: Stack) -> WorkflowHistory:
    """A page, four more within the bundle window, the bundle, and the pager's quiet end."""
    for n in range(5):
        await stack.service.declare(
            Declaration(
                title=f"Service {n} down",
                level=Level.B,
                type=IncidentType.SERVICE_OUTAGE,
                declared_by=Actor(name="Alice"),
            )
        )
    ada = load_roster().people(Function.TECHNICAL_SUPPORT, Tier.PRIMARY)[0]
    recipient = Recipient(
        person=ada, function=Function.TECHNICAL_SUPPORT, tier=Tier.PRIMARY, role=Role.LEAD
    )
    await eventually(lambda: len(stack.notifier.messages_to(ada.name)) == 1)
    await stack.env.sleep(timedelta(seconds=65))
    await eventually(lambda: len(stack.notifier.messages_to(ada.name)) == 2)
    handle = stack.client.get_workflow_handle_for(
        PagerWorkflow.run, pager_workflow_id(stack.task_queue, recipient)
    )
    await handle.result()
    return await handle.fetch_history()


def rules_playbooks(target: Path) -> Path:
    """The bundled playbooks with Ada paged by Slack, then e-mail at 2m, then Slack at 4m."""
    shutil.copytree(DEFAULT_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    roster = target / "roster.yaml"
    ada = "{name: Ada Okafor, slack_user_id: U0TECH001, email: ada@example.com}"
    rules = (
        "{name: Ada Okafor, slack_user_id: U0TECH001, email: ada@example.com, notify: "
        "[{channel: slack}, {channel: email, after: 2m}, {channel: slack, after: 4m}]}"
    )
    roster.write_text(roster.read_text(encoding="utf-8").replace(ada, rules), encoding="utf-8")
    return target


async def _acknowledged_between_steps(stack: Stack) -> tuple[str, Recipient]:
    """Ada's rules: Slack at once, e-mail at 2m; acknowledged after the e-mail."""
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=Actor(name="Alice"),
        )
    )
    ada = load_roster().people(Function.TECHNICAL_SUPPORT, Tier.PRIMARY)[0]
    recipient = Recipient(
        person=ada, function=Function.TECHNICAL_SUPPORT, tier=Tier.PRIMARY, role=Role.LEAD
    )
    await eventually(lambda: len(stack.notifier.messages_to(ada.name)) == 1)
    await stack.env.sleep(timedelta(minutes=2, seconds=5))

    async def emailed() -> bool:
        timeline = await stack.store.timeline(incident.id)
        return f"{ada.name} paged by email (step 2 of their rules)" in [e.text for e in timeline]

    await eventually(emailed)
    await stack.service.acknowledge(incident.id, Actor(name=ada.name))
    return incident.id, recipient


async def pager_steps_until_acknowledged(stack: Stack) -> WorkflowHistory:
    """Ada's rules: Slack at once, e-mail at 2m; the acknowledgement drops the third step."""
    _, recipient = await _acknowledged_between_steps(stack)
    return await _after(stack, pager_workflow_id(stack.task_queue, recipient), timedelta(minutes=3))


async def incident_stops_pages_when_acknowledged(stack: Stack) -> WorkflowHistory:
    """The incident's side of ``pager_steps_until_acknowledged``, resolved once the pager has
    ended. Under pages first the page's and the effects' results come back in two workflow
    tasks with nothing to do, so a replay hands the effects' result over together with the
    acknowledgement (ADR 0022)."""
    incident_id, recipient = await _acknowledged_between_steps(stack)
    await _after(stack, pager_workflow_id(stack.task_queue, recipient), timedelta(minutes=3))
    await stack.service.resolve(incident_id, BOB, "checkout recovered")
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident_id))
    await handle.result()
    return await handle.fetch_history()


async def heartbeat_missed_and_resumed(stack: Stack) -> WorkflowHistory:
    """A beat, a missed one (late, then the alarm opens an incident), and the beat that clears
    it. The monitor's workflow runs on: its history so far is what is kept."""
    monitor = Monitor(name="watchdog", interval=timedelta(minutes=5), grace=timedelta(minutes=2))
    await beat(stack.client, stack.task_queue, monitor, datetime.now(UTC))
    await stack.env.sleep(timedelta(minutes=7, seconds=10))

    async def opened() -> bool:
        return bool(await stack.store.list_incidents())

    await eventually(opened)
    await beat(stack.client, stack.task_queue, monitor, datetime.now(UTC))
    [incident] = await stack.store.list_incidents()

    async def cleared() -> bool:
        kinds = {e.kind for e in await stack.store.timeline(incident.id)}
        return bool({EventKind.ALERTS_CLEARED, EventKind.ALERTS_RESOLVED} & kinds)

    await eventually(cleared)
    handle = stack.client.get_workflow_handle(heartbeat_workflow_id(monitor.name))
    return await handle.fetch_history()


async def _after(stack: Stack, workflow_id: str, wait: timedelta) -> WorkflowHistory:
    """The workflow's history once it has ended, ``wait`` of skipped time from now."""
    await stack.env.sleep(wait)
    handle = stack.client.get_workflow_handle(workflow_id)

    async def ended() -> bool:
        return (await handle.describe()).close_time is not None

    await eventually(ended, what=f"{workflow_id} ended")
    return await handle.fetch_history()


async def _statements_of(stack: Stack, incident_id: str) -> list[Statement]:
    return await stack.store.statements.of_incident(incident_id)


async def statements_lifecycle(stack: Stack) -> WorkflowHistory:
    """Drafted, approved, corrected; monitoring and resolved drafts, the last approved; the
    workflow ends when the week of corrections is over."""
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.B,
            type=IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="Alice"),
        )
    )
    service = StatementService(stack.client, stack.task_queue, stack.playbooks)
    gil = Actor(name="Gil Ramos")
    (first,) = await eventually(lambda: _statements_of(stack, incident.id))
    await service.approve(first.id, gil)
    await service.correct(first.id, "Only card payments fail.", gil)
    await stack.service.mitigate(incident.id, BOB, "rolled back")
    await stack.service.resolve(incident.id, BOB, "fixed")

    async def resolved_draft() -> Statement | None:
        found = [
            m
            for m in await _statements_of(stack, incident.id)
            if m.stage is Stage.RESOLVED and m.status is StatementStatus.DRAFT
        ]
        return found[0] if found else None

    await service.approve((await eventually(resolved_draft)).id, gil)
    return await _after(stack, statements_workflow_id(incident.id), timedelta(days=8))


async def statement_held_and_escalated(stack: Stack) -> WorkflowHistory:
    """No approval: the breach, the holding statement, every escalation; then resolved."""
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="Alice"),
        )
    )
    await eventually(lambda: _statements_of(stack, incident.id))
    await stack.env.sleep(timedelta(minutes=40))
    await stack.service.resolve(incident.id, BOB, "fixed")
    return await _after(stack, statements_workflow_id(incident.id), timedelta(days=8))


async def statements_resolved_unapproved(stack: Stack) -> WorkflowHistory:
    """Resolved within a minute, nothing approved: the drafts of earlier stages withdrawn, the
    resolved one approved an hour late; no breach, no holding statement, nobody chased."""
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="Alice"),
        )
    )
    await eventually(lambda: _statements_of(stack, incident.id))
    await stack.service.mitigate(incident.id, BOB, "rolled back")
    await stack.service.resolve(incident.id, BOB, "fixed")

    async def resolved_draft() -> Statement | None:
        found = [
            m
            for m in await _statements_of(stack, incident.id)
            if m.stage is Stage.RESOLVED and m.status is StatementStatus.DRAFT
        ]
        return found[0] if found else None

    draft = await eventually(resolved_draft)
    await stack.env.sleep(timedelta(hours=1))
    service = StatementService(stack.client, stack.task_queue, stack.playbooks)
    await service.approve(draft.id, Actor(name="Gil Ramos"))
    return await _after(stack, statements_workflow_id(incident.id), timedelta(days=8))


async def maintenance_completed(stack: Stack) -> WorkflowHistory:
    now = await stack.env.get_current_time()
    maintenance = Maintenance(
        id="mnt-20261201-abcdef",
        title="Database upgrade",
        body="Checkout may be slow.",
        components=["checkout"],
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        created_by="Gil Ramos",
        created_at=now,
        version=1,
    )
    await AnnouncementService(stack.client, stack.task_queue).schedule_maintenance(maintenance)
    return await _after(stack, maintenance_workflow_id(maintenance.id), timedelta(hours=3))


async def maintenance_moved_holding_alerts(stack: Stack) -> WorkflowHistory:
    """Announced at its start, extended while on, an alert group held and handed to the
    intake at its end."""
    now = await stack.env.get_current_time()
    service = AnnouncementService(stack.client, stack.task_queue)
    maintenance = Maintenance(
        id="mnt-20261204-abcdef",
        title="Database upgrade",
        body="Checkout may be slow.",
        components=["checkout"],
        starts_at=now + timedelta(minutes=10),
        ends_at=now + timedelta(hours=1),
        created_by="Gil Ramos",
        created_at=now,
        version=1,
    )
    await service.schedule_maintenance(maintenance)
    await stack.env.sleep(timedelta(minutes=11))
    notification = starting_at(raw("checkout-firing"), now + timedelta(minutes=11))
    group = payload("checkout-firing").group_id
    await service.hold_alerts(maintenance.id, group, notification)
    await service.reschedule_maintenance(
        maintenance.id, None, now + timedelta(hours=2), "Gil Ramos"
    )
    return await _after(stack, maintenance_workflow_id(maintenance.id), timedelta(hours=2))


async def maintenance_cancelled_once_begun(stack: Stack) -> WorkflowHistory:
    """Begun, an alert group held, cancelled: answered once recorded, the group handed over."""
    now = await stack.env.get_current_time()
    service = AnnouncementService(stack.client, stack.task_queue)
    maintenance = Maintenance(
        id="mnt-20261204-fedcba",
        title="Network work",
        body="Brief interruptions.",
        components=["checkout"],
        starts_at=now + timedelta(minutes=10),
        ends_at=now + timedelta(hours=2),
        created_by="Gil Ramos",
        created_at=now,
        version=1,
    )
    await service.schedule_maintenance(maintenance)
    await stack.env.sleep(timedelta(minutes=11))
    notification = starting_at(raw("checkout-firing"), now + timedelta(minutes=11))
    await service.hold_alerts(maintenance.id, payload("checkout-firing").group_id, notification)
    await service.cancel_maintenance(maintenance.id, "Gil Ramos")
    return await _after(stack, maintenance_workflow_id(maintenance.id), timedelta(minutes=1))


async def _resolved(stack: Stack) -> Incident:
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            service="checkout",
            declared_by=Actor(name="Alice"),
        )
    )
    await stack.service.acknowledge(incident.id, BOB)
    return await stack.service.resolve(incident.id, BOB, "rolled back")


async def review_reminded_overdue_published(stack: Stack) -> WorkflowHistory:
    """Opened, reminded, overdue twice, then published."""
    incident = await _resolved(stack)
    review = await eventually(lambda: stack.store.reviews.of_incident(incident.id))
    await stack.env.sleep(timedelta(days=5, hours=1))
    now = await stack.env.get_current_time()
    service = ReviewService(stack.client, stack.task_queue, stack.store, stack.playbooks)
    await service.edit(review.id, {"root_cause": "a feature flag"}, now, None)
    await service.publish(review.id, "Bob", now)
    return await _after(stack, review_workflow_id(incident.id), timedelta(minutes=1))


async def action_followed_until_done(stack: Stack) -> WorkflowHistory:
    """Reminded, overdue, moved, overdue again, done."""
    incident = await _resolved(stack)
    review = await eventually(lambda: stack.store.reviews.of_incident(incident.id))
    now = await stack.env.get_current_time()
    service = ReviewService(stack.client, stack.task_queue, stack.store, stack.playbooks)
    action = ActionItem(
        id="a-00000000abcd",
        review_id=review.id,
        incident_id=incident.id,
        title="Canary deploys",
        owner="Bob",
        due_at=now + timedelta(days=3),
        created_at=now,
        created_by="Bob",
    )
    await service.add_action(review.id, action, now)
    await stack.env.sleep(timedelta(days=4))
    now = await stack.env.get_current_time()
    await service.change_action(
        action.id, status=None, reason=None, due_at=now + timedelta(days=2), owner=None,
        by="Bob", now=now,
    )  # fmt: skip
    await stack.env.sleep(timedelta(days=10))
    now = await stack.env.get_current_time()
    await service.change_action(
        action.id, status=ActionStatus.DONE, reason=None, due_at=None, owner=None,
        by="Bob", now=now,
    )  # fmt: skip
    return await _after(stack, action_workflow_id(action.id), timedelta(minutes=1))


def _drills(stack: Stack) -> DrillService:
    return DrillService(
        stack.client,
        stack.task_queue,
        stack.store,
        stack.playbooks,
        load_scenarios(),
        RosterSource(DEFAULT_DIR),
    )


async def drill_routine_answered(stack: Stack) -> WorkflowHistory:
    """A routine drill: injected through the intake, classified, acknowledged, resolved."""
    drills = _drills(stack)
    run = await drills.start("routine", Actor(name="Jo"), await stack.env.get_current_time())

    async def injected() -> str | None:
        recorded = await stack.store.drills.get(run.id)
        return recorded.incidents.get(0) if recorded else None

    incident_id = await eventually(injected)
    now = await stack.env.get_current_time()
    await drills.classify(incident_id, Level.B, IncidentType.SERVICE_OUTAGE, Actor(name="Ada"), now)
    await stack.env.sleep(timedelta(minutes=10))
    await stack.service.acknowledge(incident_id, Actor(name="Ada Okafor"))
    await stack.service.resolve(incident_id, Actor(name="Ada Okafor"), "rolled back")
    return await _after(stack, manual_workflow_id("routine"), timedelta(seconds=5))


async def drill_unanswered(stack: Stack) -> WorkflowHistory:
    """A routine drill nobody answers: it ends at its deadline."""
    drills = _drills(stack)
    await drills.start("routine", Actor(name="Jo"), await stack.env.get_current_time())
    return await _after(stack, manual_workflow_id("routine"), timedelta(hours=2, minutes=1))


async def handoffs_announced(stack: Stack) -> WorkflowHistory:
    """The support schedule's handoff process: woken by an override, two handoffs told."""
    await start_handoffs(stack.client, stack.task_queue, ["support"])
    now = await stack.env.get_current_time()
    start = now + timedelta(minutes=10)
    await stack.store.oncall.add_override(
        "support", "Ben Lindqvist", start, start + timedelta(hours=1), "Chen Wei", None, now
    )
    await tell_handoffs(stack.client, "support", "override made")
    await stack.env.sleep(timedelta(hours=2))
    handle = stack.client.get_workflow_handle(handoff_workflow_id("support"))
    await eventually(lambda: len(stack.notifier.told) >= 4, what="both handoffs told")
    history = await handle.fetch_history()
    await handle.terminate()  # it runs as long as the schedule exists
    return history


async def partner_engaged_late_and_answered(stack: Stack) -> WorkflowHistory:
    """A level A outage engages the cloudhost partner at once; it stays silent past its 30m
    target (its next contact paged), then answers; the incident is resolved."""
    incident = await stack.service.declare(
        Declaration(
            title="Hosting region down",
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=Actor(name="Alice"),
            service="checkout",
        )
    )
    await stack.service.acknowledge(incident.id, BOB)
    await stack.env.sleep(timedelta(minutes=31))
    await stack.service.acknowledge_partner(incident.id, "cloudhost", Actor(name="CloudHost NOC"))
    await stack.service.resolve(incident.id, BOB, "the provider restored the region")
    handle = stack.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(incident.id))
    await handle.result()
    await eventually(
        lambda: _has_kind(stack, incident.id, EventKind.RESOLVED), what="resolution recorded"
    )
    return await handle.fetch_history()


async def _has_kind(stack: Stack, incident_id: str, kind: EventKind) -> bool:
    return kind in [e.kind for e in await stack.store.timeline(incident_id)]


# Scenarios that need another playbook directory than the bundled one.
PLAYBOOKS: dict[str, Callable[[Path], Path]] = {
    "handoffs_announced": scheduled_playbooks,
    "partner_engaged_late_and_answered": partner_playbooks,
    "pager_steps_until_acknowledged": rules_playbooks,
    "incident_stops_pages_when_acknowledged": rules_playbooks,
}

SCENARIOS: dict[str, Callable[[Stack], Awaitable[WorkflowHistory]]] = {
    "full_lifecycle": full_lifecycle,
    "breached_and_repaged": breached_and_repaged,
    "acknowledged_by_a_kept_press": acknowledged_by_a_kept_press,
    "alert_group_flaps": alert_group_flaps,
    "pager_bundles_a_storm": pager_bundles_a_storm,
    "cleared_before_anyone_acknowledged": cleared_before_anyone_acknowledged,
    "statements_lifecycle": statements_lifecycle,
    "statement_held_and_escalated": statement_held_and_escalated,
    "statements_resolved_unapproved": statements_resolved_unapproved,
    "maintenance_completed": maintenance_completed,
    "maintenance_moved_holding_alerts": maintenance_moved_holding_alerts,
    "maintenance_cancelled_once_begun": maintenance_cancelled_once_begun,
    "review_reminded_overdue_published": review_reminded_overdue_published,
    "action_followed_until_done": action_followed_until_done,
    "drill_routine_answered": drill_routine_answered,
    "drill_unanswered": drill_unanswered,
    "handoffs_announced": handoffs_announced,
    "partner_engaged_late_and_answered": partner_engaged_late_and_answered,
    "pager_steps_until_acknowledged": pager_steps_until_acknowledged,
    "incident_stops_pages_when_acknowledged": incident_stops_pages_when_acknowledged,
    "heartbeat_missed_and_resumed": heartbeat_missed_and_resumed,
}


async def record(names: list[str], tag: str | None, out: Path) -> None:
    for name in names:
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=str(temporal_test_server()),
        )
        try:
            with tempfile.TemporaryDirectory() as workdir:
                prepare = PLAYBOOKS.get(name)
                playbooks = prepare(Path(workdir) / "pb") if prepare else DEFAULT_DIR
                async for stack in open_stack(env, Path(workdir), playbooks):
                    history = await SCENARIOS[name](stack)
        finally:
            await env.shutdown()
        target = out / (f"{name}.{tag}.json" if tag else f"{name}.json")
        target.write_text(history.to_json(), encoding="utf-8")
        print(f"recorded {target} ({len(history.events)} events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(SCENARIOS), help="scenarios to run")
    parser.add_argument("--tag", help="suffix, e.g. the patch id the histories were made with")
    parser.add_argument("--out", type=Path, default=HISTORIES)
    args = parser.parse_args()
    asyncio.run(record(args.names, args.tag, args.out))


if __name__ == "__main__":
    main()
