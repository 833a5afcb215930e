"""The heartbeat monitor's one side effect: its alarm, raised or cleared through the alert
intake, as an Alertmanager notification of the monitor's own group would be. Raising it
twice is harmless: the group's incident takes an alert it already has as a duplicate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.actions import IncidentActions
from domain.heartbeats import alert
from domain.maintenance import quieting
from workflows.heartbeats.models import AlarmInput, AlarmResult

if TYPE_CHECKING:
    from adapters.records import RecordsStore


class HeartbeatActivities:
    def __init__(self, records: RecordsStore, incidents: IncidentActions | None) -> None:
        self._records = records
        self._incidents = incidents

    @activity.defn(name="raise_heartbeat_alarm")
    async def raise_alarm(self, input: AlarmInput) -> AlarmResult:
        if self._incidents is None:
            raise ApplicationError(
                "the worker has no service catalog to grade heartbeat alarms with",
                non_retryable=True,
            )
        if input.firing:
            # The same question the intake asks of an alert (api.quiet.window_over): a
            # component under planned maintenance is expected to go quiet.
            windows = await self._records.statements.maintenances(ending_after=input.at)
            window = quieting(windows, {input.monitor.service}, input.at)
            if window is not None:
                return AlarmResult(quiet_until=window.ends_at)
        payload = alert(input.monitor, input.state, firing=input.firing, at=input.at)
        incident = await self._incidents.raise_alerts(payload, input.at)
        return AlarmResult(incident_id=incident.id if incident is not None else None)
