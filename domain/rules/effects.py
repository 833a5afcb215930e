"""What a transition decided: the new state, its timeline events, its notifications; for a
customer statement, its record writes, approval requests and publication."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from domain.models import Actor, Function, NotificationKind, Role, Tier, TimelineEvent
from domain.playbook import PageTarget
from domain.rules.state import IncidentState
from domain.statements import Statement


class NotifyTarget(BaseModel):
    """A tier of a function; the roster says who holds it when the notification is sent.
    With ``person``, that person instead (the incident's owner), in the function's role."""

    function: Function
    tier: Tier
    role: Role
    person: Actor | None = None
    # An external partner's contact (its ``contact``-th, the last once they run out), paged
    # on behalf of ``function``: the roster says who the contacts are when it is sent.
    partner: str | None = None
    contact: int = 0


class Notify(BaseModel):
    """One notification about one timeline event. No targets: a broadcast to the incident's
    own channel (status changes)."""

    kind: NotificationKind
    event: TimelineEvent
    targets: list[NotifyTarget] = Field(default_factory=list)


@dataclass
class Outcome:
    state: IncidentState
    events: list[TimelineEvent] = field(default_factory=list)
    notifications: list[Notify] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.events)


# ------------------------------------------------------------------ customer statements


@dataclass(frozen=True)
class Record:
    """Write the statement (and these timeline events) to the records."""

    message: Statement
    events: tuple[TimelineEvent, ...] = ()


@dataclass(frozen=True)
class Ask:
    """Ask the people of these tiers to approve the draft, once per ``key``."""

    message: Statement
    page: list[PageTarget]
    event: TimelineEvent
    key: str


@dataclass(frozen=True)
class Publish:
    """Deliver the published statement: key accounts first, then the public."""

    message: Statement


Effect = Record | Ask | Publish
