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
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import wording
    from domain.models import (
        Actor,
        Function,
        Role,
        Status,
        Tier,
        TimelineEvent,
    )
    from domain.playbook import CustomerPolicy, PageTarget
    from domain.rules import statements as rules
    from domain.rules.effects import Ask, NotifyTarget, Record
    from domain.statements import (
        Stage,
        Statement,
        StatementsState,
        StatementStatus,
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
# Once the incident is resolved, a waiting draft's due time stops counting (no breach, no
# holding statement, no escalation) and drafts of earlier stages are withdrawn.
QUIET_ONCE_RESOLVED = "statements-quiet-once-resolved"


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
        self._quiet: bool | None = None

    @property
    def _policy(self) -> CustomerPolicy:
        return self._policies[self._s.incident.level]

    def _told(self) -> bool:
        return self._policy.applies(self._s.incident.type)

    @property
    def _quiet_once_resolved(self) -> bool:
        # Asked once, on the first decision that depends on it, so an incident begun before
        # the change keeps the old rules to its end.
        if self._quiet is None:
            self._quiet = workflow.patched(QUIET_ONCE_RESOLVED)
        return self._quiet

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
            due = self._next_due()
            self._wake = False
            now = workflow.now()
            try:
                await workflow.wait_condition(
                    lambda: self._wake or bool(self._changes),
                    timeout=None if due is None else max(due - now, timedelta(0)),
                )
            except TimeoutError:
                async with self._lock:
                    await self._fire_due()

    def _next_due(self) -> Any:
        quiet = self._s.incident.status is Status.RESOLVED and self._quiet_once_resolved
        due = rules.next_due(self._s, self._policy, quiet_once_resolved=quiet)
        resolved_at = self._s.incident.resolved_at
        if resolved_at is not None:
            closing = resolved_at + CORRECTIONS_FOR
            due = closing if due is None else min(due, closing)
        return due

    async def _fire_due(self) -> None:
        quiet = self._s.incident.status is Status.RESOLVED and self._quiet_once_resolved
        for action in rules.due_now(
            self._s, self._policy, workflow.now(), quiet_once_resolved=quiet
        ):
            if isinstance(action, rules.Breach):
                outcome = self._apply(
                    rules.breach(
                        self._s, action.message.id, holding=action.holding, now=workflow.now()
                    )
                )
                if outcome.hold is not None:
                    text = await self._body(outcome.hold, holding=True)
                    self._apply(
                        rules.hold(
                            self._s, self._policy, stage=outcome.hold, body=text, now=workflow.now()
                        )
                    )
            elif isinstance(action, rules.Escalate):
                self._apply(
                    rules.escalate(
                        self._s,
                        self._policy,
                        action.message.id,
                        step=action.step,
                        page=action.page,
                        now=workflow.now(),
                    )
                )
            else:
                await self._draft(action.stage, due_at=action.due_at, by=TOCSIN)

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
        before = self._policy
        resolved = change.incident.status is Status.RESOLVED
        self._policies = change.policies
        outcome = self._apply(
            rules.incident_changed(
                self._s,
                before,
                change.policies[change.incident.level],
                change.incident,
                now=workflow.now(),
                quiet_once_resolved=resolved and self._quiet_once_resolved,
            )
        )
        if outcome.draft is not None:
            await self._draft(outcome.draft.stage, due_at=outcome.draft.due_at, by=TOCSIN)

    # ----------------------------------------------------------------------- transitions

    def _apply(self, outcome: rules.Outcome) -> rules.Outcome:
        """Take the transition's state and carry out its effects, in order."""
        self._s = outcome.state
        for effect in outcome.effects:
            if isinstance(effect, Record):
                self._record(effect.message, *effect.events)
            elif isinstance(effect, Ask):
                self._ask(effect.message, effect.page, effect.event, effect.key)
            else:
                self._spawn(self._deliver(effect.message))
                self._wake = True
        return outcome

    async def _body(self, stage: Stage, *, holding: bool = False) -> str:
        next_update = workflow.now() + self._policy.update_every
        draft = DraftBodyInput(
            incident=self._s.incident, stage=stage, holding=holding, next_update=next_update
        )
        options: dict[str, Any] = {
            "start_to_close_timeout": timedelta(seconds=30),
            "retry_policy": retry.CUSTOMERS,
        }
        if workflow.patched(EFFECTS_BATCHED):
            # Rendering a template touches nothing outside the worker: no task queue trip.
            return await workflow.execute_local_activity_method(
                StatementActivities.draft_body, draft, **options
            )
        return await workflow.execute_activity_method(
            StatementActivities.draft_body, draft, **options
        )

    async def _draft(
        self,
        stage: Stage,
        *,
        due_at: Any,
        by: Actor,
        body: str | None = None,
        reason: str = "",
    ) -> Statement:
        """A new draft replaces any draft still waiting, and the comms lead is asked."""
        text = body if body is not None else await self._body(stage)
        outcome = self._apply(
            rules.draft(
                self._s,
                stage=stage,
                body=text,
                due_at=due_at,
                by=by.name,
                now=workflow.now(),
                asked=COMMS_LEAD,
                reason=reason,
            )
        )
        assert outcome.message is not None
        return outcome.message

    async def _deliver(self, message: Statement) -> None:
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
        self._s, event = rules.delivered(self._s, message.id, now=workflow.now())
        await workflow.execute_activity_method(
            StatementActivities.report_deliveries,
            ReportInput(message=message, event=event),
            **options,
        )

    # ------------------------------------------------------------------- side effects

    def _record(self, message: Statement, *events: TimelineEvent) -> None:
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
        self, message: Statement, page: list[PageTarget], event: TimelineEvent, key: str
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
    def messages(self) -> list[Statement]:
        return self._s.messages

    @workflow.update
    async def draft(self, input: DraftInput) -> Statement:
        """A statement drafted by a person (or from the template when no body is given)."""
        async with self._lock:
            due = workflow.now() + self._policy.first_statement
            return await self._draft(input.stage, due_at=due, by=input.by, body=input.body)

    @draft.validator
    def _validate_draft(self, input: DraftInput) -> None:
        if input.body is not None and not input.body.strip():
            raise _invalid("body: a statement cannot be empty")

    @workflow.update
    async def approve(self, input: ApproveInput) -> Statement:
        async with self._lock:
            # Someone else may have acted while this waited for the lock: refused then.
            outcome = self._apply(
                _refusals(rules.approve)(
                    self._s,
                    self._policy,
                    input.message_id,
                    by=input.by.name,
                    body=input.body,
                    now=workflow.now(),
                )
            )
            assert outcome.message is not None
            return outcome.message

    @approve.validator
    def _validate_approve(self, input: ApproveInput) -> None:
        _refusals(rules.waiting_draft)(self._s, input.message_id)
        if input.body is not None and not input.body.strip():
            raise _invalid("body: an approved statement cannot be empty")

    @workflow.update
    async def reject(self, input: RejectInput) -> Statement:
        async with self._lock:
            outcome = self._apply(
                _refusals(rules.reject)(
                    self._s,
                    input.message_id,
                    by=input.by.name,
                    reason=input.reason,
                    now=workflow.now(),
                )
            )
            assert outcome.message is not None
            # The statement is still due: a fresh draft keeps the clock and asks again.
            await self._draft(
                outcome.message.stage,
                due_at=outcome.message.due_at,
                by=TOCSIN,
                reason=f"the last one was rejected by {input.by.name}: {input.reason}",
            )
            return outcome.message

    @reject.validator
    def _validate_reject(self, input: RejectInput) -> None:
        _refusals(rules.waiting_draft)(self._s, input.message_id)

    @workflow.update
    async def correct(self, input: CorrectInput) -> Statement:
        """Publish a correction of a published statement; the original is kept, superseded."""
        async with self._lock:
            outcome = self._apply(
                _refusals(rules.correct)(
                    self._s,
                    self._policy,
                    input.message_id,
                    by=input.by.name,
                    body=input.body,
                    now=workflow.now(),
                )
            )
            assert outcome.message is not None
            return outcome.message

    @correct.validator
    def _validate_correct(self, input: CorrectInput) -> None:
        original = _refusals(rules.find)(self._s, input.message_id)
        if original.status is not StatementStatus.PUBLISHED:
            raise _conflict(wording.statement_not_correctable(original))
        if not input.body.strip():
            raise _invalid("body: a correction cannot be empty")


_R = TypeVar("_R")


def _refusals(transition: Callable[..., _R]) -> Callable[..., _R]:
    """The rules' refusals as the update failures the clients map to 404 and 409."""

    def guarded(*args: Any, **kwargs: Any) -> _R:
        try:
            return transition(*args, **kwargs)
        except rules.UnknownStatement as exc:
            raise ApplicationError(str(exc), type=NOT_FOUND, non_retryable=True) from None
        except (rules.NotADraft, rules.NotPublished) as exc:
            raise _conflict(str(exc)) from None

    return guarded
