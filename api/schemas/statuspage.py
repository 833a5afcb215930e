"""The answers of the Statuspage v2 public API (``/api/v2/*.json``), with Statuspage's field
names and values, so clients written for Atlassian's pages read tocsin's unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Indicator = Literal["none", "minor", "major", "critical"]
ComponentStatus = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]
Impact = Literal["none", "minor", "major", "critical", "maintenance"]


class PageV2(BaseModel):
    id: str
    name: str
    url: str
    time_zone: str = Field(description="IANA time zone of the page; tocsin's is UTC")
    updated_at: datetime


class StatusV2(BaseModel):
    indicator: Indicator
    description: str


class ComponentV2(BaseModel):
    id: str
    name: str
    status: ComponentStatus
    position: int
    description: str | None
    showcase: bool
    start_date: str | None
    group_id: str | None
    page_id: str
    group: bool
    only_show_if_degraded: bool
    created_at: datetime
    updated_at: datetime


class UpdateV2(BaseModel):
    id: str
    status: IncidentStatus | MaintenanceStatus
    body: str
    incident_id: str
    created_at: datetime
    updated_at: datetime
    display_at: datetime
    affected_components: None = None
    deliver_notifications: bool = True


class IncidentV2(BaseModel):
    id: str
    name: str
    status: IncidentStatus | MaintenanceStatus
    impact: Impact
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    started_at: datetime
    shortlink: str
    page_id: str
    incident_updates: list[UpdateV2]
    components: list[ComponentV2]


class MaintenanceV2(IncidentV2):
    status: MaintenanceStatus
    scheduled_for: datetime
    scheduled_until: datetime


class StatusOut(BaseModel):
    page: PageV2
    status: StatusV2


class ComponentsOut(BaseModel):
    page: PageV2
    components: list[ComponentV2]


class IncidentsOut(BaseModel):
    page: PageV2
    incidents: list[IncidentV2]


class MaintenancesOut(BaseModel):
    page: PageV2
    scheduled_maintenances: list[MaintenanceV2]


class SummaryOut(BaseModel):
    page: PageV2
    status: StatusV2
    components: list[ComponentV2]
    incidents: list[IncidentV2]
    scheduled_maintenances: list[MaintenanceV2]
