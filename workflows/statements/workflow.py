"""StatementsWorkflow: what customers are told about one incident.

When a statement falls due, it is drafted from the templates and the communications lead (the
brand / PR function's primary) is asked to approve it. Only an approved statement is
published, to the key accounts' managers first, then the status page, e-mail and webhook
subscribers. An approval not given by its due time is a statement breach: it escalates through
the playbook's tiers and, where the playbook says so, the pre-approved holding statement goes
out meanwhile. After each publication the next update falls due on the level's cadence;
mitigation and resolution prepare the monitoring and resolved statements. A drill's
statements go to the drill preview only.

The incident's activities start this workflow (signal-with-start) when customers are to be
told, and tell it of every change that matters; people act on it through updates.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import wording
    from domain.models import (
        Actor,
        EventKind,
        Function,
        Role,
        Status,
        Tier,
        TimelineEvent,
    )
    from domain.playbook import CustomerPolicy, PageTarget
    from domain.rules import statements as rules
    from domain.rules.effects import NotifyTarget
    from domain.statements import (
        STATEMENT_SEQ,
        CustomerMessage,
        MessageStatus,
        Stage,
        StatementsState,
    )
    from workflows import retry
    from workflows.protocol import CONFLICT, INVALID, NOT_FOUND
    from workflows.statements.activities import StatementActivities
    from workflows.statements.models import (
        ApproveInput,
        AskInput,
        CorrectInput,
        DraftBodyInput,
        DraftInput,
        IncidentChanged,
        PublishInput,
        RecordStatementInput,
        RejectInput,
        ReportInput,
        StatementEffectsInput,
        StatementsInput,
    )

TOCSIN = Actor(name="tocsin")
# Corrections are taken this long after the incident is resolved; then the workflow ends.
CORRECTIONS_FOR = timedelta(days=7)

_TIMEOUT = timedelta(minutes=2)
COMMS_LEAD = [PageTarget(function=Function.BRAND_PR, tier=Tier.PRIMARY)]
KEY_ACCOUNTS_HEAD_START = timedelta(minutes=1)
# Drafts rendered by a local activity, and the record writes and approval requests of one
# step sent as one activity: the Temporal tasks a new incident's first statement costs fall
# from four workflow tasks and three activity tasks to two and one (ADR 0016).
EFFECTS_BATCHED = "statement-effects-batched"


def _not_correctable(message: CustomerMessage) -> str:
    return f"statement {message.id} is {message.status.value}: only a published one is corrected"


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, type=INVALID, non_retryable=True)


def _conflict(message: str) -> ApplicationError:
    return ApplicationError(message, type=CONFLICT, non_retryable=True)


@workflow.defn
class StatementsWorkflow:
    @workflow.init
    def __init__(self, input: StatementsInput) -> None:
        self._s = input.resume or StatementsState(incident=input.incident)
        self._policies = input.policies
        self._changes: list[IncidentChanged] = []
        self._wake = False
        self._lock = asyncio.Lock()
        self._background: list[asyncio.Task[Any]] = []
        self._batch = StatementEffectsInput()

    @property
    def _policy(self) -> CustomerPolicy:
        return self._policies[self._s.incident.level]

    def _told(self) -> bool:
        return self._policy.applies(self._s.incident.type)

    # ------------------------------------------------------------------------- run loop

    @workflow.run
    async def run(self, input: StatementsInput) -> StatementsState:
        if input.resume is None and not self._s.messages and self._told():
            incident = self._s.incident
            async with self._lock:
                await self._draft(
                    Stage.of(incident.status),
                    due_at=incident.declared_at + self._policy.first_statement,
                    by=TOCSIN,
                )
        while True:
            await self._take_changes()
            if self._over():
                await self._drain()
                if not self._changes:
                    return self._s
                continue
            if workflow.info().is_continue_as_new_suggested():
                await self._drain()
                workflow.continue_as_new(
                    StatementsInput(
                        incident=self._s.incident, policies=self._policies, resume=self._s
                    )
                )
            due = rules.next_due(self._s, self._policy)
            resolved_at = self._s.incident.resolved_at
            if resolved_at is not None:
                closing = resolved_at + CORRECTIONS_FOR
                due = closing if due is None else min(due, closing)
            self._wake = False
            now = workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: self._wake or bool(self._changes),
                    timeout=None if due is None else max(due - now, timedelta(0)),
                )
            except TimeoutError:
                async with self._lock:
                    for action in rules.due_now(self._s, self._policy, workflow.now()):
                        await self._act(action)

    def _over(self) -> bool:
        resolved_at = self._s.incident.resolved_at
        return (
            self._s.incident.status is Status.RESOLVED
            and resolved_at is not None
            and workflow.now() >= resolved_at + CORRECTIONS_FOR
        )

    async def _take_changes(self) -> None:
        while self._changes:
            change = self._changes.pop(0)
            if change.incident.version <= self._s.incident.version:
                continue  # a retried activity told it again, or an older snapshot
            async with self._lock:
                await self._changed(change)

    async def _changed(self, change: IncidentChanged) -> None:
        before, after = self._s.incident, change.incident
        was_told = self._told()
        self._s.incident, self._policies = after, change.policies
        if not self._told():
            return
        now = workflow.now()
        soon = now + self._policy.first_statement
        if not was_told and not self._s.messages:
            # A level raised to one whose customers are told.
            await self._draft(Stage.of(after.status), due_at=soon, by=TOCSIN)
        elif after.status is not before.status and after.status in (
            Status.MITIGATED,
            Status.RESOLVED,
        ):
            await self._draft(Stage.of(after.status), due_at=soon, by=TOCSIN)
        if after.status is Status.RESOLVED:
            self._s.next_update_due = None

    async def _act(self, action: rules.Due) -> None:
        if isinstance(action, rules.Breach):
            await self._breach(action.message, holding=action.holding)
        elif isinstance(action, rules.Escalate):
            self._escalate(action.message, action.step, action.page)
        else:
            await self._draft(action.stage, due_at=action.due_at, by=TOCSIN)

    # ----------------------------------------------------------------------- transitions

    def _message(self, message_id: str) -> CustomerMessage:
        for message in self._s.messages:
            if message.id == message_id:
                return message
        raise ApplicationError(f"no statement {message_id}", type=NOT_FOUND, non_retryable=True)

    def _event(self, kind: EventKind, text: str, by: Actor, **data: Any) -> TimelineEvent:
        self._s.event_seq += 1
        return TimelineEvent(
            incident_id=self._s.incident.id,
            seq=STATEMENT_SEQ + self._s.event_seq,
            at=workflow.now(),
            kind=kind,
            actor=by.name,
            text=text,
            data={k: str(v) if not isinstance(v, int | bool) else v for k, v in data.items()},
        )

    async def _body(self, stage: Stage, *, holding: bool = False) -> str:
        next_update = workflow.now() + self._policy.update_every
        draft = DraftBodyInput(
            incident=self._s.incident, stage=stage, holding=holding, next_update=next_update
        )
        if workflow.patched(EFFECTS_BATCHED):
            # Rendering a template touches nothing outside the worker: no task queue trip.
            return await workflow.execute_local_activity_method(
                StatementActivities.draft_body,
                draft,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=retry.CUSTOMERS,
            )
        return await workflow.execute_activity_method(
            StatementActivities.draft_body,
            draft,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=retry.CUSTOMERS,
        )

    async def _draft(
        self,
        stage: Stage,
        *,
        due_at: Any,
        by: Actor,
        body: str | None = None,
        reason: str = "",
    ) -> CustomerMessage:
        """A new draft replaces any draft still waiting, and the comms lead is asked."""
        text = body if body is not None else await self._body(stage)
        now = workflow.now()
        for waiting in self._s.messages:
            if waiting.status is MessageStatus.DRAFT:
                waiting.status = MessageStatus.SUPERSEDED
                waiting.version += 1
                self._record(waiting)
        self._s.seq += 1
        message = CustomerMessage(
            id=f"{self._s.incident.id}-m{self._s.seq}",
            incident_id=self._s.incident.id,
            stage=stage,
            body=text,
            drill=self._s.incident.drill,
            due_at=due_at,
            drafted_at=now,
            drafted_by=by.name,
            version=1,
        )
        self._s.messages.append(message)
        self._s.update_reminded = False
        event = self._event(
            EventKind.STATEMENT_DRAFTED,
            wording.statement_drafted(stage.value, due_at, wording.asked(COMMS_LEAD), reason),
            by,
            message=message.id,
            stage=stage.value,
        )
        self._record(message, event)
        self._ask(message, COMMS_LEAD, event, f"{message.id}/ask")
        return message

    async def _breach(self, message: CustomerMessage, *, holding: bool) -> None:
        message.breached = True
        message.version += 1
        self._record(
            message,
            self._event(
                EventKind.STATEMENT_BREACHED,
                wording.statement_breached(message.due_at or workflow.now(), holding),
                TOCSIN,
                message=message.id,
            ),
        )
        if not holding:
            return
        text = await self._body(message.stage, holding=True)
        self._s.seq += 1
        now = workflow.now()
        held = CustomerMessage(
            id=f"{self._s.incident.id}-m{self._s.seq}",
            incident_id=self._s.incident.id,
            stage=message.stage,
            body=text,
            drill=self._s.incident.drill,
            drafted_at=now,
            drafted_by=TOCSIN.name,
            approved_by="pre-approved holding statement",
            approved_at=now,
            holding=True,
            status=MessageStatus.APPROVED,
            version=1,
        )
        self._s.messages.append(held)
        self._publish(held)

    def _escalate(self, message: CustomerMessage, step: int, page: list[PageTarget]) -> None:
        message.escalations = step + 1
        message.version += 1
        event = self._event(
            EventKind.STATEMENT_ESCALATED,
            wording.statement_escalated(step + 1, len(self._policy.escalate), wording.asked(page)),
            TOCSIN,
            message=message.id,
        )
        self._record(message, event)
        self._ask(message, page, event, f"{message.id}/escalation/{step + 1}")

    def _publish(self, message: CustomerMessage) -> None:
        """Published now; the deliveries follow in the background, key accounts first."""
        now = workflow.now()
        message.status = MessageStatus.PUBLISHED
        message.published_at = now
        message.version += 1
        if self._s.incident.status is not Status.RESOLVED:
            self._s.next_update_due = now + self._policy.update_every
        event = self._event(
            EventKind.STATEMENT_PUBLISHED,
            wording.statement_published(message.stage.value, message.holding, message.drill),
            TOCSIN,
            message=message.id,
            stage=message.stage.value,
        )
        self._record(message, event)
        self._spawn(self._deliver(message.model_copy(deep=True)))
        self._wake = True

    async def _deliver(self, message: CustomerMessage) -> None:
        publish = PublishInput(message=message, incident=self._s.incident)
        options: dict[str, Any] = {
            "start_to_close_timeout": _TIMEOUT,
            "retry_policy": retry.CUSTOMERS,
        }
        if message.drill:
            await workflow.execute_activity_method(StatementActivities.preview, publish, **options)
            return
        # The priority contact chain: account managers hear it before the public does, but a
        # manager who cannot be reached holds the public back by a minute at most.
        accounts = workflow.start_activity_method(
            StatementActivities.notify_key_accounts, publish, **options
        )
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(accounts.done, timeout=KEY_ACCOUNTS_HEAD_START)
        await workflow.execute_activity_method(
            StatementActivities.publish_to_status_page, publish, **options
        )
        await asyncio.gather(
            workflow.execute_activity_method(
                StatementActivities.email_subscribers, publish, **options
            ),
            workflow.execute_activity_method(StatementActivities.call_webhooks, publish, **options),
        )
        await accounts
        event = self._event(EventKind.STATEMENT_DELIVERED, "", TOCSIN, message=message.id)
        await workflow.execute_activity_method(
            StatementActivities.report_deliveries,
            ReportInput(message=message, event=event),
            **options,
        )

    # ------------------------------------------------------------------- side effects

    def _record(self, message: CustomerMessage, *events: TimelineEvent) -> None:
        record = RecordStatementInput(message=message.model_copy(deep=True), events=list(events))
        if workflow.patched(EFFECTS_BATCHED):
            self._queue().records.append(record)
            return
        self._spawn(
            workflow.execute_activity_method(
                StatementActivities.record,
                record,
                start_to_close_timeout=_TIMEOUT,
                retry_policy=retry.CUSTOMERS,
            )
        )

    def _ask(
        self, message: CustomerMessage, page: list[PageTarget], event: TimelineEvent, key: str
    ) -> None:
        matrix_role = Role.LEAD
        targets = [
            NotifyTarget(function=t.function or Function.BRAND_PR, tier=t.tier, role=matrix_role)
            for t in page
        ]
        ask = AskInput(
            message=message.model_copy(deep=True),
            incident=self._s.incident,
            targets=targets,
            event=event,
            key=key,
        )
        if workflow.patched(EFFECTS_BATCHED):
            self._queue().asks.append(ask)
            return
        self._spawn(
            workflow.execute_activity_method(
                StatementActivities.ask_approval,
                ask,
                start_to_close_timeout=_TIMEOUT,
                retry_policy=retry.CUSTOMERS,
            )
        )

    def _queue(self) -> StatementEffectsInput:
        """The batch this step's effects join. The first one of a step schedules the send,
        which runs once the step yields, so everything the step decided goes together."""
        if not self._batch.records and not self._batch.asks:
            self._spawn(self._send_batch())
        return self._batch

    async def _send_batch(self) -> None:
        batch, self._batch = self._batch, StatementEffectsInput()
        await workflow.execute_activity_method(
            StatementActivities.apply_effects,
            batch,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.CUSTOMERS,
        )

    def _spawn(self, work: Any) -> None:
        self._background = [t for t in self._background if not t.done()]
        self._background.append(asyncio.ensure_future(work))

    async def _drain(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        while self._background:
            pending, self._background = self._background, []
            await asyncio.gather(*pending)

    # --------------------------------------------------------------------- what people do

    @workflow.signal
    def incident_changed(self, change: IncidentChanged) -> None:
        self._changes.append(change)

    @workflow.query
    def messages(self) -> list[CustomerMessage]:
        return self._s.messages

    @workflow.update
    async def draft(self, input: DraftInput) -> CustomerMessage:
        """A statement drafted by a person (or from the template when no body is given)."""
        async with self._lock:
            due = workflow.now() + self._policy.first_statement
            return await self._draft(input.stage, due_at=due, by=input.by, body=input.body)

    @draft.validator
    def _validate_draft(self, input: DraftInput) -> None:
        if input.body is not None and not input.body.strip():
            raise ApplicationError(
                "body: a statement cannot be empty", type=INVALID, non_retryable=True
            )

    @workflow.update
    async def approve(self, input: ApproveInput) -> CustomerMessage:
        async with self._lock:
            message = self._message(input.message_id)
            if message.status is not MessageStatus.DRAFT:
                # Someone else acted while this waited for the lock.
                raise _conflict(self._why_not_draft(message))
            edited = input.body is not None and input.body.strip() != message.body
            if input.body is not None:
                message.body = input.body.strip()
            message.status = MessageStatus.APPROVED
            message.approved_by = input.by.name
            message.approved_at = workflow.now()
            message.version += 1
            self._record(
                message,
                self._event(
                    EventKind.STATEMENT_APPROVED,
                    wording.statement_approved(input.by.name, edited),
                    input.by,
                    message=message.id,
                ),
            )
            self._publish(message)
            return message

    @approve.validator
    def _validate_approve(self, input: ApproveInput) -> None:
        message = self._message(input.message_id)
        if message.status is not MessageStatus.DRAFT:
            raise _conflict(self._why_not_draft(message))
        if input.body is not None and not input.body.strip():
            raise ApplicationError(
                "body: an approved statement cannot be empty", type=INVALID, non_retryable=True
            )

    def _why_not_draft(self, message: CustomerMessage) -> str:
        if message.approved_by is not None:
            at = f" at {message.approved_at:%Y-%m-%d %H:%M:%S} UTC" if message.approved_at else ""
            return f"statement {message.id} was already approved by {message.approved_by}{at}"
        if message.status is MessageStatus.REJECTED:
            return f"statement {message.id} was rejected by {message.rejected_by}"
        return f"statement {message.id} is {message.status.value}, not a draft waiting for approval"

    @workflow.update
    async def reject(self, input: RejectInput) -> CustomerMessage:
        async with self._lock:
            message = self._message(input.message_id)
            if message.status is not MessageStatus.DRAFT:
                raise _conflict(self._why_not_draft(message))
            message.status = MessageStatus.REJECTED
            message.rejected_by = input.by.name
            message.rejected_reason = input.reason
            message.version += 1
            self._record(
                message,
                self._event(
                    EventKind.STATEMENT_REJECTED,
                    wording.statement_rejected(input.by.name, input.reason),
                    input.by,
                    message=message.id,
                ),
            )
            # The statement is still due: a fresh draft keeps the clock and asks again.
            await self._draft(
                message.stage,
                due_at=message.due_at,
                by=TOCSIN,
                reason=f"the last one was rejected by {input.by.name}: {input.reason}",
            )
            return message

    @reject.validator
    def _validate_reject(self, input: RejectInput) -> None:
        message = self._message(input.message_id)
        if message.status is not MessageStatus.DRAFT:
            raise _conflict(self._why_not_draft(message))

    @workflow.update
    async def correct(self, input: CorrectInput) -> CustomerMessage:
        """Publish a correction of a published statement; the original is kept, superseded."""
        async with self._lock:
            original = self._message(input.message_id)
            if original.status is not MessageStatus.PUBLISHED:
                raise _conflict(_not_correctable(original))
            original.status = MessageStatus.SUPERSEDED
            original.version += 1
            now = workflow.now()
            self._s.seq += 1
            correction = CustomerMessage(
                id=f"{self._s.incident.id}-m{self._s.seq}",
                incident_id=self._s.incident.id,
                stage=original.stage,
                body=input.body.strip(),
                drill=original.drill,
                drafted_at=now,
                drafted_by=input.by.name,
                approved_by=input.by.name,
                approved_at=now,
                status=MessageStatus.APPROVED,
                corrects=original.id,
                version=1,
            )
            self._s.messages.append(correction)
            self._record(
                original,
                self._event(
                    EventKind.STATEMENT_CORRECTED,
                    wording.statement_corrected(input.by.name, original.id),
                    input.by,
                    message=correction.id,
                    corrects=original.id,
                ),
            )
            self._publish(correction)
            return correction

    @correct.validator
    def _validate_correct(self, input: CorrectInput) -> None:
        original = self._message(input.message_id)
        if original.status is not MessageStatus.PUBLISHED:
            raise _conflict(_not_correctable(original))
        if not input.body.strip():
            raise ApplicationError(
                "body: a correction cannot be empty", type=INVALID, non_retryable=True
            )
