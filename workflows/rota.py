"""Who is on call at an instant: the roster on disk, its schedules, and the overrides kept in
the records. Activities call this when they send, so each page, escalation step and re-page
looks again (DESIGN §3 "On call"); the arithmetic itself is pure (``domain.oncall``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.rules.oncall import OnCall, roster_at
from playbooks.roster import RosterSource

if TYPE_CHECKING:
    # Only the type: workflow modules import the activities that import this one.
    from adapters.records import RecordsStore


async def on_call(records: RecordsStore, roster: RosterSource, at: datetime) -> OnCall:
    current = roster.current()
    # A roster without schedules needs no database round trip.
    overrides = await records.oncall.overrides(ending_after=at) if current.schedules else []
    return roster_at(current, at, overrides)
