"""Load and validate a playbook directory, with errors that name the file, field and problem."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar, cast

import apprise
import yaml
from pydantic import BaseModel, ValidationError

from domain.drills import Scenario
from domain.heartbeats import Heartbeats
from domain.models import Function, Level, Tier
from domain.oncall import Schedules, shifts
from domain.playbook import (
    CoordinationMatrix,
    KeyAccounts,
    LevelPlaybook,
    PlaybookSet,
    SlackChannels,
)
from domain.roster import Roster
from playbooks.base import DEFAULT_DIR, PlaybookError
from playbooks.documents import parse
from playbooks.templates import validate_templates

LEVEL_FILES = {Level.A: "level-a.yaml", Level.B: "level-b.yaml", Level.C: "level-c.yaml"}
MATRIX_FILE = "matrix.yaml"
ROSTER_FILE = "roster.yaml"
SLACK_FILE = "slack.yaml"
ACCOUNTS_FILE = "accounts.yaml"
SCHEDULES_FILE = "schedules.yaml"
HEARTBEATS_FILE = "heartbeats.yaml"

_M = TypeVar("_M", bound=BaseModel)

# Apprise logs a URL it cannot parse, secrets and all.
logging.getLogger("apprise").setLevel(logging.CRITICAL)


def _field_path(loc: tuple[int | str, ...]) -> str:
    if loc[:1] == ("functions",) and len(loc) > 3 and loc[3] in ("people", "schedule"):
        # The roster tier's union tag (domain.playbook.Holders) is no field of the file.
        loc = loc[:3] + loc[4:]
    if loc[:1] == ("partners",):
        # Partners are written among the functions (domain.roster.Partner).
        loc = ("functions", *loc[1:])
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "(top level)"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlaybookError([f"{path}: file is missing"]) from None
    except OSError as exc:
        raise PlaybookError([f"{path}: cannot be read ({exc.strerror})"]) from None


class _NotAMapping(ValueError):
    pass


# A playbook directory is read again and again with the same contents: by every worker and API
# a test builds, by the roster's reload, by a what-if for each candidate. Parsing and validating
# a dozen files is most of that, and the result depends on the text alone (no validator reads
# the clock, the environment or another file), so it is kept by (model, text): a changed file
# is read afresh, an unchanged one is the same frozen object. Failures are not kept; their
# messages name the file.
@functools.lru_cache(maxsize=256)
def _validated(model: type[_M], text: str) -> _M:
    data = parse(text)
    if not isinstance(data, dict):
        raise _NotAMapping
    return model.model_validate(data)


def _validate(path: Path, model: type[_M]) -> _M:
    text = _read_text(path)
    try:
        # The cache's wrapper is not generic: the model's type is what came in.
        return cast(_M, _validated(model, text))
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookError([f"{path}: not valid YAML{where}: {problem}"]) from None
    except _NotAMapping:
        raise PlaybookError([f"{path}: expected a mapping at the top level"]) from None
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{path}: {_field_path(error['loc'])}: {message}")
        raise PlaybookError(problems) from None


def _collect(path: Path, model: type[_M], problems: list[str]) -> _M | None:
    try:
        return _validate(path, model)
    except PlaybookError as exc:
        problems.extend(exc.problems)
        return None


def load_playbooks(directory: Path | str | None = None) -> PlaybookSet:
    """Load the three level playbooks and the matrix. Reports every problem at once."""
    base = Path(directory) if directory is not None else DEFAULT_DIR
    if not base.is_dir():
        raise PlaybookError([f"{base}: not a directory"])
    problems: list[str] = []
    levels: dict[Level, LevelPlaybook] = {}
    for level, filename in LEVEL_FILES.items():
        playbook = _collect(base / filename, LevelPlaybook, problems)
        if playbook is None:
            continue
        if playbook.level is not level:
            problems.append(f"{base / filename}: level: expected {level}, found {playbook.level}")
            continue
        levels[level] = playbook
    matrix = _collect(base / MATRIX_FILE, CoordinationMatrix, problems)
    targets = _partner_targets(base, levels, problems)
    if problems or matrix is None:
        raise PlaybookError(problems)
    return PlaybookSet(levels=levels, matrix=matrix, partner_targets=targets)


def _partner_targets(
    base: Path, levels: dict[Level, LevelPlaybook], problems: list[str]
) -> dict[str, timedelta]:
    """The respond_within of each partner a level engages, pinned with the playbooks; a step
    naming no partner of the roster is a problem of its level's file."""
    steps = [(lv, i, s) for lv, p in levels.items() for i, s in enumerate(p.partners)]
    if not steps:
        return {}
    try:
        partners = load_roster(base).partners
    except PlaybookError:
        return {}  # the roster's own problems are reported by load_roster
    for level, index, step in steps:
        if step.partner not in partners:
            known = ", ".join(sorted(partners)) or "none"
            problems.append(
                f"{base / LEVEL_FILES[level]}: partners[{index}].partner: no partner "
                f"{step.partner!r} in {ROSTER_FILE} (partners: {known})"
            )
    return {name: p.respond_within for name, p in partners.items()}


def load_roster(directory: Path | str | None = None) -> Roster:
    """The roster, with the schedules of ``schedules.yaml`` (if any) its tiers may name."""
    base = Path(directory) if directory is not None else DEFAULT_DIR
    roster = _validate(base / ROSTER_FILE, Roster)
    if roster.schedules:
        raise PlaybookError([f"{base / ROSTER_FILE}: schedules: write them in {SCHEDULES_FILE}"])
    schedules = load_schedules(base)
    problems = _check_schedules(base, roster, schedules) + _check_push(base, roster)
    if problems:
        raise PlaybookError(problems)
    return roster.model_copy(update={"schedules": schedules.schedules})


def _check_push(base: Path, roster: Roster) -> list[str]:
    """Every Apprise URL must name a service Apprise speaks, written as it expects; the
    problem shows the URL's scheme only, since the rest of it is secret."""
    problems = []
    for person in roster.everyone():
        for number, step in enumerate(person.notify or (), start=1):
            if step.url is None:
                continue
            if apprise.Apprise.instantiate(step.url.get_secret_value()) is None:
                scheme = step.url.get_secret_value().partition("://")[0]
                problems.append(
                    f"{base / ROSTER_FILE}: person {person.name!r}, notify step {number}: "
                    f"url: Apprise cannot send to {scheme}://<redacted> (unknown service or "
                    "malformed URL)"
                )
    return problems


def load_heartbeats(directory: Path | str | None = None) -> Heartbeats:
    """The heartbeat monitors of ``heartbeats.yaml``; none when the file is absent."""
    base = Path(directory) if directory is not None else DEFAULT_DIR
    path = base / HEARTBEATS_FILE
    if not path.is_file():
        return Heartbeats()
    return _validate(path, Heartbeats)


def load_schedules(directory: Path | str | None = None) -> Schedules:
    """The schedules of ``schedules.yaml``; none when the file is absent."""
    base = Path(directory) if directory is not None else DEFAULT_DIR
    if not (base / SCHEDULES_FILE).exists():
        return Schedules()
    return _validate(base / SCHEDULES_FILE, Schedules)


def _check_schedules(base: Path, roster: Roster, schedules: Schedules) -> list[str]:
    """What neither file can check alone: schedules name the roster's people, and tiers
    name schedules that exist."""
    problems: list[str] = []
    known = {p.name for p in roster.everyone()}
    for name, schedule in schedules.schedules.items():
        for r, rotation in enumerate(schedule.rotations):
            for i, person in enumerate(rotation.people):
                if person not in known:
                    problems.append(
                        f"{base / SCHEDULES_FILE}: schedules.{name}.rotations[{r}].people[{i}]: "
                        f"unknown person {person!r}; add them to {ROSTER_FILE}'s people"
                    )
    for function, tiers in roster.functions.items():
        for tier in tiers:
            wanted = roster.schedule_of(function, tier)
            if wanted is not None and wanted not in schedules.schedules:
                problems.append(
                    f"{base / ROSTER_FILE}: functions.{function.value}.{tier.value}.schedule: "
                    f"no schedule {wanted!r} in {SCHEDULES_FILE}"
                )
    return problems


def load_slack_channels(directory: Path | str | None = None) -> SlackChannels:
    """The Slack channels of ``slack.yaml``; none configured when the file is absent."""
    base = Path(directory) if directory is not None else DEFAULT_DIR
    if not (base / SLACK_FILE).exists():
        return SlackChannels()
    return _validate(base / SLACK_FILE, SlackChannels)


def load_accounts(directory: Path | str | None = None) -> KeyAccounts:
    """The key accounts of ``accounts.yaml``; none when the file is absent."""
    base = Path(directory) if directory is not None else DEFAULT_DIR
    if not (base / ACCOUNTS_FILE).exists():
        return KeyAccounts()
    return _validate(base / ACCOUNTS_FILE, KeyAccounts)


DRILLS_DIR = "drills"


def load_scenarios(directory: Path | str | None = None) -> dict[str, Scenario]:
    """The drill scenarios of ``drills/*.yaml``, by name; none when the folder is absent.
    A scenario's ``name`` must match its file's."""
    base = (Path(directory) if directory is not None else DEFAULT_DIR) / DRILLS_DIR
    if not base.is_dir():
        return {}
    problems: list[str] = []
    found: dict[str, Scenario] = {}
    for path in sorted(base.glob("*.yaml")):
        scenario = _collect(path, Scenario, problems)
        if scenario is None:
            continue
        if scenario.name != path.stem:
            problems.append(f"{path}: name: {scenario.name!r} does not match the file name")
            continue
        found[scenario.name] = scenario
    if problems:
        raise PlaybookError(problems)
    return found


def validate_directory(directory: Path | str | None = None) -> list[str]:
    """Every problem in a playbook directory (playbooks, matrix, roster, Slack channels, key
    accounts, message templates); empty when valid."""
    problems: list[str] = []
    try:
        load_slack_channels(directory)
    except PlaybookError as exc:
        problems.extend(exc.problems)
    try:
        load_playbooks(directory)
    except PlaybookError as exc:
        problems.extend(exc.problems)
    try:
        load_roster(directory)
    except PlaybookError as exc:
        problems.extend(exc.problems)
    base = Path(directory) if directory is not None else DEFAULT_DIR
    if not base.is_dir():
        return problems
    for load in (load_accounts, load_scenarios, load_heartbeats):
        try:
            load(directory)
        except PlaybookError as exc:
            problems.extend(exc.problems)
    return problems + validate_templates(directory)


def coverage_warnings(
    directory: Path | str | None, now: datetime, horizon: timedelta = timedelta(weeks=4)
) -> list[str]:
    """Every span in the next ``horizon`` when a paged tier held by a schedule has nobody on
    call (overrides aside: they live in the records). Empty for a directory with problems."""
    base = Path(directory) if directory is not None else DEFAULT_DIR
    try:
        roster = load_roster(base)
        playbook_set = load_playbooks(base)
    except PlaybookError:
        return []
    warnings: list[str] = []
    for function, tier in sorted(_paged_tiers(playbook_set)):
        name = roster.schedule_of(function, tier)
        if name is None:
            continue
        schedule = roster.schedules[name]
        for shift in shifts(schedule, now, now + horizon):
            if shift.person is None:
                start = max(shift.start, now).astimezone(schedule.zone)
                end = shift.end.astimezone(schedule.zone)
                warnings.append(
                    f"{base / SCHEDULES_FILE}: schedules.{name}: nobody on call from "
                    f"{start:%Y-%m-%d %H:%M} until {end:%Y-%m-%d %H:%M} ({schedule.time_zone}), "
                    f"when {function.value}.{tier.value} is paged"
                )
    return warnings


def _paged_tiers(playbook_set: PlaybookSet) -> set[tuple[Function, Tier]]:
    """Every function's primary (declarations page it), and each tier a step pages."""
    paged = {(function, Tier.PRIMARY) for function in Function}
    for playbook in playbook_set.levels.values():
        for target in [t for s in playbook.escalation for t in s.page] + playbook.on_breach.page:
            functions = [target.function] if target.function else list(Function)
            paged.update((function, target.tier) for function in functions)
    return paged
