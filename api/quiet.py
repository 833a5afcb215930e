"""Quiet during planned maintenance: an Alertmanager notification whose every alert is of a
component under maintenance goes to that window's workflow instead of the intake. Nobody is
paged and no incident opens; the window keeps the group's latest notification and hands it to
the intake when it ends, so a group still firing then opens its incident and pages as usual.

Heartbeat monitors ask the same question (``domain.maintenance.quieting``) of their service
in their alarm's activity (``workflows.heartbeats.activities``) before they open anything."""

from __future__ import annotations

from typing import Any

from adapters.clock import utcnow
from alerts.grading import SERVICE_LABEL
from alerts.intake import BATCH_SIZE
from alerts.models import AlertStatus, WebhookPayload
from api.deps import Runtime
from domain.maintenance import quieting
from domain.statements import Maintenance


async def window_over(runtime: Runtime, services: set[str | None]) -> Maintenance | None:
    """The maintenance window on now that covers all of ``services``, if any."""
    now = utcnow()
    return quieting(await runtime.store.statements.maintenances(ending_after=now), services, now)


async def hold_if_quiet(runtime: Runtime, payload: WebhookPayload) -> Maintenance | None:
    """The window that took the notification, or None: it goes to the intake as usual."""
    services = {
        alert.labels.get(SERVICE_LABEL) or payload.commonLabels.get(SERVICE_LABEL)
        for alert in payload.alerts
    }
    window = await window_over(runtime, services)
    if window is None:
        return None
    if not await runtime.announcements.hold_alerts(window.id, payload.group_id, _kept(payload)):
        return None  # the window closed as it came: the intake takes it
    firing = sum(alert.status is AlertStatus.FIRING for alert in payload.alerts)
    await runtime.store.statements.count_suppressed(window.id, firing)
    return window


def _kept(payload: WebhookPayload) -> dict[str, Any]:
    """What the window keeps: the notification with its firing alerts first, no more than
    one intake batch of them (a signal has a size limit; a storm's other alerts come back with
    Alertmanager's next notification of the group, counted in ``truncatedAlerts`` meanwhile)."""
    ordered = sorted(payload.alerts, key=lambda a: a.status is not AlertStatus.FIRING)
    kept = payload.model_copy(
        update={
            "alerts": ordered[:BATCH_SIZE],
            "truncatedAlerts": payload.truncatedAlerts + max(0, len(ordered) - BATCH_SIZE),
        }
    )
    return kept.model_dump(mode="json")
