"""The handoff process's side effects: when the next handoff is, and the two messages of a
handoff, each sent once by key."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import activity

from domain.models import Function, Incident, Status, Tier
from domain.notify import DirectMessenger, PermanentFailure
from domain.oncall import Schedule, holder
from domain.roster import Roster
from playbooks.roster import RosterSource
from workflows.oncall.models import AnnounceInput, NextHandoffInput, NextHandoffResult

if TYPE_CHECKING:
    from adapters.records import RecordsStore

log = logging.getLogger(__name__)
_JUST_BEFORE = timedelta(microseconds=1)


class OnCallActivities:
    def __init__(
        self, records: RecordsStore, messenger: DirectMessenger | None, roster: RosterSource
    ) -> None:
        self._records = records
        self._messenger = messenger
        self._roster = roster

    @activity.defn(name="next_handoff")
    async def next_handoff(self, input: NextHandoffInput) -> NextHandoffResult:
        roster = self._roster.current()
        schedule = roster.schedules.get(input.schedule)
        if schedule is None:
            return NextHandoffResult()
        overrides = await self._records.oncall.overrides(input.schedule, input.after)
        return NextHandoffResult(at=holder(schedule, input.after, overrides).end)

    @activity.defn(name="announce_handoff")
    async def announce_handoff(self, input: AnnounceInput) -> None:
        roster = self._roster.current()
        schedule = roster.schedules.get(input.schedule)
        if schedule is None:
            return
        overrides = await self._records.oncall.overrides(input.schedule, input.at - _JUST_BEFORE)
        shift = holder(schedule, input.at, overrides)
        before = holder(schedule, input.at - _JUST_BEFORE, overrides)
        if shift.person == before.person:
            return  # the same person holds on: nothing changes hands
        tiers = _tiers(roster, input.schedule)
        held = await self._held(tiers)
        what = ", ".join(_describe(f, t) for f, t in tiers) or f"the {input.schedule} schedule"
        key = f"handoff/{input.schedule}/{input.at.isoformat()}"
        if shift.person is not None:
            text = (
                f"You are on call for {what} from {_local(shift.start, schedule)} until "
                f"{_local(shift.end, schedule)}. {_incidents(held, 'you now hold')}"
            )
            await self._tell_once(roster, shift.person, text, f"{key}/in")
        if before.person is not None:
            after = shift.person or "nobody (a gap in the schedule)"
            text = (
                f"Your on-call shift for {what} ended at {_local(shift.start, schedule)}; "
                f"{after} holds it now. {_incidents(held, 'handed over')}"
            )
            await self._tell_once(roster, before.person, text, f"{key}/out")

    async def _held(self, tiers: list[tuple[Function, Tier]]) -> list[Incident]:
        """Open incidents that paged one of the schedule's tiers."""
        open_now = await self._records.list_incidents(status=[s for s in Status if s.is_open])
        return [i for i in open_now if any((p.function, p.tier) in tiers for p in i.paged)]

    async def _tell_once(self, roster: Roster, name: str, text: str, key: str) -> None:
        person = roster.person(name)
        if person is None or self._messenger is None:
            log.warning("handoff message to %s not sent: nobody to send it through", name)
            return
        if await self._records.notification_sent(key):
            return
        try:
            await self._messenger.tell(person, text, key)
        except PermanentFailure as exc:
            log.error("handoff message to %s refused: %s", name, exc)
        await self._records.record_notification(
            key, incident_id="oncall", kind="handoff", recipient=name
        )


def _tiers(roster: Roster, schedule: str) -> list[tuple[Function, Tier]]:
    return [
        (function, tier)
        for function, tiers in roster.functions.items()
        for tier in tiers
        if roster.schedule_of(function, tier) == schedule
    ]


def _describe(function: Function, tier: Tier) -> str:
    return f"{function.value.replace('_', ' ')} ({tier.value})"


def _local(at: datetime, schedule: Schedule) -> str:
    return f"{at.astimezone(schedule.zone):%a %d %b %H:%M %Z}"


def _incidents(held: list[Incident], how: str) -> str:
    if not held:
        return "No open incidents."
    lines = "; ".join(f"{i.id} (level {i.level.value}, {i.status.value}): {i.title}" for i in held)
    return f"Open incidents {how}: {lines}."
