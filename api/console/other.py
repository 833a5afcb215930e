"""Drills, on call and maintenance, what-if runs of candidate playbooks, and the reports."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from adapters.clock import utcnow
from api.console.core import Console, ConsoleDep, FormDep, act, back, fields
from api.routes import drills as drill_api
from api.routes import heartbeats as heartbeats_api
from api.routes import maintenances as maintenance_api
from api.routes import oncall as oncall_api
from api.routes import reports as report_api
from api.routes import whatif as whatif_api
from api.schemas.drills import DrillStartRequest, ScheduleActionRequest
from api.schemas.maintenances import CancelMaintenanceRequest, MaintenanceRequest
from api.schemas.oncall import OverrideRequest
from api.schemas.whatif import WhatIfStartRequest
from domain.errors import TemporalUnavailable
from domain.models import Level

router = APIRouter()

Name = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,120}$")]
_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$")


def utc(value: str | None) -> str | None:
    """A ``datetime-local`` field has no offset; the console's times are UTC."""
    if not value:
        return None
    return value if _OFFSET.search(value) else f"{value}Z"


def _times(form: FormData, *names: str) -> dict[str, str]:
    return {n: v for n in names if (v := utc(fields(form, n).get(n))) is not None}


# ------------------------------------------------------------------------------- drills


@router.get("/console/drills", response_class=HTMLResponse)
async def drills_page(console: ConsoleDep) -> HTMLResponse:
    runtime = console.runtime
    return console.page(
        "drills.html",
        scenarios=(await drill_api.scenarios(runtime)).items,
        runs=(await drill_api.list_drills(runtime, scenario=None, limit=20)).items,
        schedules=await _schedules(console),
        can_lead=console.can(drill_api.start_drill),
    )


async def _schedules(console: Console) -> list[Any] | None:
    """None when Temporal does not answer: the page shows the rest and says so."""
    try:
        return list((await drill_api.list_schedules(console.runtime)).items)
    except TemporalUnavailable:
        return None


@router.get("/console/drills/{run_id}", response_class=HTMLResponse)
async def drill_page(console: ConsoleDep, run_id: RunId) -> HTMLResponse:
    runtime = console.runtime
    drill = await act(console, drill_api.get_drill, lambda: {"run_id": run_id, "runtime": runtime})
    return console.page("drill.html", drill=drill)


@router.post("/console/drills")
async def run_drill(console: ConsoleDep, form: FormDep) -> RedirectResponse:
    values = fields(form, "scenario")
    run = await act(
        console,
        drill_api.start_drill,
        lambda: {
            "who": console.principal,
            "body": DrillStartRequest.model_validate(values),
            "runtime": console.runtime,
        },
    )
    return back(form, f"/console/drills/{run.id}")


_SCHEDULE_ACTIONS = {
    "pause": drill_api.pause_schedule,
    "unpause": drill_api.unpause_schedule,
    "trigger": drill_api.trigger_schedule,
}


@router.post("/console/drills/schedules/{scenario}/{action}")
async def drill_schedule(
    console: ConsoleDep, form: FormDep, scenario: Name, action: str = Path()
) -> RedirectResponse:
    endpoint = _SCHEDULE_ACTIONS.get(action)
    if endpoint is not None:
        await act(
            console,
            endpoint,
            lambda: {
                "who": console.principal,
                "scenario": scenario,
                "body": ScheduleActionRequest(),
                "runtime": console.runtime,
            },
        )
    return back(form, "/console/drills")


# ------------------------------------------------------------------ on call, maintenance


@router.get("/console/oncall", response_class=HTMLResponse)
async def oncall_page(console: ConsoleDep) -> HTMLResponse:
    runtime, who = console.runtime, console.principal
    now = utcnow()
    holding = await oncall_api.who_is_on_call(who, runtime, at=None)
    schedules = []
    for schedule in (await oncall_api.list_schedules(who, runtime)).items:
        shifts = await oncall_api.list_shifts(
            who, runtime, schedule.name, since=now, until=now + timedelta(weeks=2)
        )
        overrides = await oncall_api.list_overrides(who, runtime, schedule.name)
        schedules.append(
            {"name": schedule.name, "tiers": schedule.tiers, "shifts": shifts.items[:3],
             "overrides": overrides.items}
        )  # fmt: skip
    maintenances = await maintenance_api.list_maintenances(runtime, status_=None)
    monitors = await heartbeats_api.heartbeats(runtime, console.config)
    return console.page(
        "oncall.html",
        heartbeats=monitors.items,
        holding=holding.items,
        schedules=schedules,
        maintenances=maintenances.items,
        people=sorted({p.name for p in runtime.people.current().everyone()}),
        components=[key for key, _ in runtime.catalog.components()],
        can_override=console.can(oncall_api.add_override),
        can_plan=console.can(maintenance_api.schedule_maintenance),
    )


@router.post("/console/schedules/{name}/overrides")
async def add_override(console: ConsoleDep, form: FormDep, name: Name) -> RedirectResponse:
    values: dict[str, Any] = {**fields(form, "person", "reason"), **_times(form, "start", "end")}
    await act(
        console,
        oncall_api.add_override,
        lambda: {
            "who": console.principal,
            "runtime": console.runtime,
            "name": name,
            "body": OverrideRequest.model_validate(values),
        },
    )
    return back(form, "/console/oncall")


@router.post("/console/schedules/{name}/overrides/{override_id}/remove")
async def remove_override(
    console: ConsoleDep, form: FormDep, name: Name, override_id: int = Path(ge=1)
) -> RedirectResponse:
    await act(
        console,
        oncall_api.remove_override,
        lambda: {
            "who": console.principal,
            "runtime": console.runtime,
            "name": name,
            "id": override_id,
            "by": None,
        },
    )
    return back(form, "/console/oncall")


@router.post("/console/maintenances")
async def schedule_maintenance(console: ConsoleDep, form: FormDep) -> RedirectResponse:
    values: dict[str, Any] = {
        **fields(form, "title", "body"),
        **_times(form, "starts_at", "ends_at"),
        "components": [c for c in form.getlist("components") if isinstance(c, str)],
    }
    await act(
        console,
        maintenance_api.schedule_maintenance,
        lambda: {
            "who": console.principal,
            "body": MaintenanceRequest.model_validate(values),
            "runtime": console.runtime,
            "response": Response(),
        },
    )
    return back(form, "/console/oncall")


@router.post("/console/maintenances/{maintenance_id}/cancel")
async def cancel_maintenance(
    console: ConsoleDep, form: FormDep, maintenance_id: str = Path(pattern=r"^mnt-[a-z0-9-]+$")
) -> RedirectResponse:
    await act(
        console,
        maintenance_api.cancel_maintenance,
        lambda: {
            "who": console.principal,
            "maintenance_id": maintenance_id,
            "body": CancelMaintenanceRequest(),
            "runtime": console.runtime,
        },
    )
    return back(form, "/console/oncall")


# -------------------------------------------------------------------------------- what-if


@router.get("/console/playbooks", response_class=HTMLResponse)
async def playbooks_page(console: ConsoleDep) -> HTMLResponse:
    return console.page(
        "playbooks.html", levels=list(Level), can_lead=console.can(whatif_api.start_what_if)
    )


@router.post("/console/playbooks/what-if")
async def start_what_if(console: ConsoleDep, form: FormDep) -> RedirectResponse:
    values = {**fields(form, "playbooks", "level"), **_times(form, "since", "until")}
    accepted = await act(
        console,
        whatif_api.start_what_if,
        lambda: {
            "who": console.principal,
            "body": WhatIfStartRequest.model_validate(values),
            "runtime": console.runtime,
        },
    )
    return RedirectResponse(f"/console/playbooks/what-if/{accepted.id}", status_code=303)


@router.get("/console/playbooks/what-if/{run_id}", response_class=HTMLResponse)
async def what_if_page(console: ConsoleDep, run_id: RunId) -> HTMLResponse:
    report = await act(
        console, whatif_api.get_what_if, lambda: {"run_id": run_id, "runtime": console.runtime}
    )
    return console.page("whatif.html", report=report)


# -------------------------------------------------------------------------------- reports


@router.get("/console/reports", response_class=HTMLResponse)
async def reports_page(
    console: ConsoleDep,
    quarter: str | None = Query(default=None, pattern=r"^\d{4}Q[1-4]$"),
) -> HTMLResponse:
    runtime = console.runtime
    now = utcnow()
    since = now - timedelta(days=365)
    report = await report_api.response_report(runtime, since=since, until=None, drill=False)
    digest = await act(
        console, report_api.quarterly_report, lambda: {"runtime": runtime, "quarter": quarter}
    )
    declared = await runtime.store.incidents_declared(since, None, drill=False)
    breaches = sorted(
        (i for i in declared if i.window_breached), key=lambda i: i.declared_at, reverse=True
    )
    return console.page(
        "reports.html",
        rows=report.items,
        chart=json.dumps(_chart(report.items)).replace("<", "\\u003c"),
        digest=digest,
        breaches=breaches,
    )


def _chart(rows: list[Any]) -> dict[str, Any]:
    """Months on the x axis, one series per level, for each figure."""
    months = sorted({r.month for r in rows})
    figures: dict[str, Any] = {"months": months}
    for figure, scale in (
        ("mtta_seconds", 60),
        ("mttr_seconds", 60),
        ("within_window_ratio", 0.01),
    ):
        by_level: dict[str, list[float | None]] = {}
        for level in Level:
            found = {r.month: getattr(r, figure) for r in rows if r.level is level}
            if found:
                by_level[level.value] = [
                    None if found.get(m) is None else round(found[m] / scale, 1) for m in months
                ]
        figures[figure] = by_level
    return figures
