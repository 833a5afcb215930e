"""Schema of the roster (``roster.yaml``): who is in each function and tier, on which
schedule, how each person is paged, the external partners, and who may do what from Slack.
The playbooks (``domain.playbook``) say what happens; the roster says to whom."""

from __future__ import annotations

import re
from datetime import timedelta
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
from domain.models import Function, Person, Tier
from domain.oncall import Schedule


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
