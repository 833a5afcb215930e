"""What subscribers hear besides statements: the confirmation of a sign-up, and scheduled
maintenance (announced when it is scheduled, when it starts, when it moves, when it ends or
when it is cancelled).

During the window, alerts of its components are held here instead of paging anyone; when it
ends (or is cancelled once begun) every group held is handed to the alert intake, which opens
an incident for those still firing.

Each is a workflow so the mail goes out even when SMTP is down at the moment of asking, and
the maintenance's times are kept by Temporal's timers rather than by a process that must be
up at the right minute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.maintenance import MoveRefused, moved
    from domain.statements import Maintenance, MaintenanceStatus
    from workflows import retry
    from workflows.announcements.activities import AnnouncementActivities
    from workflows.announcements.models import (
        AnnounceInput,
        ConfirmSubscriptionInput,
        HoldAlertsInput,
        MaintenanceInput,
        ReleaseAlertsInput,
        RescheduleInput,
    )
    from workflows.protocol import CONFLICT, INVALID

_TIMEOUT = timedelta(minutes=2)
# A confirmation mail not sent within a day is not worth sending: the person has moved on.
CONFIRMATION_FOR = timedelta(days=1)
# Customers are told when the window begins, not only when it is scheduled and ends.
ANNOUNCED_AT_START = "maintenance-announced-at-start"
# The cancellation was answered before the records said so: a read right after it showed the
# window still scheduled.
CANCEL_ANSWERED_ONCE_RECORDED = "maintenance-cancel-answered-once-recorded"


@workflow.defn
class ConfirmSubscriptionWorkflow:
    @workflow.run
    async def run(self, input: ConfirmSubscriptionInput) -> None:
        await workflow.execute_activity_method(
            AnnouncementActivities.send_confirmation,
            input,
            start_to_close_timeout=_TIMEOUT,
            schedule_to_close_timeout=CONFIRMATION_FOR,
            retry_policy=retry.PATIENT,
        )


@workflow.defn
class MaintenanceWorkflow:
    """One scheduled maintenance, from its announcement to its end."""

    @workflow.init
    def __init__(self, input: MaintenanceInput) -> None:
        self._m = input.maintenance
        self._cancelled_by: str | None = None
        # Bumped by each move, so a wait for the old time wakes and waits for the new one.
        self._moves = 0
        self._held: dict[str, HoldAlertsInput] = {}
        self._released = False
        # The version of the window the records hold.
        self._recorded = 0

    @workflow.update
    async def reschedule(self, input: RescheduleInput) -> Maintenance:
        """The window with its new times, recorded (and being announced) when this returns."""
        self._m = moved(self._m, input.starts_at, input.ends_at, workflow.now())
        self._moves += 1
        await self._record()
        await self._announce("rescheduled")
        return self._m

    @reschedule.validator
    def _may_move(self, input: RescheduleInput) -> None:
        try:
            moved(self._m, input.starts_at, input.ends_at, workflow.now())
        except MoveRefused as refused:
            kind = CONFLICT if refused.conflict else INVALID
            raise ApplicationError(str(refused), type=kind, non_retryable=True) from None

    @workflow.signal
    async def hold_alerts(self, input: HoldAlertsInput) -> None:
        """Kept until the window ends; one that comes after goes to the intake at once (the
        API saw the window open a moment before it closed)."""
        if not self._released:
            self._held[input.group_id] = input
            return
        await self._release(input)

    @workflow.update
    async def cancel(self, by: str) -> Maintenance:
        """Cancelled, recorded and being announced when this returns."""
        if self._m.status is MaintenanceStatus.COMPLETED:
            raise ApplicationError(
                f"maintenance {self._m.id} is completed", type="Conflict", non_retryable=True
            )
        if self._cancelled_by is None:
            self._cancelled_by = by
        await workflow.wait_condition(lambda: self._m.status is MaintenanceStatus.CANCELLED)
        if workflow.patched(CANCEL_ANSWERED_ONCE_RECORDED):
            await workflow.wait_condition(lambda: self._recorded >= self._m.version)
        return self._m

    @workflow.query
    def status(self) -> MaintenanceStatus:
        return self._m.status

    @workflow.run
    async def run(self, input: MaintenanceInput) -> MaintenanceStatus:
        await self._announce("scheduled")
        if await self._until(lambda: self._m.starts_at):
            return await self._cancelled()
        await self._become(MaintenanceStatus.IN_PROGRESS)
        if workflow.patched(ANNOUNCED_AT_START):
            await self._announce("started")
        if await self._until(lambda: self._m.ends_at):
            return await self._cancelled()
        await self._become(MaintenanceStatus.COMPLETED)
        await self._release_held()
        await self._announce("completed")
        return await self._finished()

    async def _until(self, at: Callable[[], datetime]) -> bool:
        """Wait until ``at()``, which a move may change meanwhile; True if the maintenance
        was cancelled first."""
        while self._cancelled_by is None:
            if at() <= workflow.now():
                return False
            moves = self._moves
            try:
                await workflow.wait_condition(
                    lambda moves=moves: self._cancelled_by is not None or self._moves != moves,  # type: ignore[misc]
                    timeout=at() - workflow.now(),
                )
            except TimeoutError:
                return False
        return True

    async def _cancelled(self) -> MaintenanceStatus:
        await self._become(MaintenanceStatus.CANCELLED)
        await self._release_held()
        await self._announce("cancelled")
        return await self._finished()

    async def _finished(self) -> MaintenanceStatus:
        # A hold that came as the window closed is released by its handler: wait for it.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._m.status

    async def _release_held(self) -> None:
        self._released = True
        for held in list(self._held.values()):
            await self._release(held)
        self._held.clear()

    async def _release(self, held: HoldAlertsInput) -> None:
        await workflow.execute_activity_method(
            AnnouncementActivities.release_alerts,
            ReleaseAlertsInput(
                maintenance_id=self._m.id, group_id=held.group_id, payload=held.payload
            ),
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )

    async def _become(self, status: MaintenanceStatus) -> None:
        self._m = self._m.model_copy(update={"status": status, "version": self._m.version + 1})
        await self._record()

    async def _record(self) -> None:
        recording = self._m
        await workflow.execute_activity_method(
            AnnouncementActivities.record_maintenance,
            recording,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )
        self._recorded = max(self._recorded, recording.version)

    async def _announce(self, kind: str) -> None:
        await workflow.execute_activity_method(
            AnnouncementActivities.announce_maintenance,
            AnnounceInput(maintenance=self._m, kind=kind, at=workflow.now()),
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )
