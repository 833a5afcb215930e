"""A schedule's shifts as an RFC 5545 calendar, for calendar apps to subscribe to."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from domain.oncall import Shift


def _uid(schedule: str, shift: Shift) -> str:
    # The same shift keeps its UID from one fetch to the next, so apps update, not duplicate.
    via = shift.rotation or f"override-{shift.override_id}"
    return f"{schedule}-{shift.start:%Y%m%dT%H%M%SZ}-{via}@tocsin"


def calendar(schedule: str, time_zone: str, shifts: list[Shift], now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//tocsin//on call//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"On call: {schedule}")
    cal.add("x-wr-timezone", time_zone)
    for shift in shifts:
        if shift.person is None:
            continue  # a gap: nobody to show
        event = Event()
        event.add("uid", _uid(schedule, shift))
        event.add("dtstamp", now)
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        how = "override" if shift.override_id is not None else f"rotation {shift.rotation}"
        event.add("summary", f"On call: {shift.person} ({schedule})")
        event.add("description", f"{shift.person} holds {schedule} ({how}).")
        cal.add_component(event)
    return bytes(cal.to_ical())
