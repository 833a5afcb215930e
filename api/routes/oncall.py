"""On call (DESIGN §3): who holds each tier, the schedules and their shifts, overrides."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from adapters.clock import utcnow
from adapters.records.tokens import AuditEntry
from api.calendar import calendar
from api.config import API_PREFIX
from api.deps import Authenticated, ConfigDep, Runtime, RuntimeDep, may
from api.schemas.common import AwareIsoDatetime
from api.schemas.oncall import (
    CalendarFeedOut,
    OnCallItem,
    OnCallList,
    OnCallScheduleList,
    OnCallScheduleOut,
    OverrideList,
    OverrideOut,
    OverrideRequest,
    RotationOut,
    ShiftList,
    ShiftOut,
)
from domain.access import Permission, Principal
from domain.durations import format_duration
from domain.errors import InvalidAction, ScheduleNotFound
from domain.models import Actor
from domain.oncall import Override, Schedule, Shift, holder, shifts
from domain.roster import Roster
from domain.rules.oncall import OnCall
from workflows.oncall.client import tell_handoffs

log = logging.getLogger(__name__)
router = APIRouter(prefix=API_PREFIX, tags=["on call"], dependencies=[Authenticated])

Reader = Annotated[Principal, may(Permission.READ)]
Responder = Annotated[Principal, may(Permission.RESPOND)]
ScheduleName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["support"])]
MAX_RANGE = timedelta(days=92)


async def _tell(runtime: Runtime, schedule: str, why: str) -> None:
    """Wake the schedule's handoff process. The override is kept whatever Temporal says, and
    the process finds it at its next handoff anyway."""
    try:
        async with asyncio.timeout(runtime.service.call_timeout):
            await tell_handoffs(runtime.service.client, schedule, why)
    except TimeoutError:
        log.warning("the %s handoff process was not told: %s", schedule, why)


def _schedule(roster: Roster, name: str) -> Schedule:
    if name not in roster.schedules:
        known = ", ".join(sorted(roster.schedules)) or "none"
        raise ScheduleNotFound(f"no schedule {name!r}; the schedules are: {known}")
    return roster.schedules[name]


def _shift(shift: Shift) -> ShiftOut:
    return ShiftOut(**shift.model_dump())


def _override(override: Override) -> OverrideOut:
    return OverrideOut(**override.model_dump(exclude={"created_at"}))


@router.get("/oncall", response_model=OnCallList)
async def who_is_on_call(
    who: Reader, runtime: RuntimeDep, at: Annotated[AwareIsoDatetime | None, Query()] = None
) -> OnCallList:
    """Every function and tier: who holds it at ``at`` (now by default), from the roster, a
    rotation or an override, and until when."""
    now = await runtime.on_call(at or utcnow())
    items = [
        OnCallItem(
            function=h.function,
            tier=h.tier,
            schedule=h.schedule,
            people=h.people,
            source=h.source,
            until=h.until,
        )
        for h in now.holdings
    ]
    return OnCallList(items=items)


@router.get("/schedules", response_model=OnCallScheduleList)
async def list_schedules(who: Reader, runtime: RuntimeDep) -> OnCallScheduleList:
    """The schedules of ``schedules.yaml``, each with the tiers it holds and its shift now."""
    roster = runtime.people.current()
    now = utcnow()
    overrides = await runtime.store.oncall.overrides(ending_after=now)
    items = [
        OnCallScheduleOut(
            name=name,
            time_zone=schedule.time_zone,
            rotations=[
                RotationOut(
                    name=r.name,
                    start=r.start.isoformat(timespec="minutes"),
                    shift=format_duration(r.shift),
                    people=r.people,
                    only=r.only.model_dump(mode="json", by_alias=True) if r.only else None,
                )
                for r in schedule.rotations
            ],
            tiers=[
                f"{f.value}.{t.value}"
                for f, tiers in roster.functions.items()
                for t in tiers
                if roster.schedule_of(f, t) == name
            ],
            now=_shift(holder(schedule, now, [o for o in overrides if o.schedule == name])),
        )
        for name, schedule in sorted(roster.schedules.items())
    ]
    return OnCallScheduleList(items=items)


@router.get("/schedules/{name}/shifts", response_model=ShiftList)
async def list_shifts(
    who: Reader,
    runtime: RuntimeDep,
    name: ScheduleName,
    since: Annotated[AwareIsoDatetime | None, Query(description="now by default")] = None,
    until: Annotated[AwareIsoDatetime | None, Query(description="a week after since")] = None,
) -> ShiftList:
    """The shifts from ``since`` to ``until``, one after another (at most 92 days)."""
    schedule = _schedule(runtime.people.current(), name)
    start = since or utcnow()
    end = until or start + timedelta(weeks=1)
    if end <= start:
        raise InvalidAction("until: must be after since")
    if end - start > MAX_RANGE:
        raise InvalidAction("until: at most 92 days after since")
    overrides = await runtime.store.oncall.overrides(name, ending_after=start)
    return ShiftList(items=[_shift(s) for s in shifts(schedule, start, end, overrides)])


@router.post(
    "/schedules/{name}/overrides", status_code=status.HTTP_201_CREATED, response_model=OverrideOut
)
async def add_override(
    who: Responder, runtime: RuntimeDep, name: ScheduleName, body: OverrideRequest
) -> OverrideOut:
    """Someone covers the schedule from ``start`` to ``end``, above every rotation; the next
    page, of a new incident or one already open, goes to them."""
    roster = runtime.people.current()
    _schedule(roster, name)
    if roster.person(body.person) is None:
        raise InvalidAction(f"person: {body.person!r} is not in the roster")
    now = utcnow()
    if body.end <= now:
        raise InvalidAction("end: already past; an override covers now or later")
    made = await runtime.store.oncall.add_override(
        name, body.person, body.start, body.end, who.acting(body.by), body.reason, now
    )
    await _tell(runtime, name, f"override {made.id} made")
    return _override(made)


@router.get("/schedules/{name}/overrides", response_model=OverrideList)
async def list_overrides(who: Reader, runtime: RuntimeDep, name: ScheduleName) -> OverrideList:
    """The schedule's overrides that have not ended, earliest made first."""
    _schedule(runtime.people.current(), name)
    found = await runtime.store.oncall.overrides(name, utcnow())
    return OverrideList(items=[_override(o) for o in found])


@router.delete("/schedules/{name}/overrides/{id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_override(
    who: Responder,
    runtime: RuntimeDep,
    name: ScheduleName,
    id: Annotated[int, Path(ge=1)],
    by: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Take an override back: the rotation holds again."""
    _schedule(runtime.people.current(), name)
    if not await runtime.store.oncall.remove_override(name, id, who.acting(by), utcnow()):
        raise ScheduleNotFound(f"no override {id} of {name!r}")
    await _tell(runtime, name, f"override {id} taken back")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


Admin = Annotated[Principal, may(Permission.ADMINISTER)]
FEED_WEEKS = 8


@router.post(
    "/schedules/{name}/calendar",
    status_code=status.HTTP_201_CREATED,
    response_model=CalendarFeedOut,
)
async def new_calendar_feed(
    who: Admin, runtime: RuntimeDep, config: ConfigDep, name: ScheduleName
) -> CalendarFeedOut:
    """A calendar feed's URL with a new secret in it (ADR 0021); the previous one stops."""
    _schedule(runtime.people.current(), name)
    secret = await runtime.store.oncall.new_feed_secret(name, who.acting(None), utcnow())
    base = config.public_url.rstrip("/")
    return CalendarFeedOut(url=f"{base}{API_PREFIX}/schedules/{name}/calendar.ics?key={secret}")


@router.delete("/schedules/{name}/calendar", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_calendar_feed(who: Admin, runtime: RuntimeDep, name: ScheduleName) -> Response:
    """The feed's URL stops working."""
    _schedule(runtime.people.current(), name)
    if not await runtime.store.oncall.revoke_feed(name):
        raise ScheduleNotFound(f"no calendar feed of {name!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


feed_router = APIRouter(prefix=API_PREFIX, tags=["on call"])


@feed_router.get(
    "/schedules/{name}/calendar.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "RFC 5545, the next 8 weeks"},
        404: {"description": "no such feed, or the key is not (any more) valid"},
    },
)
async def calendar_feed(
    runtime: RuntimeDep,
    name: ScheduleName,
    key: Annotated[str, Query(min_length=1, max_length=200, description="the feed's secret")],
) -> Response:
    """The schedule's shifts for the next 8 weeks. Calendar apps send no Authorization
    header: the secret in the URL is the credential (ADR 0021)."""
    roster = runtime.people.current()
    if name not in roster.schedules or not await runtime.store.oncall.feed_allows(name, key):
        # One answer for a wrong key and an unknown schedule: the URL reveals nothing.
        raise ScheduleNotFound("no such calendar feed")
    schedule = roster.schedules[name]
    now = utcnow()
    overrides = await runtime.store.oncall.overrides(name, ending_after=now)
    found = shifts(schedule, now, now + timedelta(weeks=FEED_WEEKS), overrides)
    body = calendar(name, schedule.time_zone, found, now)
    return Response(body, media_type="text/calendar; charset=utf-8")


# The audit log's token column for changes made from Slack (no API token involved).
SLACK = "slack"


class SlackOnCall:
    """``/incident oncall`` and ``/incident cover`` from Slack, audited as the API's changes
    are (the token column says ``slack``)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def now(self, at: datetime) -> OnCall:
        return await self._runtime.on_call(at)

    async def cover(
        self, schedule: str, person: str, start: datetime, end: datetime, by: Actor
    ) -> Override:
        store = self._runtime.store
        made = await store.oncall.add_override(schedule, person, start, end, by.name, None, start)
        entry = AuditEntry(
            at=start, token=SLACK, person=by.name, method="SLACK",
            path=f"/incident cover {person} on {schedule} (override {made.id})", status=201,
        )  # fmt: skip
        await store.tokens.audit(entry)
        await _tell(self._runtime, schedule, f"override {made.id} made from Slack")
        return made
