"""Escalation test cases as data (``playbooks/tests/*.yaml``), validated against the playbooks,
roster and service catalog they are meant for, so a typo is refused before anything runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from alerts.catalog import Catalog
from alerts.models import WebhookPayload
from domain.durations import format_duration, parse_duration
from domain.models import IncidentType, Level
from domain.oncall import instant, zone
from domain.playbook import PlaybookSet
from domain.roster import Roster
from playbooks.documents import parse


def _offset(value: Any) -> timedelta:
    """``+7m``: an offset from the declaration (the sign is optional, never negative)."""
    if isinstance(value, str):
        value = value.strip().removeprefix("+")
    offset = parse_duration(value)
    if offset < timedelta(0):
        raise ValueError("an offset counts from the declaration and cannot be negative")
    return offset


Offset = Annotated[timedelta, BeforeValidator(_offset)]


def show(offset: timedelta) -> str:
    """``+12m``: whole seconds, as people read an offset."""
    whole = timedelta(seconds=int(offset.total_seconds()))
    return "+" + (format_duration(whole) if whole else "0s")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeclaredIncident(_Strict):
    level: Level
    type: IncidentType
    service: str | None = None
    title: str = Field(default="", max_length=200)


class AlertIncident(_Strict):
    """An Alertmanager webhook payload (version 4), relative to the case file."""

    alertmanager: Path


class Action(_Strict):
    """One thing a person does at an offset: exactly one of ack, level, update, mitigate,
    resolve."""

    at: Offset
    by: str = Field(min_length=1, max_length=200)
    ack: bool = False
    level: Level | None = None
    update: str | None = Field(default=None, min_length=1, max_length=10_000)
    mitigate: bool = False
    resolve: bool = False

    @model_validator(mode="after")
    def _one_thing(self) -> Self:
        done = [self.ack, self.level is not None, self.update is not None]
        if sum([*done, self.mitigate, self.resolve]) != 1:
            raise ValueError("an action is exactly one of ack, level, update, mitigate, resolve")
        return self

    @property
    def what(self) -> str:
        if self.ack:
            return "ack"
        if self.level is not None:
            return f"level {self.level}"
        if self.update is not None:
            return "update"
        return "mitigate" if self.mitigate else "resolve"


class What(StrEnum):
    PAGED = "paged"
    ENGAGED = "engaged"
    INFORMED = "informed"
    BREACHED = "breached"
    STATEMENT_DUE = "statement_due"
    REVIEW_DUE = "review_due"


PERSONAL = frozenset({What.PAGED, What.ENGAGED, What.INFORMED})


class Expectation(_Strict):
    """``{at: +5m, paged: Ben Lindqvist}`` (the person may be given as ``who`` instead, with
    ``paged: true``), ``{at: +15m, breached: true}``; ``channel`` is checked when given."""

    at: Offset
    what: What
    who: str | None = None
    channel: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind_as_key(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "what" in data:
            return data
        kinds = [key for key in data if key in What.__members__.values()]
        if len(kinds) != 1:
            raise ValueError(
                "an expectation names exactly one of " + ", ".join(w.value for w in What)
            )
        rest = {key: value for key, value in data.items() if key != kinds[0]}
        value = data[kinds[0]]
        if isinstance(value, str):
            if "who" in rest:
                raise ValueError(f"{kinds[0]}: the person is given twice (here and in who)")
            rest["who"] = value
        elif value is not True:
            raise ValueError(f"{kinds[0]}: give a person's name, or true")
        return {**rest, "what": kinds[0]}

    @model_validator(mode="after")
    def _who_for_people_only(self) -> Self:
        if self.who is not None and self.what not in PERSONAL:
            raise ValueError(f"{self.what}: names nobody (who is for paged, engaged, informed)")
        return self


class Case(_Strict):
    name: str = Field(min_length=1, max_length=200)
    # The declared instant in its time zone. The time-skipping server's clock starts at the
    # wall clock and only moves forward, so every offset counts from the declaration, and
    # who holds a schedule is looked up at the instant (``instant``) plus that offset.
    at: datetime
    time_zone: str = "UTC"
    incident: DeclaredIncident | AlertIncident
    actions: list[Action] = Field(default_factory=list)
    expect: list[Expectation] = Field(min_length=1)
    # Look this far even with nothing expected there: "nobody else is paged until +25m".
    until: Offset | None = None

    @model_validator(mode="after")
    def _known_zone(self) -> Self:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time_zone: {self.time_zone!r} is not an IANA time zone") from None
        return self

    @property
    def instant(self) -> datetime:
        """``at`` in ``time_zone`` (an ``at`` with its own offset keeps it)."""
        if self.at.tzinfo is not None:
            return self.at
        return instant(self.at, zone(self.time_zone))

    @property
    def horizon(self) -> timedelta:
        """How far the case looks: its last action or expectation. A review falls due days
        after resolution and is read from the review opened, not waited for."""
        offsets = [a.at for a in self.actions] + ([self.until] if self.until else [])
        offsets += [e.at for e in self.expect if e.what is not What.REVIEW_DUE]
        return max(offsets, default=timedelta(0))


class CaseFile(_Strict):
    cases: list[Case] = Field(min_length=1)


class LoadedCase(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: Path
    case: Case
    # The Alertmanager payload, read when the case was loaded.
    payload: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"{self.file.name}: {self.case.name}"


class CaseError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _people(roster: Roster) -> set[str]:
    return {p.name for p in roster.everyone()}


def _problems_of(
    file: Path, case: Case, playbooks: PlaybookSet, roster: Roster, catalog: Catalog
) -> list[str]:
    """What the schema cannot know: names of people, levels, types and services."""
    where = f"{file}: case {case.name!r}"
    people = _people(roster)
    found: list[str] = []
    incident = case.incident
    if isinstance(incident, DeclaredIncident):
        if incident.level not in playbooks.levels:
            found.append(f"{where}: incident.level: no playbook for level {incident.level}")
        if incident.type not in playbooks.matrix.types:
            found.append(f"{where}: incident.type: {incident.type} has no row in the matrix")
        if incident.service is not None and incident.service not in catalog.services:
            found.append(f"{where}: incident.service: {incident.service!r} is not in the catalog")
    for i, action in enumerate(case.actions):
        if action.by not in people:
            found.append(f"{where}: actions[{i}].by: {action.by!r} is not in the roster")
    for i, expectation in enumerate(case.expect):
        if expectation.who is not None and expectation.who not in people:
            found.append(f"{where}: expect[{i}].who: {expectation.who!r} is not in the roster")
    return found


def _read(file: Path) -> Any:
    try:
        return parse(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CaseError([f"{file}: not valid YAML: {exc}"]) from None


def _parse(file: Path, data: Any) -> CaseFile:
    if isinstance(data, list):
        data = {"cases": data}
    try:
        return CaseFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = list(error["loc"])
            name = ""
            if len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int):
                cases = data.get("cases") if isinstance(data, dict) else None
                index = loc[1]
                if isinstance(cases, list) and isinstance(cases[index], dict):
                    name = f" {cases[index].get('name', index)!r}"
                loc = loc[2:]
                name = f": case{name or f' {index}'}"
            # A union reports each alternative; the tag pydantic adds says nothing to a reader.
            loc = [p for p in loc if p not in ("DeclaredIncident", "AlertIncident")]
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{file}{name}: {_where(tuple(loc))}: {message}")
        raise CaseError(problems) from None


def _payload(file: Path, case: Case) -> dict[str, Any] | None:
    if not isinstance(case.incident, AlertIncident):
        return None
    path = file.parent / case.incident.alertmanager
    try:
        data = parse(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CaseError([f"{file}: case {case.name!r}: incident.alertmanager: {exc}"]) from None
    try:
        WebhookPayload.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise CaseError(
            [
                f"{file}: case {case.name!r}: incident.alertmanager: {path.name}: "
                f"{_where(first['loc'])}: {first['msg']}"
            ]
        ) from None
    return dict(data)


def load_cases(
    directory: Path, playbooks: PlaybookSet, roster: Roster, catalog: Catalog
) -> list[LoadedCase]:
    """Every case of ``directory/*.yaml`` (or one file), or every problem found in them."""
    files = [directory] if directory.is_file() else sorted(directory.glob("*.yaml"))
    if not files:
        raise CaseError([f"{directory}: no case files (*.yaml)"])
    problems: list[str] = []
    loaded: list[LoadedCase] = []
    for file in files:
        try:
            parsed = _parse(file, _read(file))
            for case in parsed.cases:
                found = _problems_of(file, case, playbooks, roster, catalog)
                problems += found
                if not found:
                    loaded.append(LoadedCase(file=file, case=case, payload=_payload(file, case)))
        except CaseError as exc:
            problems += exc.problems
    if problems:
        raise CaseError(problems)
    return loaded
