"""On call from Slack: ``/incident oncall`` says who holds each tier now, and
``/incident cover @person until <when> [on <schedule>]`` makes an override from now."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any, ClassVar, Protocol

from adapters.slack.inbound.replies import INLINE, ephemeral, outcome
from domain.access import Permission
from domain.durations import parse_duration
from domain.models import Actor
from domain.oncall import Override, Schedule
from domain.roster import Roster
from domain.rules.oncall import OnCall


class OnCallActions(Protocol):
    async def now(self, at: datetime) -> OnCall: ...

    async def cover(
        self, schedule: str, person: str, start: datetime, end: datetime, by: Actor
    ) -> Override: ...


USAGE = (
    "Usage: `/incident cover @person until <when> [on <schedule>]`; <when> is a time of day "
    "in the schedule's time zone (`18:00`), a duration (`8h`) or a date and time with its "
    "offset (`2026-12-05T09:00+01:00`)."
)
_COVER = re.compile(
    r"^<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?>\s+until\s+(?P<when>\S+)"
    r"(?:\s+on\s+(?P<schedule>[a-z0-9_-]+))?$"
)


class OnCallRequests:
    COMMAND_NEEDS: ClassVar[dict[str, Permission]] = {
        "oncall": Permission.READ,
        "cover": Permission.RESPOND,
    }

    def __init__(
        self,
        actions: OnCallActions | None,
        roster: Callable[[], Roster] | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._actions = actions
        self._roster = roster
        self._clock = clock

    async def who(self) -> dict[str, Any]:
        if self._actions is None or self._roster is None:
            return ephemeral("On call is not available on this tocsin.")
        schedules = self._roster().schedules
        now = await self._actions.now(self._clock())
        lines = ["*On call now*"]
        for h in now.holdings:
            names = ", ".join(p.name for p in h.people) or "*nobody*"
            line = f"• {h.function.value.replace('_', ' ')} ({h.tier.value}): {names}"
            if h.shift is not None and h.schedule is not None:
                how = "an override" if h.shift.override_id is not None else h.shift.rotation
                local = h.shift.end.astimezone(schedules[h.schedule].zone)
                line += f" ({how} of {h.schedule}, until {local:%a %d %b %H:%M %Z})"
            lines.append(line)
        return ephemeral("\n".join(lines))

    async def cover(self, rest: str, by: Actor) -> dict[str, Any]:
        if self._actions is None or self._roster is None:
            return ephemeral("On call is not available on this tocsin.")
        found = _COVER.match(rest.strip())
        if found is None:
            return ephemeral(USAGE)
        roster = self._roster()
        person = next((p for p in roster.everyone() if p.slack_user_id == found["user"]), None)
        if person is None:
            return ephemeral(f"<@{found['user']}> is not in the roster: nobody to cover.")
        name = found["schedule"] or _implied(roster.schedules, person.name)
        if name is None or name not in roster.schedules:
            known = ", ".join(sorted(roster.schedules)) or "none"
            return ephemeral(f"Name the schedule with `on <schedule>`; the schedules: {known}.")
        now = self._clock()
        end = _until(found["when"], roster.schedules[name], now)
        if end is None or end <= now:
            return ephemeral(f"Not covered: {found['when']!r} is not a time to come. {USAGE}")
        result = await outcome(self._actions.cover(name, person.name, now, end, by), INLINE)
        if isinstance(result, str):
            return ephemeral(f"Not covered: {result}")
        local = end.astimezone(roster.schedules[name].zone)
        return ephemeral(
            f"{person.name} covers {name} from now until {local:%a %d %b %H:%M %Z} "
            f"(override {result.id}, arranged by {by.name})."
        )


def _implied(schedules: Mapping[str, Schedule], person: str) -> str | None:
    """The schedule a cover means when it names none: the only one, else the only one whose
    rotations name the person."""
    if len(schedules) == 1:
        return next(iter(schedules))
    theirs = [name for name, schedule in schedules.items() if person in schedule.people()]
    return theirs[0] if len(theirs) == 1 else None


def _until(when: str, schedule: Schedule, now: datetime) -> datetime | None:
    """A time of day in the schedule's zone (the next one), a duration, or an instant."""
    if re.fullmatch(r"\d{1,2}:\d{2}", when):
        hour, minute = (int(part) for part in when.split(":"))
        if hour > 23 or minute > 59:
            return None
        local = now.astimezone(schedule.zone)
        at = datetime.combine(local.date(), time(hour, minute), schedule.zone)
        return at if at > now else at + timedelta(days=1)
    try:
        return now + parse_duration(when)
    except ValueError:
        pass
    try:
        instant = datetime.fromisoformat(when)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None
