"""What subscribers hear besides statements: the confirmation of a sign-up, and scheduled
maintenance (announced when it is scheduled, marked in progress when it starts, announced
again when it ends, or when it is cancelled).

Each is a workflow so the mail goes out even when SMTP is down at the moment of asking, and
the maintenance's times are kept by Temporal's timers rather than by a process that must be
up at the right minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.statements import Maintenance, MaintenanceStatus
    from workflows import retry
    from workflows.announcements.activities import AnnouncementActivities
    from workflows.announcements.models import (
        AnnounceInput,
        ConfirmSubscriptionInput,
        MaintenanceInput,
    )

_TIMEOUT = timedelta(minutes=2)
# A confirmation mail not sent within a day is not worth sending: the person has moved on.
CONFIRMATION_FOR = timedelta(days=1)


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
        return self._m

    @workflow.query
    def status(self) -> MaintenanceStatus:
        return self._m.status

    @workflow.run
    async def run(self, input: MaintenanceInput) -> MaintenanceStatus:
        await self._announce("scheduled")
        if await self._until(self._m.starts_at):
            return await self._cancelled()
        await self._become(MaintenanceStatus.IN_PROGRESS)
        if await self._until(self._m.ends_at):
            return await self._cancelled()
        await self._become(MaintenanceStatus.COMPLETED)
        await self._announce("completed")
        return self._m.status

    async def _until(self, at: datetime) -> bool:
        """Wait until ``at``; True if the maintenance was cancelled first."""
        if self._cancelled_by is not None:
            return True
        if at <= workflow.now():
            return False
        try:
            await workflow.wait_condition(
                lambda: self._cancelled_by is not None,
                timeout=at - workflow.now(),
            )
        except TimeoutError:
            return False
        return True

    async def _cancelled(self) -> MaintenanceStatus:
        await self._become(MaintenanceStatus.CANCELLED)
        await self._announce("cancelled")
        return self._m.status

    async def _become(self, status: MaintenanceStatus) -> None:
        self._m = self._m.model_copy(update={"status": status, "version": self._m.version + 1})
        await workflow.execute_activity_method(
            AnnouncementActivities.record_maintenance,
            self._m,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )

    async def _announce(self, kind: str) -> None:
        await workflow.execute_activity_method(
            AnnouncementActivities.announce_maintenance,
            AnnounceInput(maintenance=self._m, kind=kind, at=workflow.now()),
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )
