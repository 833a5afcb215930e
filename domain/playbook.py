"""Schemas of the playbook directory: one YAML per level, the coordination matrix, the roster.

Per-level policy is plain data so that organisations write their own without touching code.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from domain.access import Role as AccessRole
from domain.durations import Duration, format_duration
from domain.models import Function, IncidentType, Level, Person, Role, Tier
from domain.oncall import Schedule


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PageTarget(_Strict):
    """Whom a step pages: a tier of the incident's lead function(s), or of a named function.

    In YAML either a bare tier (``secondary``) or ``{function: leadership, tier: primary}``.
    """

    function: Function | None = None
    tier: Tier

    @model_validator(mode="before")
    @classmethod
    def _from_bare_tier(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"tier": value}
        return value

    def describe(self) -> str:
        who = self.function.value if self.function else "lead function"
        return f"{who} {self.tier.value}"


class EscalationStep(_Strict):
    after: Duration = Field(description="offset from the moment the level took effect")
    page: list[PageTarget] = Field(min_length=1)


class BreachPolicy(_Strict):
    page: list[PageTarget] = Field(min_length=1)
    repeat_every: Duration = Field(description="re-page this often until acknowledged")

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.repeat_every < timedelta(seconds=1):
            raise ValueError("repeat_every must be at least 1s")
        return self


class AlertsCleared(StrEnum):
    """What happens when every alert of an alert-opened incident has resolved."""

    MITIGATED = "mitigated"  # a human still confirms and resolves
    RESOLVED = "resolved"


class Tell(StrEnum):
    """Whether customers are told of an incident of this level."""

    ALWAYS = "always"
    DATA_LEAKS = "data_leaks"  # only when customers' data may be exposed
    NEVER = "never"


class CustomerPolicy(_Strict):
    """What customers are told, and when (DESIGN.md §1: a first public statement; customer
    channels answer within 15 minutes, 5 in an emergency)."""

    tell: Tell = Tell.NEVER
    first_statement: Duration = Field(
        default=timedelta(minutes=15), description="due this long after declaration"
    )
    update_every: Duration = Field(
        default=timedelta(hours=1), description="after each published statement, until resolved"
    )
    holding_statement: bool = Field(
        default=True,
        description="publish the pre-approved holding statement when an approval is late",
    )
    escalate: list[EscalationStep] = Field(
        default_factory=list,
        description="an approval not given by its due time: page these, offsets from the due time",
    )

    def applies(self, kind: IncidentType) -> bool:
        if self.tell is Tell.ALWAYS:
            return True
        return self.tell is Tell.DATA_LEAKS and kind is IncidentType.DATA_LEAK

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.update_every < timedelta(minutes=1):
            raise ValueError("update_every must be at least 1m")
        previous = timedelta(0)
        for index, step in enumerate(self.escalate):
            if step.after < previous:
                raise ValueError(f"escalate[{index}].after comes before the previous step")
            previous = step.after
        return self


class ActionPolicy(_Strict):
    """How an action item of a review is followed until it is done or dropped."""

    remind_before: Duration = Field(
        default=timedelta(days=2), description="its owner is reminded this long before it is due"
    )
    escalate_every: Duration = Field(
        default=timedelta(days=7),
        description="overdue: the review's owner and the lead's manager are told, this often",
    )


class ReviewPolicy(_Strict):
    """The post-incident review every resolved incident gets (DESIGN.md §1: review)."""

    due_in: Duration = Field(
        default=timedelta(days=5), description="due this long after the incident is resolved"
    )
    drill_due_in: Duration = Field(
        default=timedelta(days=7), description="a drill's review is due this long after"
    )
    remind_before: Duration = Field(
        default=timedelta(days=1), description="the owner is reminded this long before it is due"
    )
    overdue_every: Duration = Field(
        default=timedelta(days=2), description="overdue: the incident's leads are told this often"
    )
    actions: ActionPolicy = ActionPolicy()

    def due(self, resolved_at: datetime, drill: bool) -> datetime:
        return resolved_at + (self.drill_due_in if drill else self.due_in)

    @model_validator(mode="after")
    def _positive(self) -> Self:
        for name in ("due_in", "drill_due_in", "overdue_every"):
            if getattr(self, name) < timedelta(minutes=1):
                raise ValueError(f"{name} must be at least 1m")
        if self.actions.escalate_every < timedelta(minutes=1):
            raise ValueError("actions.escalate_every must be at least 1m")
        return self


class PartnerStep(_Strict):
    """A step that engages an external partner of the roster (``partner: true``): its first
    contact is paged, and its answer is judged against its own ``respond_within``. Unlike an
    escalation step it fires whether or not someone inside has acknowledged: a partner is
    called in to help fix, not to stand in for the one who acknowledges."""

    partner: str = Field(min_length=1, description="a partner's name in roster.yaml")
    after: Duration = Field(
        default=timedelta(0), description="offset from the moment the level took effect"
    )
    types: list[IncidentType] = Field(
        default_factory=lambda: list(IncidentType), min_length=1, description="only these types"
    )


class LevelPlaybook(_Strict):
    level: Level
    name: str = Field(min_length=1)
    description: str = ""
    response_window: Duration
    escalation: list[EscalationStep] = Field(default_factory=list)
    on_breach: BreachPolicy
    update_every: Duration
    # None means the level's default: see ``alerts_cleared``.
    on_alerts_cleared: AlertsCleared | None = None
    reopen_within: Duration = Field(
        default=timedelta(minutes=30),
        description="a resolved alert incident whose group fires again this soon reopens",
    )
    customers: CustomerPolicy = CustomerPolicy()
    review: ReviewPolicy = ReviewPolicy()
    partners: list[PartnerStep] = Field(
        default_factory=list, description="external partners engaged, offsets in order"
    )

    @property
    def alerts_cleared(self) -> AlertsCleared:
        """Serious incidents wait for a human to say they are over; a C closes with its alerts."""
        if self.on_alerts_cleared is not None:
            return self.on_alerts_cleared
        return AlertsCleared.RESOLVED if self.level is Level.C else AlertsCleared.MITIGATED

    @model_validator(mode="after")
    def _check_timing(self) -> Self:
        if self.response_window < timedelta(seconds=1):
            raise ValueError("response_window must be at least 1s")
        if self.update_every < timedelta(seconds=1):
            raise ValueError("update_every must be at least 1s")
        previous = timedelta(0)
        for index, step in enumerate(self.escalation):
            if step.after < previous:
                raise ValueError(
                    f"escalation[{index}].after ({format_duration(step.after)}) comes before "
                    f"the previous step ({format_duration(previous)}); list steps in order"
                )
            if step.after >= self.response_window:
                raise ValueError(
                    f"escalation[{index}].after ({format_duration(step.after)}) must be inside "
                    f"the response window ({format_duration(self.response_window)}); "
                    "pages after the window belong in on_breach"
                )
            previous = step.after
        previous = timedelta(0)
        for index, partner in enumerate(self.partners):
            if partner.after < previous:
                raise ValueError(f"partners[{index}].after comes before the previous step")
            previous = partner.after
        return self


class CoordinationMatrix(_Strict):
    """Who leads, supports or is informed, per incident type (DESIGN.md §1)."""

    types: dict[IncidentType, dict[Function, Role]]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = [t.value for t in IncidentType if t not in self.types]
        if missing:
            raise ValueError(f"incident types without a row: {', '.join(missing)}")
        for incident_type, row in self.types.items():
            if Role.LEAD not in row.values():
                raise ValueError(f"{incident_type.value}: no function leads this type")
        return self

    def functions(self, incident_type: IncidentType, role: Role) -> list[Function]:
        return [f for f, r in self.types[incident_type].items() if r is role]


class PlaybookSet(_Strict):
    """What an incident pins at start: every level's playbook and the matrix."""

    levels: dict[Level, LevelPlaybook]
    matrix: CoordinationMatrix
    # Each partner's respond_within as roster.yaml said when the incident began: the target
    # it is judged by is the one in force then (ADR 0027); its contacts are read when paged.
    partner_targets: dict[str, Duration] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _all_levels(self) -> Self:
        missing = [lv.value for lv in Level if lv not in self.levels]
        if missing:
            raise ValueError(f"no playbook for level {', '.join(missing)}")
        for level, playbook in self.levels.items():
            if playbook.level is not level:
                raise ValueError(f"the playbook for level {level} says level {playbook.level}")
        return self

    def for_level(self, level: Level) -> LevelPlaybook:
        return self.levels[level]


class SlackAccess(_Strict):
    """What people may do from Slack, in the API's roles (viewer, responder, lead, comms).
    Without this section everyone in the workspace may respond, lead and approve statements,
    as a shared channel implies; list people to narrow it."""

    default: list[AccessRole] = Field(
        default_factory=lambda: [AccessRole.RESPONDER, AccessRole.LEAD, AccessRole.COMMS],
        description="the roles of a Slack user not listed under people",
    )
    people: dict[str, list[AccessRole]] = Field(
        default_factory=dict,
        description="roster name or Slack user ID -> roles",
    )

    @model_validator(mode="after")
    def _no_admin_from_slack(self) -> Self:
        # Tokens and subscribers are administered with API tokens only; no Slack user is one.
        for who, roles in [("default", self.default), *self.people.items()]:
            if AccessRole.ADMIN in roles:
                raise ValueError(f"slack_access.{who}: admin is an API token's role, not Slack's")
        return self

    def roles_of(self, name: str | None, slack_user_id: str) -> list[AccessRole]:
        for key in (slack_user_id, name):
            if key is not None and key in self.people:
                return self.people[key]
        return self.default


class Paging(_Strict):
    """How direct messages reach one person."""

    bundle_window: Duration = Field(
        default=timedelta(seconds=30),
        description="pages that follow a page to the same person within this go together, "
        "as one message, when it closes; 0s sends every page on its own",
    )

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if not timedelta(0) <= self.bundle_window <= timedelta(minutes=5):
            raise ValueError("bundle_window must be between 0s and 5m: a page may not wait longer")
        return self


# An external partner answers within this unless roster.yaml says otherwise (DESIGN §1:
# the resource pool's partners answer within 30 minutes).
PARTNER_TARGET = timedelta(minutes=30)


class Partner(_Strict):
    """An external partner (a hosting provider, a vendor): written among ``functions`` with
    ``partner: true``, but no function of the organisation. It has no tiers, no schedule and
    no place in the matrix: a playbook step engages it and its contacts are paged in turn."""

    partner: Literal[True]
    respond_within: Duration = Field(
        default=PARTNER_TARGET, description="its target for acknowledging once engaged"
    )
    contacts: list[Person] = Field(
        min_length=1, description="paged in order: the next one when the target passes"
    )

    @field_validator("respond_within")
    @classmethod
    def _sensible(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(days=1):
            raise ValueError(f"{format_duration(value)} is out of range: 1m to 1d")
        return value

    @field_validator("contacts")
    @classmethod
    def _reachable(cls, value: list[Person]) -> list[Person]:
        for index, contact in enumerate(value):
            if contact.email is None and contact.slack_user_id is None:
                raise ValueError(
                    f"[{index}] {contact.name}: give an email or a Slack Connect user ID"
                )
        return value


class ScheduleTier(_Strict):
    """A tier held by whoever is on call in a schedule of ``schedules.yaml``."""

    schedule: str = Field(min_length=1)


def _holders_kind(value: Any) -> str:
    return "schedule" if isinstance(value, dict | ScheduleTier) else "people"


# Tagged so that a bad person is reported once, not also as "not a schedule".
Holders = Annotated[
    Annotated[list[Person], Tag("people")] | Annotated[ScheduleTier, Tag("schedule")],
    Discriminator(_holders_kind),
]


class Roster(_Strict):
    """Functions and tiers mapped to people or to a schedule. Resolved when a page is sent,
    not pinned, so an on-call change reaches incidents that are already running.

    ``people`` names everyone once; a tier may then list names. ``schedules`` are those of
    ``schedules.yaml``, attached by the loader."""

    people_: list[Person] = Field(default_factory=list, alias="people")
    functions: dict[Function, dict[Tier, Holders]]
    # The entries of ``functions`` that say ``partner: true``, moved here by the validator.
    partners: dict[str, Partner] = Field(default_factory=dict)
    paging: Paging = Paging()
    slack_access: SlackAccess = SlackAccess()
    schedules: dict[str, Schedule] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _names_to_people(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("functions"), dict):
            return data
        listed = data.get("people") or []
        by_name = {p.get("name"): p for p in listed if isinstance(p, dict)}
        functions: dict[Any, Any] = {}
        if "partners" in data:
            raise ValueError("partners: write each partner among functions, with partner: true")
        partners: dict[Any, Any] = {}
        for function, tiers in data["functions"].items():
            if isinstance(tiers, dict) and "partner" in tiers:
                partners[function] = _partner(by_name, function, tiers)
                continue
            if isinstance(tiers, dict) and function not in {f.value for f in Function}:
                raise ValueError(
                    f"functions.{function}: not a function of the organisation "
                    f"({', '.join(f.value for f in Function)}); an external partner says "
                    "partner: true"
                )
            if not isinstance(tiers, dict):
                functions[function] = tiers
                continue
            functions[function] = {}
            for tier, held in tiers.items():
                if isinstance(held, list):
                    held = [
                        _named(by_name, p, f"functions.{function}.{tier}[{i}]")
                        for i, p in enumerate(held)
                    ]
                functions[function][tier] = held
        return {**data, "functions": functions, "partners": partners}

    @model_validator(mode="after")
    def _every_function_has_primary(self) -> Self:
        for function in Function:
            held = self.functions.get(function, {}).get(Tier.PRIMARY, [])
            if not held:
                raise ValueError(f"functions.{function.value}.primary: nobody is on it")
        return self

    @model_validator(mode="after")
    def _schedules_known(self) -> Self:
        if not self.schedules:
            return self  # checked by the loader, which knows schedules.yaml
        for function, tiers in self.functions.items():
            for tier, held in tiers.items():
                if isinstance(held, ScheduleTier) and held.schedule not in self.schedules:
                    raise ValueError(
                        f"functions.{function.value}.{tier.value}.schedule: no schedule "
                        f"{held.schedule!r} in schedules.yaml"
                    )
        return self

    @model_validator(mode="after")
    def _access_names_someone(self) -> Self:
        # A misspelt name would silently get the default roles.
        known = {p.name for p in self.everyone()}
        for who in self.slack_access.people:
            if who not in known and not re.fullmatch(r"[UW][A-Z0-9]{2,}", who):
                raise ValueError(
                    f"slack_access.people.{who}: neither a person in this roster nor a Slack "
                    "user ID (U... or W...)"
                )
        return self

    def people(self, function: Function, tier: Tier) -> list[Person]:
        """The people written on the tier; none for a schedule's tier (resolve it first:
        ``domain.rules.oncall.roster_at``)."""
        held = self.functions.get(function, {}).get(tier, [])
        return list(held) if isinstance(held, list) else []

    def schedule_of(self, function: Function, tier: Tier) -> str | None:
        held = self.functions.get(function, {}).get(tier)
        return held.schedule if isinstance(held, ScheduleTier) else None

    def everyone(self) -> list[Person]:
        """Everyone the roster names, once each: the people list, then inline tiers."""
        found: dict[str, Person] = {p.name: p for p in self.people_}
        for tiers in self.functions.values():
            for held in tiers.values():
                if isinstance(held, list):
                    for person in held:
                        found.setdefault(person.name, person)
        return list(found.values())

    def members(self, function: Function) -> list[Person]:
        """Everyone who may hold one of the function's tiers, a schedule's people included."""
        found: dict[str, Person] = {}
        for held in self.functions.get(function, {}).values():
            if isinstance(held, list):
                found.update((p.name, p) for p in held)
            elif held.schedule in self.schedules:
                for name in self.schedules[held.schedule].people():
                    person = self.person(name)
                    if person is not None:
                        found.setdefault(name, person)
        return list(found.values())

    def person(self, name: str) -> Person | None:
        return next((p for p in self.everyone() if p.name == name), None)


def _partner(by_name: dict[Any, Any], name: Any, entry: dict[Any, Any]) -> Any:
    """A ``partner: true`` entry of ``functions``, its contacts named or written inline."""
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", name):
        raise ValueError(f"functions.{name}: a partner's name is lower case, digits, - and _")
    if name in {f.value for f in Function}:
        raise ValueError(
            f"functions.{name}.partner: {name} is a function of the organisation, not a partner"
        )
    contacts = entry.get("contacts")
    if isinstance(contacts, list):
        contacts = [
            _named(by_name, c, f"functions.{name}.contacts[{i}]") for i, c in enumerate(contacts)
        ]
        entry = {**entry, "contacts": contacts}
    return entry


def _named(by_name: dict[Any, Any], entry: Any, where: str) -> Any:
    if not isinstance(entry, str):
        return entry
    if entry not in by_name:
        raise ValueError(f"{where}: {entry!r} is not in the roster's people")
    return by_name[entry]


class SlackChannels(_Strict):
    """Where tocsin posts in Slack besides each incident's own channel. Channel IDs
    (``C0123ABCD``) are safest; ``#name`` works for public channels."""

    announce: dict[Level, str] = Field(
        default_factory=dict, description="a summary of every new incident, by level"
    )
    functions: dict[Function, str] = Field(
        default_factory=dict, description="informed functions get their notice here"
    )


class AccountTier(StrEnum):
    STRATEGIC = "strategic"
    MAJOR = "major"
    STANDARD = "standard"


class KeyAccount(_Strict):
    """A customer whose account manager hears of a statement before the public does."""

    name: str = Field(min_length=1, max_length=200)
    tier: AccountTier = AccountTier.STANDARD
    services: list[str] = Field(min_length=1, description="services they use; * for all")
    manager: Person

    def uses(self, service: str | None) -> bool:
        return "*" in self.services or (service is not None and service in self.services)


class KeyAccounts(_Strict):
    accounts: list[KeyAccount] = Field(default_factory=list)

    def for_service(self, service: str | None) -> list[KeyAccount]:
        """The accounts using ``service``, most important first (the priority contact chain)."""
        order = list(AccountTier)
        return sorted(
            (a for a in self.accounts if a.uses(service)), key=lambda a: order.index(a.tier)
        )
