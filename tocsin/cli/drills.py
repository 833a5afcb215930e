"""Drills, mirroring ``/api/v1/drills``: run one, list runs, read the report, enter the lead's
scores, classify a drill incident, and keep the drills' Temporal Schedules."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from api.schemas.drills import (
    ClassificationOut,
    DrillList,
    DrillOut,
    ScenarioList,
    ScheduleList,
    ScheduleOut,
)
from domain.durations import humanize, parse_duration
from domain.models import IncidentType, Level
from tocsin.cli.base import By, api_of, app, clock, facts, fail, parse, table, who

drill_app = typer.Typer(help="Drills: scenarios run through the real playbooks, scored.")
app.add_typer(drill_app, name="drill")

Scenario = Annotated[str, typer.Argument(help="a scenario of playbooks/drills/")]
RunId = Annotated[str, typer.Argument(metavar="RUN", help="a run id, e.g. routine-20261201-100000")]


def _value(target: str, value: float | None) -> str:
    if value is None:
        return "-"
    if target in ("classification_accuracy", "reputation_recovery"):
        return f"{value:.0%}"
    if target == "collaboration":
        return f"{value:g}/10"
    return humanize(timedelta(seconds=value))


def print_run(payload: Any) -> None:
    d = parse(DrillOut, payload)
    result = "running" if d.passed is None else ("PASSED" if d.passed else "NOT PASSED")
    typer.echo(
        facts(
            [
                ("drill", f"{d.id} ({d.kind}, {d.status})"),
                ("started", f"{clock(d.started_at)} UTC by {d.started_by}"),
                ("ends", f"{clock(d.ends_at)} UTC at the latest"),
                ("incidents", ", ".join(d.incidents) or "none yet"),
                ("result", result),
            ]
        )
    )
    if d.scores:
        rows = [
            [
                s.target.replace("_", " "),
                s.goal,
                _value(s.target, s.value),
                "yes" if s.met else "NO",
            ]
            for s in d.scores
        ]
        typer.echo("")
        typer.echo(table(["TARGET", "GOAL", "MEASURED", "MET"], rows))
    for item in d.follow_ups:
        typer.echo(f"  follow-up: {item}")


@drill_app.command("scenarios")
def scenarios(ctx: typer.Context) -> None:
    """The scenarios a drill can run."""
    api = api_of(ctx)

    def render(payload: Any) -> None:
        listed = parse(ScenarioList, payload).items
        rows = [
            [
                s.name,
                s.kind,
                s.title,
                str(s.steps),
                humanize(timedelta(seconds=s.duration_seconds)),
                s.schedule or "-",
            ]
            for s in listed
        ]
        typer.echo(table(["SCENARIO", "KIND", "TITLE", "STEPS", "LASTS", "SCHEDULE"], rows))

    api.show(api.request("GET", "/drills/scenarios"), render)


@drill_app.command("run")
def run(ctx: typer.Context, scenario: Scenario, by: By = None) -> None:
    """Start a drill now: its steps are injected on their schedule, its incidents paged."""
    api = api_of(ctx)
    payload = api.request("POST", "/drills", body={"scenario": scenario, "by": who(by)})

    def render(p: Any) -> None:
        d = parse(DrillOut, p)
        typer.echo(f"DRILL {d.id} started; it ends by {clock(d.ends_at)} UTC.")
        typer.echo(f"Follow it with: tocsin drill show {d.id}")

    api.show(payload, render)


@drill_app.command("list")
def list_runs(
    ctx: typer.Context,
    scenario: Annotated[str | None, typer.Option(help="only this scenario's runs")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
) -> None:
    """Drill runs, newest first."""
    api = api_of(ctx)
    params: dict[str, Any] = {"limit": limit}
    if scenario:
        params["scenario"] = scenario

    def render(payload: Any) -> None:
        runs = parse(DrillList, payload).items
        rows = [
            [
                d.id,
                d.status,
                f"{clock(d.started_at)}",
                f"{sum(s.met for s in d.scores)}/{len(d.scores)}" if d.scores else "-",
                "-" if d.passed is None else ("passed" if d.passed else "not passed"),
            ]
            for d in runs
        ]
        typer.echo(table(["DRILL", "STATUS", "STARTED (UTC)", "TARGETS MET", "RESULT"], rows))

    api.show(api.request("GET", "/drills", params=params), render)


@drill_app.command("show")
def show(ctx: typer.Context, run_id: RunId) -> None:
    """A run: its incidents and every target with the measured value."""
    api = api_of(ctx)
    api.show(api.request("GET", f"/drills/{run_id}"), print_run)


@drill_app.command("report")
def report(
    ctx: typer.Context,
    run_id: RunId,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write the Markdown here")] = None,
) -> None:
    """The drill report in Markdown: targets, classification accuracy by responder over the
    last drills, leadership participation per quarter, follow-ups."""
    api = api_of(ctx)
    if api.as_json:
        typer.echo(json.dumps(api.request("GET", f"/drills/{run_id}/report"), indent=2))
        return
    text = api.text(f"/drills/{run_id}.md")
    if out is None:
        typer.echo(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: {exc.strerror}")
    typer.echo(f"wrote {out}")


@drill_app.command("score")
def score(
    ctx: typer.Context,
    run_id: RunId,
    collaboration: Annotated[float, typer.Option(help="0 to 10; the target is 8.5")],
    reputation: Annotated[float, typer.Option(help="reputation recovery, 0 to 1")],
    follow_up: Annotated[list[str] | None, typer.Option(help="repeat for several")] = None,
    by: By = None,
) -> None:
    """The lead's scores and follow-ups after a drill; the run is scored again."""
    api = api_of(ctx)
    body = {
        "collaboration": collaboration,
        "reputation_recovery": reputation,
        "follow_ups": follow_up or [],
        "by": who(by),
    }
    api.show(api.request("PUT", f"/drills/{run_id}/scores", body=body), print_run)


@app.command("classify")
def classify(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT")],
    level: Annotated[
        Level, typer.Option(help="A, B or C", case_sensitive=False, metavar="<A|B|C>")
    ],
    type: Annotated[IncidentType, typer.Option(help="the incident's type, as you judge it")],
    by: By = None,
) -> None:
    """Triage a drill incident: the level and type you judge it to be (scored). A real
    incident's level is changed with `tocsin level`."""
    api = api_of(ctx)
    body = {"level": level.value, "type": type.value, "by": who(by)}

    def render(payload: Any) -> None:
        c = parse(ClassificationOut, payload)
        typer.echo(f"{c.incident_id} classified as level {c.level} {c.type.value} by {c.by}")

    api.show(api.request("POST", f"/incidents/{incident_id}/classify", body=body), render)


# ---------------------------------------------------------------------------- schedules


def print_schedule(payload: Any) -> None:
    typer.echo(_schedules_table([parse(ScheduleOut, payload)]))


def _schedules_table(schedules: list[ScheduleOut]) -> str:
    rows = [
        [
            s.scenario,
            s.cron,
            s.timezone,
            humanize(timedelta(seconds=s.jitter_seconds)) if s.jitter_seconds else "-",
            "paused" if s.paused else "active",
            f"{clock(s.next_runs[0])}" if s.next_runs and not s.paused else "-",
            str(s.runs_so_far),
        ]
        for s in schedules
    ]
    return table(["SCENARIO", "CRON", "TIME ZONE", "JITTER", "STATE", "NEXT (UTC)", "RUNS"], rows)


@drill_app.command("schedule")
def schedule(
    ctx: typer.Context,
    scenario: Annotated[
        str | None, typer.Argument(help="one scenario; default: every one with a schedule")
    ] = None,
    cron: Annotated[str | None, typer.Option(help="e.g. '0 10 1 * *'")] = None,
    timezone: Annotated[str | None, typer.Option(help="e.g. Europe/Berlin")] = None,
    jitter: Annotated[str | None, typer.Option(help="e.g. 30m")] = None,
    by: By = None,
) -> None:
    """Create the drills' Temporal Schedules (monthly routine, quarterly integrated, yearly
    comprehensive), or change one's calendar. A paused schedule stays paused."""
    api = api_of(ctx)
    body: dict[str, Any] = {"by": who(by)}
    if cron:
        body["cron"] = cron
    if timezone:
        body["timezone"] = timezone
    if jitter:
        try:
            body["jitter_seconds"] = int(parse_duration(jitter).total_seconds())
        except ValueError as exc:
            fail(f"--jitter: {exc}")
    if scenario is None:
        if len(body) > 1:
            fail("--cron, --timezone and --jitter change one scenario's schedule: name it")
        listed = parse(ScenarioList, api.request("GET", "/drills/scenarios")).items
        names = [s.name for s in listed if s.schedule]
    else:
        names = [scenario]
    made = [api.request("PUT", f"/drills/schedules/{name}", body=body) for name in names]
    if api.as_json:
        typer.echo(json.dumps(made, indent=2))
        return
    typer.echo(_schedules_table([parse(ScheduleOut, m) for m in made]))


@drill_app.command("schedules")
def schedules(ctx: typer.Context) -> None:
    """The drills' schedules: calendar, state, next run."""
    api = api_of(ctx)

    def render(payload: Any) -> None:
        listed = parse(ScheduleList, payload).items
        if not listed:
            typer.echo("no drill schedules; create them with: tocsin drill schedule")
            return
        typer.echo(_schedules_table(listed))

    api.show(api.request("GET", "/drills/schedules"), render)


def _schedule_action(ctx: typer.Context, scenario: str, action: str, by: str | None) -> None:
    api = api_of(ctx)
    payload = api.request("POST", f"/drills/schedules/{scenario}/{action}", body={"by": who(by)})
    api.show(payload, print_schedule)


@drill_app.command("pause")
def pause(ctx: typer.Context, scenario: Scenario, by: By = None) -> None:
    """Pause a scenario's schedule: no drill starts by itself until unpaused."""
    _schedule_action(ctx, scenario, "pause", by)


@drill_app.command("unpause")
def unpause(ctx: typer.Context, scenario: Scenario, by: By = None) -> None:
    _schedule_action(ctx, scenario, "unpause", by)


@drill_app.command("trigger")
def trigger(ctx: typer.Context, scenario: Scenario, by: By = None) -> None:
    """Start the scheduled drill now, as its schedule would."""
    _schedule_action(ctx, scenario, "trigger", by)
