"""The public status page, computed from what customers were told: components from the
service catalog, incidents that have a published statement, scheduled maintenance, and a
90-day history per component. Nothing unpublished, internal or from a drill appears: an
incident shows only once a statement about it was published, and drills never are.

Shaped like the common status-page summary (``page``, ``status``, ``components``,
``incidents``, ``scheduled_maintenances``), so existing widgets can read ``/status.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from alerts.catalog import Catalog
from domain.models import Incident, Level, Status
from domain.statements import (
    Maintenance,
    MaintenanceStatus,
    Override,
    Statement,
    StatementStatus,
)

HISTORY_DAYS = 90

OPERATIONAL = "operational"
DEGRADED = "degraded_performance"
PARTIAL = "partial_outage"
MAJOR = "major_outage"
MAINTENANCE = "under_maintenance"
COMPONENT_STATUSES = (OPERATIONAL, DEGRADED, PARTIAL, MAJOR, MAINTENANCE)

# How bad an incident of each level is for its component, and its impact.
_OUTAGE = {Level.A: MAJOR, Level.B: PARTIAL, Level.C: DEGRADED}
_IMPACT = {Level.A: "critical", Level.B: "major", Level.C: "minor"}
_SEVERITY = {OPERATIONAL: 0, MAINTENANCE: 1, DEGRADED: 2, PARTIAL: 3, MAJOR: 4}
_INDICATOR = {
    OPERATIONAL: "none",
    MAINTENANCE: "minor",
    DEGRADED: "minor",
    PARTIAL: "major",
    MAJOR: "critical",
}
_DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
# The uptime rule, the usual one for status pages: a minute of major outage counts whole, a
# minute of partial outage counts 30%, degraded performance and maintenance not at all.
DOWNTIME_WEIGHT = {MAJOR: 1.0, PARTIAL: 0.3}


@dataclass(frozen=True)
class PublicIncident:
    incident: Incident
    updates: list[Statement]  # published, newest first

    @property
    def stage(self) -> str:
        return self.updates[0].stage.value

    @property
    def created_at(self) -> datetime:
        return min(u.published_at or u.drafted_at for u in self.updates)

    @property
    def updated_at(self) -> datetime:
        return max(u.published_at or u.drafted_at for u in self.updates)

    @property
    def impact(self) -> str:
        return _IMPACT[self.incident.level]

    @property
    def ended_at(self) -> datetime | None:
        return self.incident.resolved_at


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    status: str
    override: Override | None = None


@dataclass(frozen=True)
class Day:
    day: date
    uptime: float  # 0..1
    worst: str  # the worst status of the day


@dataclass
class StatusPage:
    name: str
    url: str
    updated_at: datetime
    components: list[Component]
    active: list[PublicIncident]
    recent: list[PublicIncident]
    maintenances: list[Maintenance]
    history: dict[str, list[Day]] = field(default_factory=dict)
    # Every incident customers were told of in the history kept, newest first, and every
    # window in it whatever its state: what the Statuspage v2 lists read (``api.statuspage``).
    told: list[PublicIncident] = field(default_factory=list)
    windows: list[Maintenance] = field(default_factory=list)
    overrides: Mapping[str, Override] = field(default_factory=dict)
    now: datetime | None = None

    @property
    def indicator(self) -> str:
        """The worst component's, as common status pages roll them up; but one component
        down among several is a partial outage of the whole: "critical" (Major System
        Outage) only when every component is down."""
        worst = max((_SEVERITY[c.status] for c in self.components), default=0)
        status = next(s for s, n in _SEVERITY.items() if n == worst)
        if status == MAJOR and any(c.status != MAJOR for c in self.components):
            status = PARTIAL
        return _INDICATOR[status]

    @property
    def description(self) -> str:
        if self.indicator == "minor" and all(
            c.status in (OPERATIONAL, MAINTENANCE) for c in self.components
        ):
            return "Service Under Maintenance"
        return _DESCRIPTION[self.indicator]

    def summary(self) -> dict[str, Any]:
        """``/status.json``: the common status-page summary shape."""
        return {
            "page": {
                "id": "tocsin",
                "name": self.name,
                "url": self.url,
                "updated_at": self.updated_at.isoformat(),
            },
            "status": {"indicator": self.indicator, "description": self.description},
            "components": [
                {"id": c.id, "name": c.name, "status": c.status} for c in self.components
            ],
            "incidents": [_incident_json(p) for p in self.active],
            "scheduled_maintenances": [_maintenance_json(m) for m in self.maintenances],
        }


def _incident_json(item: PublicIncident) -> dict[str, Any]:
    return {
        "id": item.incident.id,
        "name": item.incident.title,
        "status": item.stage,
        "impact": item.impact,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
        "components": [item.incident.service] if item.incident.service else [],
        "incident_updates": [
            {
                "id": u.id,
                "status": u.stage.value,
                "body": u.body,
                "created_at": (u.published_at or u.drafted_at).isoformat(),
            }
            for u in item.updates
        ],
    }


def _maintenance_json(m: Maintenance) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.title,
        "status": m.status.value,
        "scheduled_for": m.starts_at.isoformat(),
        "scheduled_until": m.ends_at.isoformat(),
        "components": m.components,
        "body": m.body,
    }


def public_incidents(
    incidents: Mapping[str, Incident], messages: Sequence[Statement]
) -> list[PublicIncident]:
    """Incidents with at least one published statement, newest first; drills never (their
    statements are not published, and are filtered here once more)."""
    # A corrected statement stays until its correction is on the page, so the incident
    # never drops off the page in between.
    replaced = {
        m.corrects for m in messages if m.corrects and m.status is StatementStatus.PUBLISHED
    }
    by_incident: dict[str, list[Statement]] = {}
    for message in messages:
        if message.drill or message.published_at is None:
            continue
        if message.status is StatementStatus.PUBLISHED or (
            message.status is StatementStatus.SUPERSEDED and message.id not in replaced
        ):
            by_incident.setdefault(message.incident_id, []).append(message)
    found = []
    for incident_id, updates in by_incident.items():
        incident = incidents.get(incident_id)
        if incident is None or incident.drill:
            continue
        updates.sort(key=lambda u: u.published_at or u.drafted_at, reverse=True)
        found.append(PublicIncident(incident, updates))
    found.sort(key=lambda p: p.updated_at, reverse=True)
    return found


def build(
    *,
    name: str,
    url: str,
    catalog: Catalog,
    incidents: Mapping[str, Incident],
    messages: Sequence[Statement],
    maintenances: Sequence[Maintenance],
    overrides: Mapping[str, Override],
    now: datetime,
) -> StatusPage:
    told = public_incidents(incidents, messages)
    active = [p for p in told if p.incident.status is not Status.RESOLVED]
    recent = [p for p in told if p.incident.status is Status.RESOLVED]
    # The maintenance workflow's word on its status wins; the times cover the minute
    # before its timer fires.
    live = [
        m
        for m in maintenances
        if m.status in (MaintenanceStatus.SCHEDULED, MaintenanceStatus.IN_PROGRESS)
    ]
    in_progress = [
        m
        for m in live
        if m.status is MaintenanceStatus.IN_PROGRESS or m.starts_at <= now < m.ends_at
    ]
    components = []
    for key, service in catalog.components():
        status = OPERATIONAL
        if any(key in m.components for m in in_progress):
            status = MAINTENANCE
        for item in active:
            if item.incident.service == key:
                outage = _OUTAGE[item.incident.level]
                if _SEVERITY[outage] > _SEVERITY[status]:
                    status = outage
        override = overrides.get(key)
        components.append(
            Component(
                key, service.display_name or key, override.status if override else status, override
            )
        )
    page = StatusPage(
        name=name,
        url=url,
        updated_at=max([now, *(p.updated_at for p in told)]) if told else now,
        components=components,
        active=active,
        recent=recent[:20],
        maintenances=live,
        told=told,
        windows=list(maintenances),
        overrides=overrides,
        now=now,
    )
    page.history = {c.id: history(c.id, told, now) for c in components}
    return page


def history(component: str, told: Sequence[PublicIncident], now: datetime) -> list[Day]:
    """One bar a day for the last 90 days: the share of the day without downtime, by
    ``DOWNTIME_WEIGHT``, from declaration to resolution of each incident customers were
    told of."""
    today = now.date()
    days = []
    for back in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        start = datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo)
        end = min(start + timedelta(days=1), now)
        span = max((end - start).total_seconds(), 1.0)
        down = 0.0
        worst = OPERATIONAL
        for item in told:
            if item.incident.service != component:
                continue
            began = item.incident.declared_at
            ended = item.ended_at or now
            overlap = (min(ended, end) - max(began, start)).total_seconds()
            if overlap <= 0:
                continue
            outage = _OUTAGE[item.incident.level]
            down += overlap * DOWNTIME_WEIGHT.get(outage, 0.0)
            if _SEVERITY[outage] > _SEVERITY[worst]:
                worst = outage
        days.append(Day(day, max(0.0, 1.0 - min(down, span) / span), worst))
    return days


def uptime(days: Sequence[Day]) -> float:
    return sum(d.uptime for d in days) / len(days) if days else 1.0


def percent(share: float) -> str:
    """``share`` (0..1) as a percentage with two decimals, rounded down: a few minutes of
    outage in 90 days would round up to "100.00%" beside a red bar."""
    return f"{math.floor(round(share * 10_000, 6)) / 100:.2f}"
