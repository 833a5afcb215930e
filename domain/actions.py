"""What a process outside the incident may ask of incidents: a drill declares them, fires
alerts through the real intake, reads them and closes them when it ends.

The incident's client implements it; the drill's activities know only this protocol, so the
drill and the incident processes do not import each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from domain.models import Actor, Declaration, Incident


class IncidentActions(Protocol):
    async def declare(self, declaration: Declaration, incident_id: str | None = None) -> Incident:
        """Open an incident; with ``incident_id``, a repeated call answers the first one's."""
        ...

    async def raise_alerts(self, payload: Mapping[str, Any], now: datetime) -> Incident | None:
        """An Alertmanager notification (webhook v4, as JSON) through the intake: graded,
        deduplicated, opened. None when it opened nothing (only resolved alerts)."""
        ...

    async def current(self, incident_id: str) -> Incident: ...

    async def resolve(self, incident_id: str, by: Actor, summary: str = "") -> Incident: ...
