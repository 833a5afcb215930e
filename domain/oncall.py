"""On-call schedules: rotations in layers, overrides above them, handoffs in local time.

Everything here is pure: who holds a schedule at an instant, and the shifts of a range, follow
from the schedule, the overrides and the instant alone (DESIGN §3 "On call").

A rotation's k-th handoff is at the local wall time ``start + k * shift`` in the schedule's
time zone, so a weekly 09:00 Europe/Berlin handoff stays at 09:00 in Berlin across the change
to summer time (the shift spanning the change is an hour shorter or longer). A handoff whose
local time does not exist (inside the spring gap) happens when the clocks jump; one that exists
twice (the autumn repeat) happens at its first occurrence. Rotations run forward and backward
from ``start``, so a layer without ``only`` always has exactly one person.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.durations import Duration, format_duration

# Timeline lines saying which schedule chose whom are numbered from here (not the workflow's).
ONCALL_SEQ = 300_000
MIN_SHIFT = timedelta(minutes=30)
MAX_SHIFT = timedelta(weeks=4)
NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


WEEK = list(Weekday)  # in date.weekday() order


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError naming it if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a known time zone; use an IANA name such as Europe/Berlin"
        ) from None


class Hours(_Strict):
    """The hours a rotation covers (``only``); outside them the layer below holds.
    ``to`` at or before ``from`` runs into the next day; equal means the whole day."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    days: list[Weekday] = Field(default_factory=lambda: list(Weekday), min_length=1)
    from_: time = Field(default=time(0), alias="from")
    to: time = time(0)


class Rotation(_Strict):
    name: str = Field(pattern=NAME, description="lower case, digits, - and _")
    start: datetime = Field(description="local time of the first handoff, no UTC offset")
    shift: Duration = Field(description="how long each person holds it, 30m to 4w")
    people: list[str] = Field(description="names from roster.yaml, in turn")
    only: Hours | None = None

    @field_validator("start")
    @classmethod
    def _local(cls, value: datetime) -> datetime:
        if value.tzinfo is not None:
            raise ValueError("a local time in the schedule's time_zone; drop the UTC offset")
        return value

    @field_validator("shift")
    @classmethod
    def _in_range(cls, value: timedelta) -> timedelta:
        if not MIN_SHIFT <= value <= MAX_SHIFT:
            raise ValueError(f"{format_duration(value)} is out of range: a shift is 30m to 4w")
        return value

    @field_validator("people")
    @classmethod
    def _someone(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("an empty rotation: name at least one person")
        return value


class Schedule(_Strict):
    time_zone: str
    rotations: list[Rotation] = Field(description="later rotations are layers above earlier ones")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("rotations")
    @classmethod
    def _some(cls, value: list[Rotation]) -> list[Rotation]:
        if not value:
            raise ValueError("a schedule needs at least one rotation")
        names = [r.name for r in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rotation names must be unique: {', '.join(twice)}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def people(self) -> list[str]:
        return sorted({p for r in self.rotations for p in r.people})


class Schedules(_Strict):
    """``schedules.yaml``: schedules by name."""

    schedules: dict[str, Schedule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> Self:
        for name in self.schedules:
            if not re.fullmatch(NAME, name):
                raise ValueError(f"schedules.{name}: lower case, digits, - and _ only")
        return self


class Override(_Strict):
    """Someone covering a schedule from ``start`` to ``end``, above every rotation. Of two
    overlapping overrides, the one made later wins."""

    id: int
    schedule: str
    person: str
    start: AwareDatetime
    end: AwareDatetime
    by: str
    reason: str | None = None
    created_at: AwareDatetime


class Source(StrEnum):
    ROSTER = "roster"
    ROTATION = "rotation"
    OVERRIDE = "override"
    GAP = "gap"


class Shift(_Strict):
    """Who holds a schedule from ``start`` to ``end``; ``person`` None is a gap."""

    person: str | None
    start: AwareDatetime
    end: AwareDatetime
    source: Source
    rotation: str | None = None
    override_id: int | None = None


# ------------------------------------------------------------------------------ local time


@lru_cache(maxsize=65536)
def instant(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time; one inside a gap is when the clocks jump."""
    utc = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == local:
        return utc
    # Inside the gap fold=0 reads the time with the offset before the jump (past the jump)
    # and fold=1 with the one after (before it): the jump lies between the two.
    low = int(local.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    high = int(utc.timestamp())
    after = utc.astimezone(tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def handoff(rotation: Rotation, tz: ZoneInfo, k: int) -> datetime:
    """The instant of the rotation's k-th handoff (negative k: before ``start``)."""
    return instant(rotation.start + k * rotation.shift, tz)


def shift_index(rotation: Rotation, tz: ZoneInfo, at: datetime) -> int:
    """The k whose shift holds ``at``: the last handoff at or before it."""
    local = at.astimezone(tz).replace(tzinfo=None)
    k = (local - rotation.start) // rotation.shift
    while handoff(rotation, tz, k + 1) <= at:
        k += 1
    while handoff(rotation, tz, k) > at:
        k -= 1
    return k


def _window(hours: Hours, tz: ZoneInfo, day: date) -> tuple[datetime, datetime] | None:
    if WEEK[day.weekday()] not in hours.days:
        return None
    start = datetime.combine(day, hours.from_)
    end = datetime.combine(day, hours.to)
    if end <= start:
        end += timedelta(days=1)
    return instant(start, tz), instant(end, tz)


def covers(rotation: Rotation, tz: ZoneInfo, at: datetime) -> bool:
    if rotation.only is None:
        return True
    today = at.astimezone(tz).date()
    for day in (today - timedelta(days=1), today):
        window = _window(rotation.only, tz, day)
        if window is not None and window[0] <= at < window[1]:
            return True
    return False


# ---------------------------------------------------------------------------- the layers

_Key = tuple[str, int, int] | tuple[str, int] | tuple[str]


def _holding(
    schedule: Schedule, tz: ZoneInfo, at: datetime, overrides: Sequence[Override]
) -> tuple[_Key, str | None, Source, str | None]:
    """Who holds the schedule at ``at``, and a key that changes exactly at a new shift."""
    active = [o for o in overrides if o.start <= at < o.end]
    if active:
        latest = max(active, key=lambda o: (o.created_at, o.id))
        return ("override", latest.id), latest.person, Source.OVERRIDE, None
    for layer in range(len(schedule.rotations) - 1, -1, -1):
        rotation = schedule.rotations[layer]
        if covers(rotation, tz, at):
            k = shift_index(rotation, tz, at)
            person = rotation.people[k % len(rotation.people)]
            return ("rotation", layer, k), person, Source.ROTATION, rotation.name
    return ("gap",), None, Source.GAP, None


def _changes(
    schedule: Schedule,
    tz: ZoneInfo,
    since: datetime,
    until: datetime,
    overrides: Sequence[Override],
) -> list[datetime]:
    """Every instant in (since, until) at which the holder may change."""
    points: set[datetime] = set()
    for rotation in schedule.rotations:
        k = shift_index(rotation, tz, since) + 1
        while (at := handoff(rotation, tz, k)) < until:
            points.add(at)
            k += 1
        if rotation.only is not None:
            day = since.astimezone(tz).date() - timedelta(days=1)
            while day <= until.astimezone(tz).date():
                window = _window(rotation.only, tz, day)
                if window is not None:
                    points.update(window)
                day += timedelta(days=1)
    for override in overrides:
        points.update((override.start, override.end))
    return sorted(p for p in points if since < p < until)


def _segments(
    schedule: Schedule, since: datetime, until: datetime, overrides: Sequence[Override]
) -> list[Shift]:
    tz = schedule.zone
    bounds = [since, *_changes(schedule, tz, since, until, overrides), until]
    found: list[Shift] = []
    last: _Key | None = None
    for start, end in pairwise(bounds):
        key, person, source, rotation = _holding(schedule, tz, start, overrides)
        if key == last:
            found[-1] = found[-1].model_copy(update={"end": end})
            continue
        last = key
        found.append(_shift((key, person, source, rotation), start, end))
    return found


def _shift(
    holding: tuple[_Key, str | None, Source, str | None], start: datetime, end: datetime
) -> Shift:
    key, person, source, rotation = holding
    override_id = int(key[-1]) if source is Source.OVERRIDE else None
    return Shift(
        person=person,
        start=start,
        end=end,
        source=source,
        rotation=rotation,
        override_id=override_id,
    )


# The longest a shift is clipped to when nothing bounds it (an override of a year, a gap).
_HORIZON = timedelta(days=366)


def _reach(
    schedule: Schedule, since: datetime, until: datetime, overrides: Sequence[Override]
) -> tuple[datetime, datetime]:
    """The range whose segments hold every shift overlapping [since, until) whole."""
    longest = max(r.shift for r in schedule.rotations) + timedelta(days=1)
    early = since - longest
    late = until + longest
    for o in overrides:
        if o.start <= since < o.end:
            early = min(early, max(o.start, since - _HORIZON))
        if o.start < until <= o.end:
            late = max(late, min(o.end, until + _HORIZON))
    return early, late


def shifts(
    schedule: Schedule, since: datetime, until: datetime, overrides: Sequence[Override] = ()
) -> list[Shift]:
    """The shifts overlapping [since, until), whole (the first may begin before ``since``),
    one after another with no hole: a gap is a shift of nobody."""
    if until <= since:
        raise ValueError("until must be after since")
    early, late = _reach(schedule, since, until, overrides)
    return [
        s for s in _segments(schedule, early, late, overrides) if s.end > since and s.start < until
    ]


def holder(schedule: Schedule, at: datetime, overrides: Sequence[Override] = ()) -> Shift:
    """The shift holding the schedule at ``at``: ``shifts``' one, found by walking out from
    ``at`` over the instants the holder may change at. Every page asks this, and building
    each shift of the fortnight around ``at`` cost a page more than a millisecond."""
    early, late = _reach(schedule, at, at + timedelta(microseconds=1), overrides)
    tz = schedule.zone
    bounds = [early, *_changes(schedule, tz, early, late, overrides), late]
    here = bisect_right(bounds, at) - 1

    def key(i: int) -> _Key:
        return _holding(schedule, tz, bounds[i], overrides)[0]

    holding = _holding(schedule, tz, bounds[here], overrides)
    first = here
    while first > 0 and key(first - 1) == holding[0]:
        first -= 1
    last = here + 1
    while last < len(bounds) - 1 and key(last) == holding[0]:
        last += 1
    # Equal keys hold the same person from the same layer: the run's holding is this one's.
    return _shift(holding, bounds[first], bounds[last])


def for_schedule(overrides: Sequence[Override], schedule: str) -> list[Override]:
    return [o for o in overrides if o.schedule == schedule]
