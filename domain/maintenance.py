"""Planned maintenance as pure rules: which alerts a window quiets, and how a window may move.

The API checks a move with these rules to answer a clear 4xx; the maintenance workflow
checks it again, as the authority, since the window may have started or ended in between.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.statements import Maintenance, MaintenanceStatus

ENDED = (MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED)


def in_window(m: Maintenance, now: datetime) -> bool:
    """On now: the times decide, so the minute before the start timer fires counts too."""
    return m.status not in ENDED and m.starts_at <= now < m.ends_at


def quieting(
    maintenances: Iterable[Maintenance], services: Collection[str | None], now: datetime
) -> Maintenance | None:
    """The window on now that covers every service of an alert group, if any.

    A group with an alert that names no service is never quieted: nobody planned for it.
    Heartbeat monitors ask this same question of their service before they raise an alarm."""
    if not services or None in services:
        return None
    for m in maintenances:
        if in_window(m, now) and set(services) <= set(m.components):
            return m
    return None


@dataclass(frozen=True)
class MoveRefused(Exception):
    """A move that cannot be made: ``conflict`` when the window's state forbids it (409),
    else the times are wrong (422 naming ``field``)."""

    field: str
    reason: str
    conflict: bool = False

    def __str__(self) -> str:
        return self.reason


def moved(
    m: Maintenance, starts_at: datetime | None, ends_at: datetime | None, now: datetime
) -> Maintenance:
    """The window with its new times, or ``MoveRefused``. A window that has begun keeps its
    start (customers were told it began) but may end earlier or later; one that is over
    stays as it was."""
    if m.status in ENDED:
        raise MoveRefused("status", f"maintenance {m.id} is {m.status.value}", conflict=True)
    begun = m.status is MaintenanceStatus.IN_PROGRESS
    if begun and starts_at is not None and starts_at != m.starts_at:
        raise MoveRefused(
            "starts_at", f"maintenance {m.id} has begun: only ends_at may change", conflict=True
        )
    start = starts_at or m.starts_at
    end = ends_at or m.ends_at
    if end <= start:
        raise MoveRefused("ends_at", "ends_at must be after starts_at")
    if end <= now:
        raise MoveRefused("ends_at", "must be in the future")
    return m.model_copy(update={"starts_at": start, "ends_at": end, "version": m.version + 1})
