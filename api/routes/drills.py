"""Drills (DESIGN.md §1, §3): scenarios, runs and their scores, classifications of drill
incidents, the lead's scores, reports, and the drills' Temporal Schedules."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from adapters.clock import utcnow
from api.config import API_PREFIX
from api.deps import Authenticated, RuntimeDep, may
from api.markdown import drill_markdown
from api.schemas.common import INCIDENT_ID_PATTERN
from api.schemas.drills import (
    ClassificationOut,
    ClassifyRequest,
    DrillList,
    DrillOut,
    DrillStartRequest,
    LeadScoresRequest,
    ScenarioList,
    ScenarioOut,
    ScheduleActionRequest,
    ScheduleList,
    ScheduleOut,
    ScheduleRequest,
    ScoreOut,
)
from domain.access import Permission, Principal
from domain.drills import DrillReport, DrillRun, DrillStatus, LeadScores
from domain.models import Actor
from workflows.drills.client import ScheduleView

router = APIRouter(prefix=API_PREFIX, tags=["drills"], dependencies=[Authenticated])

RunId = Annotated[
    str,
    Path(pattern=r"^[a-z][a-z0-9-]{0,40}-\d{8}-\d{6}$", examples=["routine-20261201-100000"]),
]
ScenarioName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,40}$", examples=["routine"])]
IncidentId = Annotated[str, Path(pattern=INCIDENT_ID_PATTERN, examples=["20261201-d3f9a1c2"])]


def drill_out(run: DrillRun) -> DrillOut:
    lead = run.lead_scores
    return DrillOut(
        id=run.id,
        scenario=run.scenario,
        kind=run.kind.value,
        status=run.status.value,
        started_at=run.started_at,
        ends_at=run.ends_at,
        finished_at=run.finished_at,
        started_by=run.started_by,
        incidents=[run.incidents[i] for i in sorted(run.incidents)],
        scores=[ScoreOut.model_validate(s.model_dump()) for s in run.scores],
        passed=None
        if run.status is DrillStatus.RUNNING
        else bool(run.scores) and all(s.met for s in run.scores),
        collaboration=lead.collaboration if lead else None,
        reputation_recovery=lead.reputation_recovery if lead else None,
        follow_ups=lead.follow_ups if lead else [],
    )


def schedule_out(view: ScheduleView) -> ScheduleOut:
    return ScheduleOut(
        scenario=view.scenario,
        id=view.id,
        cron=view.cron,
        timezone=view.timezone,
        jitter_seconds=view.jitter.total_seconds(),
        paused=view.paused,
        note=view.note,
        next_runs=view.next_runs,
        recent_runs=view.recent_runs,
        runs_so_far=view.runs_so_far,
    )


@router.get("/drills/scenarios", response_model=ScenarioList)
async def scenarios(runtime: RuntimeDep) -> ScenarioList:
    """The scenarios of ``playbooks/drills/``."""
    return ScenarioList(
        items=[
            ScenarioOut(
                name=s.name,
                title=s.title,
                kind=s.kind.value,
                description=s.description,
                duration_seconds=s.duration.total_seconds(),
                steps=len(s.steps),
                schedule=f"{s.schedule.cron} ({s.schedule.timezone})" if s.schedule else None,
            )
            for s in runtime.scenarios.values()
        ]
    )


@router.post("/drills", status_code=status.HTTP_201_CREATED, response_model=DrillOut)
async def start_drill(
    who: Annotated[Principal, may(Permission.LEAD)], body: DrillStartRequest, runtime: RuntimeDep
) -> DrillOut:
    """Start a run of the scenario now. 404 names the known scenarios; 409 while a run of
    the same scenario is going on."""
    run = await runtime.drills.start(body.scenario, Actor(name=who.acting(body.by)), utcnow())
    return drill_out(run)


@router.get("/drills", response_model=DrillList)
async def list_drills(
    runtime: RuntimeDep,
    scenario: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9-]{0,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DrillList:
    """Runs, newest first."""
    runs = await runtime.drills.runs(scenario, limit)
    return DrillList(items=[drill_out(r) for r in runs])


# ---------------------------------------------------------------------------- schedules


@router.get("/drills/schedules", response_model=ScheduleList)
async def list_schedules(runtime: RuntimeDep) -> ScheduleList:
    """Each scenario's Temporal Schedule, where one was created."""
    return ScheduleList(items=[schedule_out(v) for v in await runtime.drills.schedules()])


@router.put("/drills/schedules/{scenario}", response_model=ScheduleOut)
async def put_schedule(
    who: Annotated[Principal, may(Permission.LEAD)],
    scenario: ScenarioName,
    body: ScheduleRequest,
    runtime: RuntimeDep,
) -> ScheduleOut:
    """Create the scenario's schedule, or bring it to this calendar; a paused one stays
    paused. Left out, the calendar, time zone and jitter come from the scenario file."""
    jitter = None if body.jitter_seconds is None else timedelta(seconds=body.jitter_seconds)
    view = await runtime.drills.schedule(
        scenario,
        utcnow(),
        cron=body.cron,
        timezone=body.timezone,
        jitter=jitter,
        by=Actor(name=who.acting(body.by)),
    )
    return schedule_out(view)


@router.get("/drills/schedules/{scenario}", response_model=ScheduleOut)
async def get_schedule(scenario: ScenarioName, runtime: RuntimeDep) -> ScheduleOut:
    return schedule_out(await runtime.drills.describe(scenario))


@router.post("/drills/schedules/{scenario}/pause", response_model=ScheduleOut)
async def pause_schedule(
    who: Annotated[Principal, may(Permission.LEAD)],
    scenario: ScenarioName,
    body: ScheduleActionRequest,
    runtime: RuntimeDep,
) -> ScheduleOut:
    return schedule_out(await runtime.drills.pause(scenario, Actor(name=who.acting(body.by))))


@router.post("/drills/schedules/{scenario}/unpause", response_model=ScheduleOut)
async def unpause_schedule(
    who: Annotated[Principal, may(Permission.LEAD)],
    scenario: ScenarioName,
    body: ScheduleActionRequest,
    runtime: RuntimeDep,
) -> ScheduleOut:
    return schedule_out(await runtime.drills.unpause(scenario, Actor(name=who.acting(body.by))))


@router.post("/drills/schedules/{scenario}/trigger", response_model=ScheduleOut)
async def trigger_schedule(
    who: Annotated[Principal, may(Permission.LEAD)],
    scenario: ScenarioName,
    body: ScheduleActionRequest,
    runtime: RuntimeDep,
) -> ScheduleOut:
    """Run the scheduled drill now (409 while a run of it is going on)."""
    return schedule_out(await runtime.drills.trigger(scenario))


@router.delete("/drills/schedules/{scenario}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(
    who: Annotated[Principal, may(Permission.LEAD)], scenario: ScenarioName, runtime: RuntimeDep
) -> Response:
    await runtime.drills.unschedule(scenario)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------------- runs


@router.get(
    "/drills/{run_id}.md",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}, "description": "the drill report"}},
)
async def drill_report_markdown(run_id: RunId, runtime: RuntimeDep) -> Response:
    report = await runtime.drills.report(run_id)
    return Response(drill_markdown(report), media_type="text/markdown; charset=utf-8")


@router.get("/drills/{run_id}", response_model=DrillOut)
async def get_drill(run_id: RunId, runtime: RuntimeDep) -> DrillOut:
    return drill_out(await runtime.drills.get(run_id))


@router.get("/drills/{run_id}/report", response_model=DrillReport)
async def drill_report(run_id: RunId, runtime: RuntimeDep) -> DrillReport:
    """Pass or fail per target with the measured value, each responder's classification
    accuracy over the last drills, leadership's part per quarter, the lead's follow-ups."""
    return await runtime.drills.report(run_id)


@router.put("/drills/{run_id}/scores", response_model=DrillOut)
async def lead_scores(
    who: Annotated[Principal, may(Permission.LEAD)],
    run_id: RunId,
    body: LeadScoresRequest,
    runtime: RuntimeDep,
) -> DrillOut:
    """The lead's collaboration (0 to 10) and reputation-recovery (0 to 1) scores and
    follow-ups; a finished run is scored again with them."""
    scores = LeadScores(
        collaboration=body.collaboration,
        reputation_recovery=body.reputation_recovery,
        by=who.acting(body.by),
        at=utcnow(),
        follow_ups=list(body.follow_ups),
    )
    return drill_out(await runtime.drills.enter_lead_scores(run_id, scores))


@router.post(
    "/incidents/{incident_id}/classify",
    status_code=status.HTTP_201_CREATED,
    response_model=ClassificationOut,
    tags=["drills"],
)
async def classify(
    who: Annotated[Principal, may(Permission.RESPOND)],
    incident_id: IncidentId,
    body: ClassifyRequest,
    runtime: RuntimeDep,
) -> ClassificationOut:
    """A responder's triage of a drill incident, scored against what the scenario expected
    (409 for an incident that is not a drill's)."""
    c = await runtime.drills.classify(
        incident_id, body.level, body.type, Actor(name=who.acting(body.by)), utcnow()
    )
    return ClassificationOut(
        incident_id=c.incident_id, by=c.by, level=c.level, type=c.type, at=c.at
    )
