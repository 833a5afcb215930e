"""PagerWorkflow: one per person, bundling the direct messages that reach them.

Incidents' activities hand each page to the person's pager by signal-with-start. The rules
of ``domain.rules.paging`` decide what goes at once and what waits for the window to close;
this workflow holds the timer and sends each delivery as an activity. It stops one window
after its last page, and the next page starts it again.

Pagers begun since ADR 0024 follow the person's notification rules
(``domain.rules.notify_rules``): each step of each page is a timer here, a step that fails
moves the page to the next at once, and a page acknowledged meanwhile goes no further.
Pagers begun before keep the single Slack step they started with.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.models import Channel
    from domain.notify import Failure
    from domain.rules import notify_rules, paging
    from domain.rules.notify_rules import Step, StepDelivery, StepPlan
    from domain.rules.paging import Delivery
    from workflows import retry
    from workflows.ids import workflow_id
    from workflows.pager.activities import PagerActivities
    from workflows.pager.models import (
        DeliverInput,
        DeliverStepInput,
        PageIn,
        PagerInput,
        StopIn,
    )
    from workflows.protocol import NOTIFICATION_FAILED

NOTIFY_RULES = "notify-rules"
# A page whose stop came in the same task as the page still goes (``notify_rules.stop``).
FIRST_STEPS_GO = "first-steps-go"
# A page handed over without rules (by a worker older than them) goes to Slack at once.
_SLACK_AT_ONCE = [StepPlan(number=1, channel=Channel.SLACK, after_seconds=0)]


@workflow.defn
class PagerWorkflow:
    @workflow.init
    def __init__(self, input: PagerInput) -> None:
        self._recipient = input.recipient
        self._state = input.resume or paging.PagerState()
        self._inbox: list[PageIn] = []
        self._window = timedelta(0)
        self._sending: list[asyncio.Task[Any]] = []
        self._rules = input.resume_rules or notify_rules.RulesState()
        self._in_flight = 0
        self._moved = False
        self._stopping: list[str] = []

    @workflow.signal
    def page(self, page: PageIn) -> None:
        self._inbox.append(page)

    @workflow.signal
    def stop(self, stop: StopIn) -> None:
        """The incident was acknowledged: its pages' later steps are dropped (notification
        rules only; a pager begun before them has no later steps)."""
        self._stopping.append(stop.incident_id)

    @workflow.signal
    def pages(self, pages: list[PageIn]) -> None:
        """Several pages at once: what one worker had waiting for this person while its
        previous signal was on its way (ADR 0022)."""
        self._inbox.extend(pages)

    @workflow.run
    async def run(self, input: PagerInput) -> None:
        if input.resume_rules is not None or (
            input.resume is None and workflow.patched(NOTIFY_RULES)
        ):
            await self._run_rules(input)
            return
        while True:
            self._receive()
            now = workflow.now()
            if paging.idle(self._state, now):
                await self._drain()
                if not self._inbox:
                    return
                continue
            if workflow.info().is_continue_as_new_suggested():
                await self._drain()
                self._receive()
                workflow.continue_as_new(input.model_copy(update={"resume": self._state}))
            due = paging.next_due(self._state)
            try:
                await workflow.wait_condition(
                    lambda: bool(self._inbox),
                    timeout=max(due - now, timedelta(0)) if due is not None else None,
                )
            except TimeoutError:
                at = max(workflow.now(), due) if due is not None else workflow.now()
                self._state, deliveries = paging.close_window(self._state, at, self._window)
                self._send(deliveries)

    def _receive(self) -> None:
        if not self._inbox:
            return
        pages, self._inbox = self._inbox, []
        self._window = timedelta(seconds=pages[-1].window_seconds)
        self._state, deliveries = paging.receive(
            self._state, [p.page for p in pages], workflow.now(), self._window
        )
        self._send(deliveries)

    def _send(self, deliveries: list[Delivery]) -> None:
        self._sending = [task for task in self._sending if not task.done()]
        for delivery in deliveries:
            self._sending.append(asyncio.ensure_future(self._deliver(delivery)))

    async def _deliver(self, delivery: Delivery) -> None:
        result = await workflow.execute_activity_method(
            PagerActivities.deliver,
            DeliverInput(recipient=self._recipient, delivery=delivery),
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=retry.HEARTBEAT,
            retry_policy=retry.URGENT,
        )
        if result.failure is None:
            return
        # Each incident records on its own timeline that this person was not reached.
        for page in delivery.pages:
            failure = Failure(
                key=page.key,
                kind=page.kind,
                recipient=self._recipient.person.name,
                reason=result.failure,
            )
            handle = workflow.get_external_workflow_handle(workflow_id(page.incident.id))
            try:
                await handle.signal(NOTIFICATION_FAILED, failure)
            except Exception:
                workflow.logger.info("incident %s no longer running", page.incident.id)

    # ------------------------------------------------------------- notification rules

    async def _run_rules(self, input: PagerInput) -> None:
        while True:
            self._take_pages()
            if self._stopping:
                stopping, self._stopping = self._stopping, []
                self._rules = notify_rules.stop(
                    self._rules, stopping, first_steps_go=workflow.patched(FIRST_STEPS_GO)
                )
            self._fire()
            now = workflow.now()
            if notify_rules.idle(self._rules, now) and self._in_flight == 0:
                await self._drain()
                if not self._inbox and self._in_flight == 0 and not self._rules.waiting:
                    return
                continue
            if workflow.info().is_continue_as_new_suggested():
                await self._drain()
                self._take_pages()
                workflow.continue_as_new(
                    input.model_copy(update={"resume": None, "resume_rules": self._rules})
                )
            due = notify_rules.next_due(self._rules)
            self._moved = False
            timeout = max(due - now, timedelta(0)) if due is not None else None
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(self._inbox) or self._moved or bool(self._stopping),
                    timeout=timeout,
                )

    def _take_pages(self) -> None:
        if not self._inbox:
            return
        pages, self._inbox = self._inbox, []
        self._rules = notify_rules.receive(
            self._rules,
            [(p.page, p.steps or _SLACK_AT_ONCE) for p in pages],
            workflow.now(),
            timedelta(seconds=pages[-1].window_seconds),
        )

    def _fire(self) -> None:
        self._rules, deliveries = notify_rules.fire(self._rules, workflow.now())
        self._sending = [task for task in self._sending if not task.done()]
        for delivery in deliveries:
            self._in_flight += 1
            self._sending.append(asyncio.ensure_future(self._deliver_step(delivery)))

    async def _deliver_step(self, delivery: StepDelivery) -> None:
        try:
            result = await workflow.execute_activity_method(
                PagerActivities.deliver_step,
                DeliverStepInput(recipient=self._recipient, delivery=delivery),
                start_to_close_timeout=timedelta(seconds=60),
                heartbeat_timeout=retry.HEARTBEAT,
                retry_policy=retry.URGENT,
            )
            self._rules, stranded = notify_rules.sent(
                self._rules,
                delivery,
                workflow.now(),
                failed=result.failure is not None,
                stopped=result.stopped,
            )
        finally:
            self._in_flight -= 1
            self._moved = True
        for step in stranded:
            await self._tell_incident(step, result.failure or "failed")

    async def _tell_incident(self, step: Step, reason: str) -> None:
        """A page whose every step failed reached nobody: its incident records it."""
        page = step.page
        failure = Failure(
            key=page.key, kind=page.kind, recipient=self._recipient.person.name, reason=reason
        )
        handle = workflow.get_external_workflow_handle(workflow_id(page.incident.id))
        try:
            await handle.signal(NOTIFICATION_FAILED, failure)
        except Exception:
            workflow.logger.info("incident %s no longer running", page.incident.id)

    async def _drain(self) -> None:
        while self._sending:
            pending, self._sending = self._sending, []
            await asyncio.gather(*pending)
        await workflow.wait_condition(workflow.all_handlers_finished)
