"""The roster at an instant: each schedule's tier held by whoever is on call then.

Pages resolve the roster when each one is sent (ADR 0003); with schedules that means at the
send instant, overrides included, so an escalation step or a re-page looks again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.models import Function, Person, Tier
from domain.oncall import Override, Shift, Source, for_schedule, holder
from domain.roster import Roster


@dataclass(frozen=True)
class Holding:
    """Who holds one function's tier at an instant, and why."""

    function: Function
    tier: Tier
    schedule: str | None
    people: list[Person]
    source: Source
    shift: Shift | None = None  # None for a tier written as people

    @property
    def until(self) -> datetime | None:
        return self.shift.end if self.shift is not None else None

    def why(self, zone_name: str | None = None) -> str:
        """How a page chose these people, for the incident's timeline."""
        if self.shift is None or self.schedule is None:
            return "the roster"
        end = self.shift.end.isoformat(timespec="minutes")
        if self.shift.source is Source.OVERRIDE:
            return f"schedule {self.schedule}, override {self.shift.override_id} until {end}"
        return f"schedule {self.schedule}, rotation {self.shift.rotation}, shift until {end}"


@dataclass(frozen=True)
class OnCall:
    """The roster with every schedule's tier replaced by its holder at ``at``."""

    at: datetime
    roster: Roster
    holdings: list[Holding]

    def holding(self, function: Function, tier: Tier) -> Holding | None:
        return next((h for h in self.holdings if (h.function, h.tier) == (function, tier)), None)


def roster_at(roster: Roster, at: datetime, overrides: Sequence[Override] = ()) -> OnCall:
    functions: dict[Function, dict[Tier, list[Person]]] = {}
    holdings: list[Holding] = []
    for function, tiers in roster.functions.items():
        functions[function] = {}
        for tier in tiers:
            holding = _hold(roster, function, tier, at, overrides)
            functions[function][tier] = holding.people
            holdings.append(holding)
    resolved = roster.model_copy(update={"functions": functions})
    return OnCall(at=at, roster=resolved, holdings=holdings)


def _hold(
    roster: Roster, function: Function, tier: Tier, at: datetime, overrides: Sequence[Override]
) -> Holding:
    name = roster.schedule_of(function, tier)
    if name is None:
        people = roster.people(function, tier)
        return Holding(function, tier, None, people, Source.ROSTER)
    shift = holder(roster.schedules[name], at, for_schedule(overrides, name))
    person = roster.person(shift.person) if shift.person is not None else None
    people = [person] if person is not None else []
    return Holding(function, tier, name, people, shift.source, shift)
