"""How an incident's decisions leave its workflow: each transition's record and
notifications as background activities, so that a slow or failing Slack or database never
holds back a timer (ADR 0010: one batch per activation; ADR 0022 and ADR 0037: its pages
first, in an activity of their own).

``IncidentEffects`` is the base class of ``IncidentWorkflow``: the workflow holds the
handlers and the timer loop, this the plumbing of their side effects. It is workflow code and
is held to the same rules (the ruff bans, the strict sandbox, the import test).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.models import Incident, Level, TimelineEvent
    from domain.notify import HANDLING, Failure, notification_key
    from domain.playbook import CustomerPolicy, PlaybookSet
    from domain.rules import lifecycle
    from domain.rules.effects import Notify, Outcome
    from domain.rules.state import IncidentState
    from domain.statements import TOLD_TO_CUSTOMERS
    from workflows import retry
    from workflows.incident import patches
    from workflows.incident.activities import IncidentActivities
    from workflows.incident.models import EffectsInput, NotifyInput, PagesInput, RecordInput
    from workflows.queues import PAGES, paging_queue

# Side effects retry until they succeed: a page must eventually go out, and a record must
# eventually be written, however long Slack or the database is down.
_ACTIVITY_TIMEOUT = timedelta(seconds=30)
# A burst may post to several Slack channels, each paced at about one message a second.
_EFFECTS_TIMEOUT = timedelta(minutes=2)


class IncidentEffects:
    """The side effects of an incident's transitions, started in the order they were decided.
    ``_apply`` takes each transition's outcome; ``_drain`` waits for the last of them."""

    # The incident's state and pinned playbooks, and whether the run loop has work: set by
    # IncidentWorkflow.
    _s: IncidentState
    _playbooks: PlaybookSet
    _wake: bool

    def _init_effects(self) -> None:
        self._unrecorded: list[TimelineEvent] = []
        self._queued: list[Notify] = []
        self._background: list[asyncio.Task[Any]] = []
        self._effects: asyncio.Task[None] | None = None
        self._sending = 0
        self._in_flight = 0
        self._dirty = False
        self._effects_in_one: bool | None = None
        self._pages_first: bool | None = None
        self._pages_eager: bool | None = None

    @property
    def _inc(self) -> Incident:
        return self._s.incident

    @property
    def _batched(self) -> bool:
        """ADR 0010: one activity per activation for its record and all its notifications.
        Incidents whose history began before it keep the activity per notification."""
        if self._effects_in_one is None:
            self._effects_in_one = workflow.patched(patches.EFFECTS_IN_ONE_ACTIVITY)
        return self._effects_in_one

    def _apply(self, outcome: Outcome) -> None:
        """Take a transition's new state and start its side effects, in the order decided."""
        self._s = outcome.state
        self._unrecorded.extend(outcome.events)
        if self._batched:
            self._queued.extend(outcome.notifications)
            if self._effects is None:
                self._effects = asyncio.ensure_future(self._apply_effects_per_activation())
            return
        for notification in outcome.notifications:
            self._notify(notification)

    async def _apply_effects_per_activation(self) -> None:
        """Wait until an activation has decided something, then hand all of it to one
        background activity. Conditions are checked once every handler of the activation has
        run, so concurrent deliveries of one activation share the activity."""
        while True:
            await workflow.wait_condition(self._pending_effects)
            self._start_effects()

    def _start_effects(self) -> None:
        """The activation's effects, handed to their activities. A method of its own so that
        nothing of them (a deep copy of the incident, its events, its notifications) stays
        referenced from the waiting loop above once the activities have them: a cached
        incident kept its last batch for as long as it waited for the next."""
        events, self._unrecorded = self._unrecorded, []
        notifications, self._queued = self._queued, []
        self._dirty = False
        incident = self._inc.model_copy(deep=True)
        pages = [n for n in notifications if n.targets and HANDLING[n.kind].bundled]
        handed = bool(pages) and self._paged_first()
        if handed:
            self._in_flight += 1
            self._spawn(
                self._hand_pages(
                    PagesInput(incident=incident, notifications=pages), self._pages_queue()
                )
            )
        batch = EffectsInput(
            incident=incident,
            events=events,
            notifications=notifications,
            customers=self._customers() if TOLD_TO_CUSTOMERS & {e.kind for e in events} else None,
            pages_handed=handed,
        )
        self._in_flight += 1
        self._spawn(self._run_effects(batch))

    def _paged_first(self) -> bool:
        """Asked only when an activation has pages, where the answer matters: incidents
        whose history began before ADR 0022 keep handing them over from ``apply_effects``."""
        if self._pages_first is None:
            self._pages_first = workflow.patched(patches.PAGES_FIRST)
        return self._pages_first

    def _pages_queue(self) -> str:
        """Where an activation's pages are handed over from. Since ADR 0037 the incident's own
        task queue, whose worker starts them at once (eagerly) as the workflow task that
        decided them ends; incidents that paged before keep the paging queue (ADR 0022)."""
        if self._pages_eager is None:
            self._pages_eager = workflow.patched(patches.PAGES_EAGER)
        own = workflow.info().task_queue
        return own if self._pages_eager else paging_queue(own)

    async def _hand_pages(self, pages: PagesInput, task_queue: str) -> None:
        """Scheduled in the same workflow task as the activation's other effects, and first:
        the worker that ran the task starts it at once, with a slot of its own, and the
        paperwork waits in the queue behind it (ADR 0022, ADR 0037). The lead's page never
        waits for a slot behind channels, cards, drafts or record writes."""
        try:
            result = await workflow.execute_activity_method(
                IncidentActivities.hand_pages,
                pages,
                task_queue=task_queue,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                heartbeat_timeout=retry.HEARTBEAT,
                retry_policy=retry.URGENT,
                priority=PAGES,
            )
            for failure in result.failures:
                self._note_failure(failure)
        finally:
            self._in_flight -= 1

    def _customers(self) -> dict[Level, CustomerPolicy]:
        return {level: playbook.customers for level, playbook in self._playbooks.levels.items()}

    def _pending_effects(self) -> bool:
        return bool(self._unrecorded or self._queued or self._dirty)

    async def _run_effects(self, batch: EffectsInput) -> None:
        try:
            result = await workflow.execute_activity_method(
                IncidentActivities.apply_effects,
                batch,
                start_to_close_timeout=_EFFECTS_TIMEOUT,
                heartbeat_timeout=retry.HEARTBEAT,
                retry_policy=retry.URGENT,
            )
            # The activity recorded whom it reached; the state learns it without a write.
            for reached in result.reached:
                self._s = lifecycle.note_reached(
                    self._s, reached.kind, reached.at, reached.recipients
                )
            for failure in result.failures:
                self._note_failure(failure)
        finally:
            self._in_flight -= 1

    def _note_failure(self, failure: Failure) -> None:
        self._apply(
            lifecycle.note_failure(
                self._s,
                self._playbooks,
                (failure.kind, failure.recipient, failure.reason, failure.key),
                workflow.now(),
            )
        )
        self._wake = True

    def _flush(self) -> None:
        """Write the snapshot and the new events in one background activity (incidents begun
        before ADR 0010; later ones hand everything to ``_apply_effects_per_activation``)."""
        if self._batched or (not self._unrecorded and not self._dirty):
            return
        self._dirty = False
        record = RecordInput(incident=self._inc.model_copy(deep=True), events=self._unrecorded)
        self._unrecorded = []
        self._spawn(
            workflow.execute_activity_method(
                IncidentActivities.record,
                record,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=retry.URGENT,
            )
        )

    def _notify(self, notification: Notify) -> None:
        event = notification.event
        notify = NotifyInput(
            key=notification_key(self._inc.id, event.seq, notification.kind.value),
            kind=notification.kind,
            incident=self._inc.model_copy(deep=True),
            event=event,
            targets=notification.targets,
        )
        self._sending += 1
        self._spawn(self._send(notify))

    async def _send(self, notify: NotifyInput) -> None:
        try:
            result = await workflow.execute_activity_method(
                IncidentActivities.notify,
                notify,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=retry.URGENT,
            )
            if result.recipients:
                self._s = lifecycle.note_reached(
                    self._s, notify.kind, notify.event.at, result.recipients
                )
                self._dirty = True
        finally:
            self._sending -= 1
            if self._sending == 0 and self._dirty:
                # Record who was reached once the burst of notifications has reported back.
                self._wake = True

    def _spawn(self, awaitable: Awaitable[Any]) -> None:
        self._background = [task for task in self._background if not task.done()]
        self._background.append(asyncio.ensure_future(awaitable))

    async def _drain(self) -> None:
        """Let handlers and background side effects finish before the workflow closes."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._batched:
            await workflow.wait_condition(
                lambda: not self._pending_effects() and self._in_flight == 0
            )
            return
        while self._background:
            pending, self._background = self._background, []
            await asyncio.gather(*pending)
            self._flush()
