"""The status page as Statuspage's public API v2 answers it: the same ``StatusPage`` that
``/status.json`` renders (nothing computed twice), in Atlassian's field names and values.

Only incidents customers were told of appear, and never a drill (``status_page`` filters
them). What tocsin does not keep is answered the way Statuspage answers a page that does not
use it: no groups, no descriptions. A catalog component has no creation date in tocsin, so its
``created_at`` is the start of the history kept (90 days, from midnight UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from api.schemas.statuspage import (
    ComponentV2,
    IncidentV2,
    MaintenanceStatus,
    MaintenanceV2,
    PageV2,
    StatusV2,
    SummaryOut,
    UpdateV2,
)
from api.status_page import HISTORY_DAYS, Component, PublicIncident, StatusPage
from domain.statements import Maintenance, Stage
from domain.statements import MaintenanceStatus as Window

PAGE_ID = "tocsin"
TIME_ZONE = "Etc/UTC"
# Statuspage's lists stop at the 50 most recent.
LIMIT = 50
# What a window's updates say; the one written by its author is its body.
_IN_PROGRESS = "Scheduled maintenance is currently in progress."
_COMPLETED = "The scheduled maintenance has been completed."


@dataclass(frozen=True)
class StatuspageV2:
    page: StatusPage

    @property
    def _now(self) -> datetime:
        return self.page.now or self.page.updated_at

    def page_json(self) -> PageV2:
        return PageV2(
            id=PAGE_ID,
            name=self.page.name,
            url=self.page.url,
            time_zone=TIME_ZONE,
            updated_at=self.page.updated_at,
        )

    def status(self) -> StatusV2:
        return StatusV2(indicator=self.page.indicator, description=self.page.description)

    def components(self) -> list[ComponentV2]:
        return [self._component(i, c) for i, c in enumerate(self.page.components, start=1)]

    def incidents(self, *, unresolved: bool = False) -> list[IncidentV2]:
        told = self.page.active if unresolved else self.page.told[:LIMIT]
        return [self._incident(item) for item in told]

    def maintenances(self, *, only: MaintenanceStatus | None = None) -> list[MaintenanceV2]:
        """Newest first; the upcoming ones soonest first, as Statuspage lists them."""
        shown = [m for m in self.page.windows if m.status is not Window.CANCELLED]
        if only is not None:
            shown = [m for m in shown if self._window_status(m) == only]
        if only == "scheduled":
            shown.sort(key=lambda m: m.starts_at)
        else:
            shown.sort(key=lambda m: m.starts_at, reverse=True)
        return [self._maintenance(m) for m in shown[:LIMIT]]

    def summary(self) -> SummaryOut:
        return SummaryOut(
            page=self.page_json(),
            status=self.status(),
            components=self.components(),
            incidents=self.incidents(unresolved=True),
            scheduled_maintenances=[
                *self.maintenances(only="in_progress"),
                *self.maintenances(only="scheduled"),
            ],
        )

    # ------------------------------------------------------------------------------ pieces

    @property
    def _since(self) -> datetime:
        day = (self._now - timedelta(days=HISTORY_DAYS)).astimezone(UTC).date()
        return datetime.combine(day, time.min, tzinfo=UTC)

    def _component(self, position: int, c: Component) -> ComponentV2:
        return ComponentV2(
            id=c.id,
            name=c.name,
            status=c.status,
            position=position,
            description=None,
            showcase=True,
            start_date=None,
            group_id=None,
            page_id=PAGE_ID,
            group=False,
            only_show_if_degraded=False,
            created_at=self._since,
            updated_at=max([self._since, *self._changes(c.id)]),
        )

    def _changes(self, key: str) -> Iterable[datetime]:
        """When what shows for the component last changed: an override, an incident's
        statement, a window beginning or ending."""
        override = self.page.overrides.get(key)
        if override is not None:
            yield override.at
        for item in self.page.told:
            if item.incident.service == key:
                yield item.updated_at
        for m in self.page.windows:
            if key in m.components and m.status is not Window.CANCELLED:
                yield from (t for t in (m.starts_at, m.ends_at) if t <= self._now)

    def _components_of(self, keys: Iterable[str | None]) -> list[ComponentV2]:
        wanted = set(keys)
        return [c for c in self.components() if c.id in wanted]

    def _incident(self, item: PublicIncident) -> IncidentV2:
        incident = item.incident
        updates = [
            UpdateV2(
                id=u.id,
                status=u.stage.value,
                body=u.body,
                incident_id=incident.id,
                created_at=u.published_at or u.drafted_at,
                updated_at=u.published_at or u.drafted_at,
                display_at=u.published_at or u.drafted_at,
            )
            for u in item.updates
        ]

        def first(stage: Stage) -> datetime | None:
            times = [u.created_at for u in updates if u.status == stage.value]
            return min(times) if times else None

        return IncidentV2(
            id=incident.id,
            name=incident.title,
            status=item.stage,
            impact=item.impact,
            created_at=item.created_at,
            updated_at=item.updated_at,
            monitoring_at=first(Stage.MONITORING),
            resolved_at=first(Stage.RESOLVED) if item.stage == Stage.RESOLVED.value else None,
            started_at=incident.declared_at,
            shortlink=f"{self.page.url}#{incident.id}",
            page_id=PAGE_ID,
            incident_updates=updates,
            components=self._components_of([incident.service]),
        )

    def _window_status(self, m: Maintenance) -> MaintenanceStatus:
        """The workflow's word, or the times when its timer has not fired yet."""
        if m.status is Window.COMPLETED or m.ends_at <= self._now:
            return "completed"
        if m.status is Window.IN_PROGRESS or m.starts_at <= self._now:
            return "in_progress"
        return "scheduled"

    def _maintenance(self, m: Maintenance) -> MaintenanceV2:
        status = self._window_status(m)
        steps: list[tuple[MaintenanceStatus, str, datetime]] = [("scheduled", m.body, m.created_at)]
        if status != "scheduled":
            steps.append(("in_progress", _IN_PROGRESS, m.starts_at))
        if status == "completed":
            steps.append(("completed", _COMPLETED, m.ends_at))
        updates = [
            UpdateV2(
                id=f"{m.id}-{step}",
                status=step,
                body=body,
                incident_id=m.id,
                created_at=at,
                updated_at=at,
                display_at=at,
            )
            for step, body, at in reversed(steps)
        ]
        return MaintenanceV2(
            id=m.id,
            name=m.title,
            status=status,
            impact="maintenance",
            created_at=m.created_at,
            updated_at=updates[0].created_at,
            monitoring_at=None,
            resolved_at=m.ends_at if status == "completed" else None,
            started_at=m.starts_at,
            shortlink=f"{self.page.url}#{m.id}",
            page_id=PAGE_ID,
            incident_updates=updates,
            components=self._components_of(m.components),
            scheduled_for=m.starts_at,
            scheduled_until=m.ends_at,
        )
