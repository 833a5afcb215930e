"""Drills (DESIGN.md §1): scenarios as data, run through the real playbooks, scored against
the process's targets.

A scenario says what to inject and when (a declaration, or an Alertmanager-shaped alert
through the real intake), what each injected incident is expected to be (level and type),
how soon responders should answer, and which targets the run is scored on. Scoring is a
pure function of what happened, so a run is scored the same way today and in a year.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.durations import Duration, format_duration
from domain.models import Function, Incident, IncidentType, Level

# Who closes a drill's incidents still open at its end: that is not a recovery.
CLOSED_BY = "tocsin"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrillKind(StrEnum):
    ROUTINE = "routine"  # monthly: a single-point service failure
    INTEGRATED = "integrated"  # quarterly: a crisis during a marketing campaign
    COMPREHENSIVE = "comprehensive"  # yearly: every channel down at once


class Declare(_Strict):
    title: str = Field(min_length=1, max_length=200)
    level: Level
    type: IncidentType
    service: str | None = None
    description: str = ""


class InjectAlert(_Strict):
    """An alert as Prometheus would fire it, posted through the real intake and graded."""

    name: str = Field(min_length=1, max_length=200, description="alertname")
    service: str
    labels: dict[str, str] = Field(default_factory=dict)
    summary: str = ""
    description: str = ""


class Expect(_Strict):
    level: Level
    type: IncidentType


class Step(_Strict):
    at: Duration = Field(description="offset from the drill's start")
    declare: Declare | None = None
    alert: InjectAlert | None = None
    expect: Expect
    respond_within: Duration | None = Field(
        default=None, description="target time to acknowledge; default: the level's window"
    )

    @model_validator(mode="after")
    def _one_injection(self) -> Self:
        if (self.declare is None) == (self.alert is None):
            raise ValueError("a step injects exactly one of declare or alert")
        return self


_CRON_FIELD = re.compile(r"^[0-9A-Za-z*,/\-?]+$")
# Five such fields, as the API's schema states it.
CRON_PATTERN = r"^\s*[0-9A-Za-z*,/?-]+(\s+[0-9A-Za-z*,/?-]+){4}\s*$"


def check_cron(text: str) -> str:
    """Five cron fields (minute hour day-of-month month day-of-week), as Temporal reads them."""
    fields = text.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError(f"{text!r} is not five cron fields such as '0 10 1 * *'")
    return " ".join(fields)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as Europe/Berlin") from None
    return name


class Schedule(_Strict):
    """When the drill runs by itself (a Temporal Schedule); ``tocsin drill schedule``."""

    cron: Annotated[str, AfterValidator(check_cron)] = Field(
        description="five fields, e.g. '0 10 1 * *'"
    )
    timezone: Annotated[str, AfterValidator(check_timezone)] = "UTC"
    jitter: Duration = timedelta(0)


class Targets(_Strict):
    classification_accuracy: float = Field(default=0.95, ge=0, le=1)
    recovery_ratio: float | None = Field(
        default=None, gt=0, le=1, description="routine: recovered within this share of the target"
    )
    recovery_target: Duration | None = Field(
        default=None, description="routine: the preset target time to recover"
    )
    joint_response: Duration | None = Field(
        default=None, description="comprehensive: every lead function acknowledged within this"
    )
    reputation_recovery: float | None = Field(default=None, ge=0, le=1)
    collaboration: float | None = Field(default=None, ge=0, le=10)


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,40}$")
    title: str = Field(min_length=1)
    kind: DrillKind
    description: str = ""
    duration: Duration = Field(description="the drill ends this long after it starts")
    steps: list[Step] = Field(min_length=1)
    targets: Targets = Targets()
    schedule: Schedule | None = None

    @model_validator(mode="after")
    def _steps_inside(self) -> Self:
        for index, step in enumerate(self.steps):
            if step.at >= self.duration:
                raise ValueError(
                    f"steps[{index}].at ({format_duration(step.at)}) is not before the drill's end "
                    f"({format_duration(self.duration)})"
                )
        if self.kind is DrillKind.ROUTINE and (
            self.targets.recovery_ratio is None or self.targets.recovery_target is None
        ):
            raise ValueError("a routine drill needs targets.recovery_ratio and recovery_target")
        if self.kind is DrillKind.COMPREHENSIVE and self.targets.joint_response is None:
            raise ValueError("a comprehensive drill needs targets.joint_response")
        if self.kind is DrillKind.INTEGRATED and (
            self.targets.reputation_recovery is None or self.targets.collaboration is None
        ):
            raise ValueError("an integrated drill needs reputation_recovery and collaboration")
        return self


# ---------------------------------------------------------------------------------- runs


class DrillStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"  # every incident resolved, or the drill's end came


class Classification(BaseModel):
    """A responder's triage of an incident (``POST …/classify``)."""

    incident_id: str
    by: str
    level: Level
    type: IncidentType
    at: AwareDatetime


class LeadScores(BaseModel):
    """What only the lead can judge, entered after the drill."""

    collaboration: float = Field(ge=0, le=10)
    reputation_recovery: float = Field(ge=0, le=1)
    by: str
    at: AwareDatetime
    follow_ups: list[str] = Field(default_factory=list)


class Score(BaseModel):
    target: str
    value: float | None = Field(description="measured; None when it could not be")
    goal: str = Field(description="the target, in words")
    met: bool
    note: str = ""


class DrillRun(BaseModel):
    id: str
    scenario: str
    kind: DrillKind
    status: DrillStatus = DrillStatus.RUNNING
    started_at: AwareDatetime
    ends_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    started_by: str
    # The workflow that runs it: a run started by a Schedule is named by Temporal.
    workflow_id: str = ""
    # Step index -> incident id, as each injection opened it.
    incidents: dict[int, str] = Field(default_factory=dict)
    scores: list[Score] = Field(default_factory=list)
    lead_scores: LeadScores | None = None
    version: int = 1


# -------------------------------------------------------------------------------- scores


def _ack_seconds(incident: Incident) -> float | None:
    if incident.acknowledged_at is None:
        return None
    return (incident.acknowledged_at - incident.declared_at).total_seconds()


def score(
    scenario: Scenario,
    run: DrillRun,
    incidents: dict[int, Incident],
    classifications: list[Classification],
    lead_functions: dict[int, list[Function]],
    acknowledged_by_function: dict[str, Function | None],
    windows: dict[Level, timedelta],
) -> list[Score]:
    """Every target of the scenario, measured. An incident that was never injected, or never
    answered, counts against each target it was due to meet; a drill nobody answered
    scores zero everywhere."""
    t = scenario.targets
    scores: list[Score] = []
    expected = {i: s.expect for i, s in enumerate(scenario.steps)}

    # Classification: every responder's triage of a drill incident, right or wrong.
    right = total = 0
    for c in classifications:
        found = next((i for i, inc in run.incidents.items() if inc == c.incident_id), None)
        if found is None:
            continue
        total += 1
        right += int(c.level is expected[found].level and c.type is expected[found].type)
    accuracy = right / total if total else 0.0
    scores.append(
        Score(
            target="classification_accuracy",
            value=accuracy,
            goal=f"≥ {t.classification_accuracy:.0%} of triage right",
            met=total > 0 and accuracy >= t.classification_accuracy,
            note=f"{right} of {total} classifications right" if total else "nobody classified",
        )
    )

    # Acknowledgement of each incident within its responders' target time.
    for index, step in enumerate(scenario.steps):
        incident = incidents.get(index)
        within = step.respond_within or windows[step.expect.level]
        seconds = _ack_seconds(incident) if incident is not None else None
        scores.append(
            Score(
                target=f"step_{index + 1}_acknowledged",
                value=seconds,
                goal=f"acknowledged within {format_duration(within)}",
                met=seconds is not None and seconds <= within.total_seconds(),
                note="never injected"
                if incident is None
                else ("not acknowledged" if seconds is None else ""),
            )
        )

    if scenario.kind is DrillKind.ROUTINE:
        assert t.recovery_ratio is not None
        assert t.recovery_target is not None
        limit = t.recovery_target * t.recovery_ratio
        recoveries = [
            (i.resolved_at - i.declared_at).total_seconds()
            for i in incidents.values()
            if i.resolved_at is not None and i.resolved_by != CLOSED_BY
        ]
        worst = max(recoveries) if len(recoveries) == len(scenario.steps) else None
        scores.append(
            Score(
                target="recovery",
                value=worst,
                goal=(
                    f"recovered within {t.recovery_ratio:.0%} of "
                    f"{format_duration(t.recovery_target)} ({format_duration(limit)})"
                ),
                met=worst is not None and worst <= limit.total_seconds(),
                note="" if worst is not None else "not every incident was resolved",
            )
        )

    if scenario.kind is DrillKind.COMPREHENSIVE:
        assert t.joint_response is not None
        # Every incident acknowledged, each by someone of its lead function.
        times: list[float] = []
        for index, incident in incidents.items():
            leads = lead_functions.get(index, [])
            by = acknowledged_by_function.get(incident.id)
            if incident.acknowledged_at is None or (leads and by not in leads):
                times = []
                break
            times.append((incident.acknowledged_at - run.started_at).total_seconds())
        joint = max(times) if times and len(times) == len(scenario.steps) else None
        scores.append(
            Score(
                target="joint_response",
                value=joint,
                goal=f"every lead function acknowledged within {format_duration(t.joint_response)}",
                met=joint is not None and joint <= t.joint_response.total_seconds(),
                note="" if joint is not None else "not every lead function acknowledged",
            )
        )

    if scenario.kind is DrillKind.INTEGRATED:
        assert t.reputation_recovery is not None
        assert t.collaboration is not None
        lead = run.lead_scores
        scores.append(
            Score(
                target="reputation_recovery",
                value=None if lead is None else lead.reputation_recovery,
                goal=f"≥ {t.reputation_recovery:.0%}, scored by the lead",
                met=lead is not None and lead.reputation_recovery >= t.reputation_recovery,
                note="" if lead is not None else "awaiting the lead's score",
            )
        )
        scores.append(
            Score(
                target="collaboration",
                value=None if lead is None else lead.collaboration,
                goal=f"≥ {t.collaboration}/10, scored by the lead",
                met=lead is not None and lead.collaboration >= t.collaboration,
                note="" if lead is not None else "awaiting the lead's score",
            )
        )
    return scores


# -------------------------------------------------------------------------------- report


class ResponderAccuracy(BaseModel):
    name: str
    right: int
    total: int
    accuracy: float


class QuarterParticipation(BaseModel):
    quarter: str
    drills: int
    leaders: list[str] = Field(description="leadership who took part in a drill that quarter")
    met: bool = Field(description="seed target: leadership takes part at least quarterly")


class DrillReport(BaseModel):
    run: DrillRun
    passed: bool
    met: int
    targets: int
    responders: list[ResponderAccuracy]
    leadership: list[QuarterParticipation]
    follow_ups: list[str]


def _quarter(at: datetime) -> str:
    return f"{at.year}Q{(at.month - 1) // 3 + 1}"


def drill_report(
    run: DrillRun,
    recent: list[tuple[DrillRun, dict[str, Expect]]],
    classifications: list[Classification],
    participants: dict[str, set[str]],
    leaders: set[str],
) -> DrillReport:
    """The run's targets, each responder's classification accuracy over ``recent`` runs
    (with what each of their incidents was expected to be), and leadership's part in
    drills by quarter (``participants``: run id → who acted on its incidents)."""
    expected: dict[str, Expect] = {}
    for _, expects in recent:
        expected.update(expects)
    tally: dict[str, list[int]] = {}
    for c in classifications:
        want = expected.get(c.incident_id)
        if want is None:
            continue
        right_total = tally.setdefault(c.by, [0, 0])
        right_total[0] += int(c.level is want.level and c.type is want.type)
        right_total[1] += 1
    responders = [
        ResponderAccuracy(name=name, right=r, total=t, accuracy=r / t)
        for name, (r, t) in sorted(tally.items())
    ]
    quarters: dict[str, tuple[int, set[str]]] = {}
    for past, _ in recent:
        q = _quarter(past.started_at)
        count, who = quarters.get(q, (0, set()))
        quarters[q] = (count + 1, who | (participants.get(past.id, set()) & leaders))
    leadership = [
        QuarterParticipation(quarter=q, drills=n, leaders=sorted(who), met=bool(who))
        for q, (n, who) in sorted(quarters.items(), reverse=True)
    ]
    met = sum(1 for s in run.scores if s.met)
    return DrillReport(
        run=run,
        passed=bool(run.scores) and met == len(run.scores),
        met=met,
        targets=len(run.scores),
        responders=responders,
        leadership=leadership,
        follow_ups=run.lead_scores.follow_ups if run.lead_scores else [],
    )


def drill_id(scenario: str, started_at: datetime) -> str:
    return f"{scenario}-{started_at:%Y%m%d-%H%M%S}"
