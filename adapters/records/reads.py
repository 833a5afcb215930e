"""The records store's reads of incidents, their timelines and the metrics: what the API, the
reports and the what-if read, each in a connection of its own, outside any batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.records.metrics import MetricsSnapshot, query_metrics
from adapters.records.rows import filtered, incident_of
from adapters.records.tables import incidents, timeline_events
from domain.models import Incident, Level, Status, TimelineEvent


class IncidentReads:
    """Part of ``RecordsStore``: the reads that need nothing but its engine."""

    _engine: AsyncEngine

    async def get_incident(self, incident_id: str) -> Incident | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(incidents).where(incidents.c.id == incident_id))
            ).first()
        return None if row is None else incident_of(row)

    async def incidents_by_id(self, ids: Iterable[str]) -> dict[str, Incident]:
        wanted = sorted(set(ids))
        found: dict[str, Incident] = {}
        async with self._engine.connect() as conn:
            # In chunks: SQLite takes at most some hundreds of bound parameters at once.
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = (
                    await conn.execute(select(incidents).where(incidents.c.id.in_(chunk)))
                ).all()
                for row in rows:
                    incident = incident_of(row)
                    found[incident.id] = incident
        return found

    async def list_incidents(
        self,
        *,
        status: Sequence[Status] | None = None,
        level: Level | None = None,
        drill: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Incident]:
        """Newest first. ``status`` matches any of the given ones; an empty list matches none."""
        query = (
            filtered(select(incidents), status=status, level=level, drill=drill)
            .order_by(incidents.c.declared_at.desc(), incidents.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [incident_of(row) for row in rows]

    async def incidents_declared(
        self, since: datetime | None, until: datetime | None, *, drill: bool | None = None
    ) -> list[Incident]:
        """Every incident declared in [since, until), oldest first: what reports count."""
        query = filtered(select(incidents), status=None, level=None, drill=drill).order_by(
            incidents.c.declared_at, incidents.c.id
        )
        if since is not None:
            query = query.where(incidents.c.declared_at >= since)
        if until is not None:
            query = query.where(incidents.c.declared_at < until)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [incident_of(row) for row in rows]

    async def count_incidents(
        self,
        *,
        status: Sequence[Status] | None = None,
        level: Level | None = None,
        drill: bool | None = None,
    ) -> int:
        query = filtered(
            select(func.count()).select_from(incidents), status=status, level=level, drill=drill
        )
        async with self._engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

    async def timeline(self, incident_id: str) -> list[TimelineEvent]:
        """The incident's events ordered by seq; empty for an unknown incident."""
        query = (
            select(timeline_events)
            .where(timeline_events.c.incident_id == incident_id)
            # The incident's events and its statements' are numbered apart: time orders them.
            .order_by(timeline_events.c.at, timeline_events.c.seq)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            TimelineEvent(
                incident_id=row.incident_id,
                seq=row.seq,
                at=row.at,
                kind=row.kind,
                actor=row.actor,
                text=row.text,
                data=row.data,
            )
            for row in rows
        ]

    async def metrics(self) -> MetricsSnapshot:
        async with self._engine.connect() as conn:
            return await query_metrics(conn)
