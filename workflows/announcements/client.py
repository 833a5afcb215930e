"""What the API calls to confirm a sign-up, to schedule, move or cancel maintenance, and to
hold back the alerts of a component under maintenance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from domain.errors import IncidentConflict
from domain.statements import Maintenance
from workflows.announcements.models import (
    ConfirmSubscriptionInput,
    HoldAlertsInput,
    MaintenanceInput,
    RescheduleInput,
)
from workflows.announcements.workflow import ConfirmSubscriptionWorkflow, MaintenanceWorkflow
from workflows.engine import CALL_TIMEOUT, call_engine
from workflows.ids import confirm_workflow_id, maintenance_workflow_id

_T = TypeVar("_T")


class AnnouncementService:
    def __init__(
        self, client: Client, task_queue: str, *, call_timeout: float = CALL_TIMEOUT
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._call_timeout = call_timeout

    async def confirm_subscription(self, subscriber_id: str, token: str) -> None:
        """Mail the confirmation link; a sign-up asked again gets a fresh one, the last
        mailing ended (or is ended: its token is dead anyway)."""

        async def start() -> None:
            await self._client.start_workflow(
                ConfirmSubscriptionWorkflow.run,
                ConfirmSubscriptionInput(subscriber_id=subscriber_id, token=token),
                id=confirm_workflow_id(subscriber_id),
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
            )

        await self._call(start, subscriber_id)

    async def schedule_maintenance(self, maintenance: Maintenance) -> None:
        async def start() -> None:
            await self._client.start_workflow(
                MaintenanceWorkflow.run,
                MaintenanceInput(maintenance=maintenance),
                id=maintenance_workflow_id(maintenance.id),
                task_queue=self._task_queue,
            )

        await self._call(start, maintenance.id)

    async def cancel_maintenance(self, maintenance_id: str, by: str) -> Maintenance:
        handle = self._client.get_workflow_handle_for(
            MaintenanceWorkflow.run, maintenance_workflow_id(maintenance_id)
        )
        return await self._call(
            lambda: handle.execute_update(MaintenanceWorkflow.cancel, by), maintenance_id
        )

    async def reschedule_maintenance(
        self,
        maintenance_id: str,
        starts_at: datetime | None,
        ends_at: datetime | None,
        by: str,
    ) -> Maintenance:
        """Moved and recorded when this returns; the workflow refuses a move its state forbids
        (``IncidentConflict``) or bad times (``InvalidAction``)."""
        handle = self._client.get_workflow_handle_for(
            MaintenanceWorkflow.run, maintenance_workflow_id(maintenance_id)
        )
        move = RescheduleInput(starts_at=starts_at, ends_at=ends_at, by=by)
        return await self._call(
            lambda: handle.execute_update(MaintenanceWorkflow.reschedule, move), maintenance_id
        )

    async def hold_alerts(
        self, maintenance_id: str, group_id: str, payload: dict[str, Any]
    ) -> bool:
        """Hand a notification to the window instead of the intake; False when the window's
        workflow is over already (the caller sends it to the intake instead)."""
        handle = self._client.get_workflow_handle_for(
            MaintenanceWorkflow.run, maintenance_workflow_id(maintenance_id)
        )
        held = HoldAlertsInput(group_id=group_id, payload=payload)
        try:
            await self._call(
                lambda: handle.signal(MaintenanceWorkflow.hold_alerts, held), maintenance_id
            )
        except IncidentConflict:
            return False
        return True

    async def _call(self, call: Callable[[], Awaitable[_T]], what: str) -> _T:
        return await call_engine(
            call,
            self._call_timeout,
            not_found=lambda: IncidentConflict(f"{what} has no workflow running"),
            closed=lambda: IncidentConflict(f"{what} is over already"),
        )
