"""The statements workflow's side effects: drafting from the templates, recording, asking for
approval, and delivering a published statement (through ``workflows.fanout``, where each
delivery is recorded by statement, channel and target, so a retry never sends twice).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from temporalio import activity

from adapters.email import Mailer
from domain import wording
from domain.models import (
    EventKind,
    Function,
    NotificationKind,
    Recipient,
    Role,
    Tier,
    TimelineEvent,
)
from domain.notify import Notification, Notifier, PermanentFailure
from domain.playbook import KeyAccounts
from domain.rules.targets import recipients
from domain.statements import Channel, Delivery, DeliveryStatus, Stage
from playbooks.roster import RosterSource
from playbooks.templates import Templates
from workflows.fanout import DeliveriesPending, Fanout, Letter
from workflows.outbox import Outbox
from workflows.rota import on_call
from workflows.statements.models import (
    AskInput,
    DraftBodyInput,
    PublishInput,
    RecordStatementInput,
    ReportInput,
    StatementEffectsInput,
)

if TYPE_CHECKING:
    from adapters.records import RecordsStore

log = logging.getLogger(__name__)


def _clock(at: datetime | None) -> str:
    return "soon" if at is None else f"{at.astimezone(UTC):%H:%M} UTC"


class StatementActivities:
    def __init__(
        self,
        records: RecordsStore,
        notifier: Notifier,
        roster: RosterSource,
        templates: Templates,
        accounts: KeyAccounts,
        mailer: Mailer,
        fanout: Fanout,
    ) -> None:
        self._records = records
        self._notifier = notifier
        self._outbox = Outbox(records, notifier)
        self._roster = roster
        self._templates = templates
        self._accounts = accounts
        self._mailer = mailer
        self._fanout = fanout

    # ---------------------------------------------------------------------------- drafts

    @activity.defn(name="draft_statement")
    async def draft_body(self, input: DraftBodyInput) -> str:
        incident = input.incident
        values = {
            "title": incident.title,
            "service": incident.service or "our service",
            "impact": wording.impact(incident.level),
            "started": _clock(incident.declared_at),
            "next_update": _clock(input.next_update),
            "incident_url": f"{self._fanout.public_url}/status#{incident.id}",
            "level": incident.level.value,
        }
        kind = None if input.holding else incident.type
        body = self._templates.render(kind, input.stage, values)
        # A drill's statement is never published, but is read and approved like a real one.
        return f"DRILL (not sent to customers): {body}" if incident.drill else body

    @activity.defn(name="record_statement")
    async def record(self, input: RecordStatementInput) -> None:
        await self._records.statements.save(input.message)
        if input.events:
            await self._records.add_events(input.message.incident_id, input.events)

    @activity.defn(name="statement_effects")
    async def apply_effects(self, input: StatementEffectsInput) -> None:
        """A retry repeats only what did not take: the writes are newer-version-wins and
        every approval request is keyed. The records of the sends go in as few transactions as
        the sends allow (``RecordsStore.batch``)."""
        async with self._records.batch():
            for record in input.records:
                await self.record(record)
            for ask in input.asks:
                await self.ask_approval(ask)

    @activity.defn(name="ask_approval")
    async def ask_approval(self, input: AskInput) -> None:
        """Everyone on the tiers asked, each once (by key), in a direct message with Approve,
        Edit and Reject; one who cannot be reached for good is logged, not retried."""
        event = input.event.model_copy(
            update={
                "data": {
                    **input.event.data,
                    "message": input.message.id,
                    "body": input.message.body,
                    "due_at": input.message.due_at.isoformat() if input.message.due_at else None,
                }
            }
        )
        roster = (await on_call(self._records, self._roster, datetime.now(UTC))).roster
        for recipient in recipients(roster, input.targets):
            key = f"{input.key}/{recipient.person.name}"
            if await self._outbox.sent(key, incident_id=input.incident.id):
                continue
            text = wording.notification_text(
                NotificationKind.APPROVAL, input.incident, event, recipient
            )
            await self._outbox.send_once(
                Notification(
                    key=key,
                    kind=NotificationKind.APPROVAL,
                    incident=input.incident,
                    event=event,
                    recipient=recipient,
                    text=f"{text}\n    {input.message.body}",
                )
            )

    # ------------------------------------------------------------------------ deliveries

    @activity.defn(name="preview_statement")
    async def preview(self, input: PublishInput) -> None:
        """A drill's statement: recorded as published to the drill preview, nowhere else."""
        await self._records.statements.save(input.message)
        delivery = await self._fanout.attempt(input.message.id, Channel.DRILL_PREVIEW, "preview")
        if delivery is not None:
            await self._fanout.settle(delivery, DeliveryStatus.DELIVERED)

    @activity.defn(name="notify_key_accounts")
    async def notify_key_accounts(self, input: PublishInput) -> None:
        message, incident = input.message, input.incident
        pending = False
        for account in self._accounts.for_service(incident.service):
            delivery = await self._fanout.attempt(message.id, Channel.KEY_ACCOUNT, account.name)
            if delivery is None:
                continue
            manager = Recipient(
                person=account.manager,
                function=Function.CUSTOMER_SERVICE,
                tier=Tier.PRIMARY,
                role=Role.INFORMED,
            )
            event = TimelineEvent(
                incident_id=incident.id,
                seq=1,
                at=message.published_at or datetime.now(UTC),
                kind=EventKind.STATEMENT_PUBLISHED,
                text=message.body,
                data={"message": message.id, "account": account.name},
            )
            note = Notification(
                key=f"{message.id}/account/{account.name}",
                kind=NotificationKind.STATEMENT,
                incident=incident,
                event=event,
                recipient=manager,
                text=f"STATEMENT for {account.name} ({account.tier.value}) "
                f"[{incident.id}] {incident.title}: {message.body}",
            )
            pending |= await self._reach(delivery, self._notifier.send(note))
            address = account.manager.email
            if not address:
                continue
            mailed = await self._fanout.attempt(message.id, Channel.KEY_ACCOUNT, address)
            if mailed is None:
                continue
            pending |= await self._reach(
                mailed,
                self._mailer.send(
                    address,
                    f"[{account.name}] Before it is public: {incident.title}",
                    f"For {account.name}, ahead of the public statement:\n\n{message.body}\n",
                    {},
                ),
            )
        if pending:
            raise DeliveriesPending("some key accounts were not reached yet")

    async def _reach(self, delivery: Delivery, sending: Awaitable[object]) -> bool:
        """Try one delivery; True when it is worth trying again."""
        try:
            await sending
        except PermanentFailure as exc:
            await self._fanout.settle(delivery, DeliveryStatus.FAILED, exc.reason)
        except Exception as exc:
            await self._fanout.settle(delivery, DeliveryStatus.PENDING, type(exc).__name__)
            return True
        else:
            await self._fanout.settle(delivery, DeliveryStatus.DELIVERED)
        return False

    @activity.defn(name="publish_to_status_page")
    async def publish_to_status_page(self, input: PublishInput) -> None:
        await self._records.statements.save(input.message)
        delivery = await self._fanout.attempt(input.message.id, Channel.STATUS_PAGE, "status page")
        if delivery is not None:
            await self._fanout.settle(delivery, DeliveryStatus.DELIVERED)

    @activity.defn(name="email_subscribers")
    async def email_subscribers(self, input: PublishInput) -> None:
        message, incident = input.message, input.incident
        base = self._fanout.public_url

        def letter(unsubscribe: str) -> Letter:
            return Letter(
                subject=f"[{_stage_line(message.stage)}] {incident.title}",
                body=(
                    f"{message.body}\n\n{_stage_line(message.stage)} — {incident.title}\n"
                    f"Status page: {base}/status#{incident.id}\n"
                    f"Unsubscribe: {unsubscribe}\n"
                ),
            )

        if await self._fanout.email(message.id, letter):
            raise DeliveriesPending("some e-mails were not sent yet")

    @activity.defn(name="call_webhooks")
    async def call_webhooks(self, input: PublishInput) -> None:
        message, incident = input.message, input.incident
        payload: dict[str, Any] = {
            "type": "incident.statement.published",
            "timestamp": (message.published_at or message.drafted_at).isoformat(),
            "data": {
                "statement": {
                    "id": message.id,
                    "stage": message.stage.value,
                    "body": message.body,
                    "published_at": message.published_at,
                    "corrects": message.corrects,
                },
                "incident": {
                    "id": incident.id,
                    "title": incident.title,
                    "level": incident.level.value,
                    "status": incident.status.value,
                    "service": incident.service,
                },
            },
        }
        if await self._fanout.webhooks(message.id, payload):
            raise DeliveriesPending("some webhooks were not delivered yet")

    @activity.defn(name="report_deliveries")
    async def report_deliveries(self, input: ReportInput) -> None:
        """Where the statement went, in one line on the timeline."""
        found = await self._records.statements.deliveries(input.message.id)
        event = input.event.model_copy(
            update={
                "text": wording.statement_delivered(
                    [(d.channel.value, d.status.value, d.attempts) for d in found]
                )
            }
        )
        await self._records.add_events(input.message.incident_id, [event])


def _stage_line(stage: Stage) -> str:
    return stage.value.capitalize()
