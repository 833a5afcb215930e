"""Incident commands, mirroring ``/api/v1/incidents``: declare, act, show, list, timeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from api.schemas.incidents import AckTaken, IncidentList, IncidentOut, Timeline
from domain.durations import humanize
from domain.models import EventKind, IncidentType, Level, Status
from tocsin.cli.base import By, api_of, app, clock, facts, parse, shorten, table, who

IncidentId = Annotated[str, typer.Argument(metavar="ID")]
# The timeline's kind column fits the longest kind, so every line's text starts in one column.
KIND_WIDTH = max(len(kind.value) for kind in EventKind)


def _deadline_cell(incident: IncidentOut) -> str:
    if incident.time_left_seconds is None:
        return "-"
    left = humanize(incident.ack_deadline - datetime.now(UTC))
    return f"{incident.ack_deadline.astimezone(UTC):%H:%M:%S} ({left})"


def print_incident(payload: Any) -> None:
    incident = parse(IncidentOut, payload)
    pairs = [
        ("id", incident.id),
        ("title", incident.title),
        ("level", f"{incident.level} ({incident.type.value})"),
        ("status", incident.status.value + (" (drill)" if incident.drill else "")),
        ("declared", f"{clock(incident.declared_at)} UTC by {incident.declared_by}"),
        ("ack deadline", f"{clock(incident.ack_deadline)} UTC"),
    ]
    if incident.time_left_seconds is not None:
        pairs.append(("time left", humanize(incident.ack_deadline - datetime.now(UTC))))
    if incident.acknowledged_at is not None:
        by = incident.acknowledged_by or "?"
        pairs.append(("acknowledged", f"{clock(incident.acknowledged_at)} UTC by {by}"))
    if incident.window_breached:
        at = f" at {clock(incident.breached_at)} UTC" if incident.breached_at else ""
        pairs.append(("window", f"breached{at}"))
    if incident.resolved_at is not None:
        pairs.append(("resolved", f"{clock(incident.resolved_at)} UTC"))
    typer.echo(facts(pairs))


def _act(ctx: typer.Context, path: str, body: dict[str, Any]) -> None:
    api = api_of(ctx)
    api.show(api.request("POST", path, body=body), print_incident)


@app.command()
def declare(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="what is wrong, in a few words")],
    level: Annotated[Level, typer.Option("--level", "-l", help="A, B or C")],
    type: Annotated[
        IncidentType,
        typer.Option("--type", "-t", help="the incident's type: who leads the response"),
    ],
    description: Annotated[str, typer.Option(help="more detail")] = "",
    service: Annotated[
        str | None, typer.Option(help="affected service: a key of alerts/services.yaml")
    ] = None,
    drill: Annotated[bool, typer.Option("--drill", help="a drill: pages say DRILL")] = False,
    by: By = None,
) -> None:
    """Declare an incident; its level's playbook starts paging at once."""
    body: dict[str, Any] = {
        "title": title,
        "level": level.value,
        "type": type.value,
        "description": description,
        "by": who(by),
    }
    if service:
        body["service"] = service
    if drill:
        body["drill"] = True
    _act(ctx, "/incidents", body)


@app.command()
def ack(
    ctx: typer.Context,
    incident_ids: Annotated[list[str], typer.Argument(metavar="ID...")],
    by: By = None,
) -> None:
    """Acknowledge incidents: stops their escalation. Several ids (a bundled page's
    "acknowledge all") are each acknowledged or refused on a line of their own."""
    api = api_of(ctx)
    if len(incident_ids) == 1:
        payload = api.request("POST", f"/incidents/{incident_ids[0]}/ack", body={"by": who(by)})
        kept = _kept(payload)
        api.show(payload, lambda p: typer.echo(_kept_line(kept)) if kept else print_incident(p))
        return
    answers, refused = [], 0
    for incident_id in dict.fromkeys(incident_ids):
        payload, error = api.attempt("POST", f"/incidents/{incident_id}/ack", body={"by": who(by)})
        if error is not None:
            refused += 1
            typer.echo(f"{incident_id}  refused: {error}", err=True)
            continue
        answers.append(payload)
        if not api.as_json:
            kept = _kept(payload)
            typer.echo(_kept_line(kept) if kept else _acked_line(parse(IncidentOut, payload)))
    if api.as_json:
        typer.echo(json.dumps(answers, indent=2))
    if refused:
        raise typer.Exit(1)


def _kept(payload: Any) -> AckTaken | None:
    """The API's 202: no worker applied it in time, and it is kept for one (ADR 0038)."""
    if isinstance(payload, dict) and "incident_id" in payload and "acted_at" in payload:
        return parse(AckTaken, payload)
    return None


def _kept_line(kept: AckTaken) -> str:
    return (
        f"{kept.incident_id}  taken at {clock(kept.acted_at)} UTC from {kept.acknowledged_by}; "
        "tocsin applies it as soon as its worker takes it, counted from then"
    )


def _acked_line(incident: IncidentOut) -> str:
    at = f" at {clock(incident.acknowledged_at)} UTC" if incident.acknowledged_at else ""
    return f"{incident.id}  acknowledged{at} by {incident.acknowledged_by or '?'}"


@app.command("level")
def change_level(
    ctx: typer.Context,
    incident_id: IncidentId,
    level: Annotated[Level, typer.Argument(help="A, B or C")],
    reason: Annotated[str, typer.Option(help="why the level changes")],
    by: By = None,
) -> None:
    """Change an incident's level; the new level's playbook takes over."""
    body = {"level": level.value, "reason": reason, "by": who(by)}
    _act(ctx, f"/incidents/{incident_id}/level", body)


@app.command()
def update(
    ctx: typer.Context,
    incident_id: IncidentId,
    text: Annotated[str, typer.Argument(help="the status update")],
    by: By = None,
) -> None:
    """Post a status update to an incident."""
    _act(ctx, f"/incidents/{incident_id}/updates", {"text": text, "by": who(by)})


@app.command()
def mitigate(
    ctx: typer.Context,
    incident_id: IncidentId,
    note: Annotated[str, typer.Option(help="what was done")] = "",
    by: By = None,
) -> None:
    """Mark an incident mitigated: the impact is contained, the cause not yet fixed."""
    _act(ctx, f"/incidents/{incident_id}/mitigate", {"note": note, "by": who(by)})


@app.command()
def resolve(
    ctx: typer.Context,
    incident_id: IncidentId,
    summary: Annotated[str, typer.Option(help="what happened and what fixed it")] = "",
    by: By = None,
) -> None:
    """Resolve an incident."""
    _act(ctx, f"/incidents/{incident_id}/resolve", {"summary": summary, "by": who(by)})


@app.command()
def show(ctx: typer.Context, incident_id: IncidentId) -> None:
    """Show one incident."""
    api = api_of(ctx)
    api.show(api.request("GET", f"/incidents/{incident_id}"), print_incident)


@app.command()
def timeline(ctx: typer.Context, incident_id: IncidentId) -> None:
    """Show what happened to an incident, in order."""

    def render(payload: Any) -> None:
        events = parse(Timeline, payload).items
        if not events:
            typer.echo("no events recorded yet")
        for event in events:
            actor = f"[{event.actor}] " if event.actor else ""
            typer.echo(f"{clock(event.at)}  {event.kind.value:<{KIND_WIDTH}}  {actor}{event.text}")

    api = api_of(ctx)
    api.show(api.request("GET", f"/incidents/{incident_id}/timeline"), render)


@app.command()
def incidents(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="include resolved incidents")] = False,
    status: Annotated[
        list[Status] | None, typer.Option("--status", help="repeat to match any")
    ] = None,
    level: Annotated[Level | None, typer.Option("--level", help="A, B or C")] = None,
    drill: Annotated[
        bool | None, typer.Option("--drill/--no-drill", help="only drills, or no drills")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, max=500, help="at most [100]")] = None,
) -> None:
    """List incidents, the most recent first: the open ones unless --all or --status."""
    params: dict[str, Any] = {} if limit is None else {"limit": limit}
    if status:
        params["status"] = [s.value for s in status]
    elif not all_:
        params["status"] = [s.value for s in Status if s.is_open]
    if level is not None:
        params["level"] = level.value
    if drill is not None:
        params["drill"] = str(drill).lower()

    def render(payload: Any) -> None:
        page = parse(IncidentList, payload)
        if not page.items:
            typer.echo("no incidents" if all_ or status else "no open incidents")
            return
        rows = [
            [
                i.id,
                i.level.value,
                i.status.value + (" (drill)" if i.drill else ""),
                shorten(i.title),
                clock(i.declared_at),
                _deadline_cell(i),
                i.acknowledged_by or "-",
            ]
            for i in page.items
        ]
        headers = ["ID", "LEVEL", "STATUS", "TITLE", "DECLARED (UTC)", "ACK BY (LEFT)", "ACKED BY"]
        typer.echo(table(headers, rows))
        if page.total > len(page.items):
            typer.echo(f"({len(page.items)} of {page.total} shown)")

    api = api_of(ctx)
    api.show(api.request("GET", "/incidents", params=params), render)
