"""How incidents and timeline events map to rows of the records database, and the timeline
events written once by key outside a workflow's numbering: what the store's queries and its
batched writes share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.clock import utcnow
from adapters.records.tables import incidents, notifications, timeline_events
from domain.models import (
    EventKind,
    Incident,
    Level,
    Status,
    TimelineEvent,
)


async def append_event_once_in(
    conn: AsyncConnection,
    key: str,
    incident_id: str,
    base: int,
    kind: EventKind,
    text: str,
    at: datetime,
    actor: str | None,
    data: dict[str, Any] | None,
) -> TimelineEvent | None:
    seen = await conn.scalar(
        select(notifications.c.key).where(notifications.c.key == f"event:{key}")
    )
    if seen is not None:
        return None
    top = await conn.scalar(
        select(func.max(timeline_events.c.seq)).where(
            timeline_events.c.incident_id == incident_id,
            timeline_events.c.seq > base,
            timeline_events.c.seq < base + 100_000,
        )
    )
    event = TimelineEvent(
        incident_id=incident_id,
        seq=(top or base) + 1,
        at=at,
        kind=kind,
        actor=actor,
        text=text,
        data=data or {},
    )
    await conn.execute(timeline_events.insert().values(event_row(event)))
    await conn.execute(
        notifications.insert().values(
            key=f"event:{key}",
            incident_id=incident_id,
            kind="timeline",
            recipient="-",
            sent_at=utcnow(),
        )
    )
    return event


def merge_paged(
    stored: list[dict[str, Any]], new: list[dict[str, Any]], *, counting: bool = False
) -> list[dict[str, Any]]:
    """One entry per person and tier, whichever writer saw the most pages. Snapshots and
    notes of who was reached can arrive in any order; none may drop a person. With
    ``counting``, each new entry is one more page to that person, unless already counted."""
    merged = [dict(entry) for entry in stored]
    for entry in new:
        same = next(
            (
                i
                for i, old in enumerate(merged)
                if (old["name"], old["function"], old["tier"])
                == (entry["name"], entry["function"], entry["tier"])
            ),
            None,
        )
        if same is None:
            merged.append(dict(entry))
        elif counting:
            # A retried activity notes the same page again: only a later page counts.
            if datetime.fromisoformat(entry["at"]) > datetime.fromisoformat(merged[same]["at"]):
                merged[same] = {**entry, "times": merged[same].get("times", 1) + 1}
        elif entry.get("times", 1) >= merged[same].get("times", 1):
            merged[same] = dict(entry)
    return merged


def filtered(
    query: Select[Any],
    *,
    status: Sequence[Status] | None,
    level: Level | None,
    drill: bool | None,
) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    if status is not None:
        conditions.append(incidents.c.status.in_([Status(s).value for s in status]))
    if level is not None:
        conditions.append(incidents.c.level == Level(level).value)
    if drill is not None:
        conditions.append(incidents.c.drill.is_(drill))
    return query.where(*conditions)


def incident_row(incident: Incident) -> dict[str, Any]:
    row: dict[str, Any] = {
        name: value.value if isinstance(value, Enum) else value
        for name, value in incident.model_dump(exclude={"paged", "grading", "partners"}).items()
    }
    row["paged"] = [person.model_dump(mode="json") for person in incident.paged]
    row["partners"] = [response.model_dump(mode="json") for response in incident.partners]
    row["grading"] = None if incident.grading is None else incident.grading.model_dump(mode="json")
    ack = incident.time_to_ack
    row["time_to_ack_seconds"] = None if ack is None else ack.total_seconds()
    row["updated_at"] = utcnow()
    return row


def event_row(event: TimelineEvent) -> dict[str, Any]:
    row = event.model_dump(mode="json")
    # Keep the datetime itself: the column type stores it in UTC on every backend.
    row["at"] = event.at
    return row


def incident_of(row: Row[Any]) -> Incident:
    values = row._mapping
    return Incident.model_validate({name: values[name] for name in Incident.model_fields})
