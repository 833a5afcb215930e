"""Shift arithmetic: layers, overrides, contiguity and handoffs that keep local time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.oncall import Override, Schedule, Source, holder, shift_index, shifts

ZONES = ["Europe/Berlin", "America/New_York"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
PEOPLE = ["ada", "ben", "chen", "dara"]
# 2026: Berlin changes on 29 March and 25 October, New York on 8 March and 1 November.
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)
shift_lengths = st.sampled_from(
    [timedelta(minutes=30), timedelta(hours=8), timedelta(hours=12), timedelta(days=1),
     timedelta(days=3), timedelta(weeks=1), timedelta(weeks=2), timedelta(weeks=4)]
)  # fmt: skip


def _schedule(zone: str, rotations: list[dict[str, Any]]) -> Schedule:
    return Schedule.model_validate({"time_zone": zone, "rotations": rotations})


@st.composite
def rotations(draw: st.DrawFn, name: str, only: bool = False) -> dict[str, Any]:
    start = draw(st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2026, 12, 1)))
    rotation: dict[str, Any] = {
        "name": name,
        "start": start.replace(second=0, microsecond=0).isoformat(),
        "shift": f"{int(draw(shift_lengths).total_seconds())}s",
        "people": draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)),
    }
    if only:
        rotation["only"] = {
            "days": draw(st.lists(st.sampled_from(["mon", "tue", "sat", "sun"]), min_size=1)),
            "from": draw(st.sampled_from(["00:00", "02:30", "09:00", "18:00"])),
            "to": draw(st.sampled_from(["00:00", "03:00", "08:00", "17:00"])),
        }
    return rotation


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    layers = [draw(rotations("base"))]
    for i in range(draw(st.integers(min_value=0, max_value=2))):
        layers.append(draw(rotations(f"layer{i}", only=True)))
    return _schedule(draw(st.sampled_from(ZONES)), layers)


@st.composite
def overrides(draw: st.DrawFn) -> list[Override]:
    found = []
    for i in range(draw(st.integers(min_value=0, max_value=3))):
        start = draw(instants)
        found.append(
            Override(
                id=i + 1,
                schedule="s",
                person=draw(st.sampled_from(["eli", "fay"])),
                start=start,
                end=start + draw(st.timedeltas(timedelta(minutes=1), timedelta(days=9))),
                by="chen",
                created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
            )
        )
    return found


@settings(max_examples=60, deadline=None)
@given(schedule=schedules(), extra=overrides(), since=instants, length=st.timedeltas(
    timedelta(minutes=1), timedelta(days=6)))  # fmt: skip
def test_shifts_are_contiguous_and_cover_the_range(
    schedule: Schedule, extra: list[Override], since: datetime, length: timedelta
) -> None:
    found = shifts(schedule, since, since + length, extra)
    assert found[0].start <= since
    assert found[-1].end >= since + length
    for shift in found:
        assert shift.start < shift.end
    for before, after in pairwise(found):
        assert before.end == after.start


@settings(max_examples=60, deadline=None)
@given(schedule=schedules(), at=instants)
def test_the_base_layer_has_exactly_one_person_at_every_instant(
    schedule: Schedule, at: datetime
) -> None:
    base = schedule.rotations[0]
    shift = holder(schedule.model_copy(update={"rotations": [base]}), at)
    k = shift_index(base, schedule.zone, at)
    assert shift.source is Source.ROTATION
    assert shift.person == base.people[k % len(base.people)]
    assert shift.start <= at < shift.end


@settings(max_examples=60, deadline=None)
@given(schedule=schedules(), extra=overrides(), at=instants)
def test_holder_agrees_with_the_shift_list(
    schedule: Schedule, extra: list[Override], at: datetime
) -> None:
    found = shifts(schedule, at - timedelta(days=2), at + timedelta(days=2), extra)
    holding = [s for s in found if s.start <= at < s.end]
    assert len(holding) == 1
    assert holder(schedule, at, extra) == holding[0]
    assert holding[0].person is not None  # the base layer has no `only`


@st.composite
def schedules_with_gaps(draw: st.DrawFn) -> Schedule:
    """Every layer may keep to some hours, the base too: outside them nobody holds it."""
    layers = [draw(rotations("base", only=draw(st.booleans())))]
    for i in range(draw(st.integers(min_value=0, max_value=2))):
        layers.append(draw(rotations(f"layer{i}", only=True)))
    return _schedule(draw(st.sampled_from(ZONES)), layers)


@settings(max_examples=60, deadline=None)
@given(schedule=schedules_with_gaps(), extra=overrides(), at=instants)
def test_holder_is_the_shift_holding_the_instant_gaps_included(
    schedule: Schedule, extra: list[Override], at: datetime
) -> None:
    # holder walks out from the instant; shifts builds every shift of the range around it.
    assert (
        holder(schedule, at, extra)
        == shifts(schedule, at, at + timedelta(microseconds=1), extra)[0]
    )


@settings(max_examples=60, deadline=None)
@given(schedule=schedules(), extra=overrides().filter(bool), data=st.data())
def test_overrides_win_and_the_latest_made_wins_among_them(
    schedule: Schedule, extra: list[Override], data: st.DataObject
) -> None:
    chosen = data.draw(st.sampled_from(extra))
    at = chosen.start + (chosen.end - chosen.start) / 2
    active = [o for o in extra if o.start <= at < o.end]
    latest = max(active, key=lambda o: o.created_at)
    shift = holder(schedule, at, extra)
    assert (shift.person, shift.source, shift.override_id) == (
        latest.person,
        Source.OVERRIDE,
        latest.id,
    )


@pytest.mark.parametrize(
    ("zone", "first"),
    # Both into summer time (29 March, 8 March) and back (25 October, 1 November).
    [("Europe/Berlin", "2026-03-02T09:00"), ("America/New_York", "2026-02-23T09:00")],
)
def test_a_weekly_0900_handoff_stays_at_0900_local_across_both_changes(
    zone: str, first: str
) -> None:
    schedule = _schedule(
        zone, [{"name": "weekly", "start": first, "shift": "1w", "people": ["ada", "ben"]}]
    )
    tz = ZoneInfo(zone)
    since = datetime.fromisoformat(first).replace(tzinfo=tz)
    found = shifts(schedule, since, datetime(2026, 11, 30, tzinfo=UTC))
    starts = [s.start.astimezone(tz) for s in found]
    assert {s.time() for s in starts} == {time(9, 0)}
    assert {s.weekday() for s in starts} == {0}
    offsets = {s.utcoffset() for s in starts}
    assert len(offsets) == 2  # both standard and summer time were crossed
    lengths = {s.end - s.start for s in found}
    # Every shift is a week, except the two spanning a change: an hour shorter or longer.
    assert lengths == {
        timedelta(weeks=1),
        timedelta(weeks=1, hours=-1),
        timedelta(weeks=1, hours=1),
    }
    assert [s.person for s in found[:3]] == ["ada", "ben", "ada"]


def test_a_handoff_inside_the_spring_gap_happens_when_the_clocks_jump() -> None:
    schedule = _schedule(
        "Europe/Berlin",
        [{"name": "daily", "start": "2026-03-01T02:30", "shift": "1d", "people": ["ada", "ben"]}],
    )
    jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 CET becomes 03:00 CEST
    shift = holder(schedule, jump)
    assert shift.start == jump
    assert shift.end.astimezone(ZoneInfo("Europe/Berlin")).time() == time(2, 30)


def test_a_handoff_in_the_repeated_autumn_hour_happens_at_its_first_occurrence() -> None:
    schedule = _schedule(
        "America/New_York",
        [{"name": "daily", "start": "2026-10-01T01:30", "shift": "1d", "people": ["ada", "ben"]}],
    )
    at = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 01:00 EST, the repeat
    shift = holder(schedule, at)
    assert shift.start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert shift.end - shift.start == timedelta(hours=25)


def test_outside_a_layers_hours_the_layer_below_holds() -> None:
    schedule = _schedule(
        "Europe/Berlin",
        [
            {"name": "weekly", "start": "2026-11-30T09:00", "shift": "1w", "people": ["ada"]},
            {
                "name": "weekdays",
                "start": "2026-11-30T09:00",
                "shift": "1d",
                "people": ["ben", "chen"],
                "only": {"days": WEEKDAYS, "from": "09:00", "to": "17:00"},
            },
        ],
    )
    monday_noon = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    tuesday_noon = monday_noon + timedelta(days=1)
    saturday_noon = monday_noon + timedelta(days=5)
    assert holder(schedule, monday_noon).person == "ben"
    assert holder(schedule, tuesday_noon).person == "chen"
    assert holder(schedule, monday_noon + timedelta(hours=8)).person == "ada"
    assert holder(schedule, saturday_noon).rotation == "weekly"
    evening = holder(schedule, monday_noon + timedelta(hours=8))
    assert (evening.start, evening.end) == (
        datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_zone", "Europe/Berlinn", "not a known time zone"),
        ("shift", "10m", "out of range: a shift is 30m to 4w"),
        ("shift", "5w", "out of range"),
        ("people", [], "an empty rotation"),
        ("start", "2026-11-30T09:00+01:00", "drop the UTC offset"),
    ],
)
def test_bad_schedules_are_refused_naming_the_problem(field: str, value: Any, message: str) -> None:
    rotation: dict[str, Any] = {"name": "r", "start": "2026-11-30T09:00", "shift": "1w",
                                "people": ["ada"]}  # fmt: skip
    data: dict[str, Any] = {"time_zone": "Europe/Berlin", "rotations": [rotation]}
    if field == "time_zone":
        data["time_zone"] = value
    else:
        rotation[field] = value
    with pytest.raises(ValidationError, match=message):
        Schedule.model_validate(data)
