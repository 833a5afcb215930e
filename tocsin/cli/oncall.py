"""On call in the terminal: ``tocsin oncall``, ``tocsin schedules``, ``tocsin override``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from api.schemas.oncall import (
    CalendarFeedOut,
    OnCallItem,
    OnCallScheduleOut,
    OverrideOut,
    ShiftOut,
)
from tocsin.cli.base import By, api_of, app, clock, parse, table, who

schedules_app = typer.Typer(help="On-call schedules: list, shifts.", no_args_is_help=True)
override_app = typer.Typer(help="Cover a schedule: add, list, remove.", no_args_is_help=True)
app.add_typer(schedules_app, name="schedules")
app.add_typer(override_app, name="override")

At = Annotated[
    datetime | None,
    typer.Option(
        "--at",
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"],
        help="an instant with its UTC offset, e.g. 2026-12-05T09:00+01:00 [now]",
    ),
]
Instant = Annotated[
    datetime,
    typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"], help="with its UTC offset"),
]


def _until(at: datetime | None) -> str:
    return clock(at) if at is not None else "-"


@app.command("oncall")
def oncall(ctx: typer.Context, at: At = None) -> None:
    """Who holds every function and tier now (or --at), why, and until when (UTC)."""
    api = api_of(ctx)
    params = {"at": at.isoformat()} if at is not None else None

    def render(payload: Any) -> None:
        rows = []
        for raw in payload["items"]:
            item = parse(OnCallItem, raw)
            names = ", ".join(p.name for p in item.people) or "NOBODY"
            source = item.source.value + (f" ({item.schedule})" if item.schedule else "")
            rows.append([item.function.value, item.tier.value, names, source, _until(item.until)])
        typer.echo(table(["FUNCTION", "TIER", "ON CALL", "SOURCE", "UNTIL (UTC)"], rows))

    api.show(api.request("GET", "/oncall", params=params), render)


@schedules_app.command("list")
def list_schedules(ctx: typer.Context) -> None:
    """Every schedule, the tiers it holds and who holds it now."""
    api = api_of(ctx)

    def render(payload: Any) -> None:
        rows = []
        for raw in payload["items"]:
            s = parse(OnCallScheduleOut, raw)
            rotations = ", ".join(f"{r.name} ({r.shift})" for r in s.rotations)
            rows.append(
                [s.name, s.time_zone, rotations, s.now.person or "NOBODY", clock(s.now.end)]
            )
        typer.echo(table(["SCHEDULE", "TIME ZONE", "ROTATIONS", "NOW", "UNTIL (UTC)"], rows))

    api.show(api.request("GET", "/schedules"), render)


@schedules_app.command("shifts")
def list_shifts(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the schedule")],
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"], help="[now]"),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"], help="[a week on]"),
    ] = None,
) -> None:
    """The shifts of a schedule, one after another (UTC)."""
    api = api_of(ctx)
    params: dict[str, str] = {}
    if since is not None:
        params["since"] = since.isoformat()
    if until is not None:
        params["until"] = until.isoformat()

    def render(payload: Any) -> None:
        rows = []
        for raw in payload["items"]:
            s = parse(ShiftOut, raw)
            via = s.rotation or (f"override {s.override_id}" if s.override_id else "-")
            rows.append([clock(s.start), clock(s.end), s.person or "NOBODY", s.source.value, via])
        typer.echo(table(["FROM (UTC)", "UNTIL (UTC)", "ON CALL", "SOURCE", "BY"], rows))

    api.show(api.request("GET", f"/schedules/{name}/shifts", params=params), render)


def _override_line(o: OverrideOut) -> str:
    reason = f" ({o.reason})" if o.reason else ""
    return (
        f"override {o.id}: {o.person} covers {o.schedule} from {clock(o.start)} "
        f"until {clock(o.end)} UTC, arranged by {o.by}{reason}"
    )


@override_app.command("add")
def add(
    ctx: typer.Context,
    schedule: Annotated[str, typer.Argument(help="the schedule")],
    person: Annotated[str, typer.Option(help="who covers it: a roster name")],
    start: Instant,
    end: Instant,
    by: By = None,
    reason: Annotated[str | None, typer.Option(help="why, for the record")] = None,
) -> None:
    """Someone covers a schedule from --start to --end, above every rotation."""
    api = api_of(ctx)
    body: dict[str, Any] = {
        "person": person,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "by": who(by),
    }
    if reason:
        body["reason"] = reason
    made = api.request("POST", f"/schedules/{schedule}/overrides", body=body)
    api.show(made, lambda p: typer.echo(_override_line(parse(OverrideOut, p))))


@override_app.command("list")
def list_overrides(ctx: typer.Context, schedule: Annotated[str, typer.Argument()]) -> None:
    """The schedule's overrides that have not ended."""
    api = api_of(ctx)

    def render(payload: Any) -> None:
        lines = [_override_line(parse(OverrideOut, raw)) for raw in payload["items"]]
        typer.echo("\n".join(lines) if lines else f"no overrides of {schedule}")

    api.show(api.request("GET", f"/schedules/{schedule}/overrides"), render)


@override_app.command("remove")
def remove(
    ctx: typer.Context,
    schedule: Annotated[str, typer.Argument()],
    id: Annotated[int, typer.Argument(help="the override's number")],
    by: By = None,
) -> None:
    """Take an override back: the rotation holds again."""
    api = api_of(ctx)
    api.request("DELETE", f"/schedules/{schedule}/overrides/{id}", params={"by": who(by)})
    typer.echo(f"override {id} of {schedule} removed")


@schedules_app.command("calendar")
def calendar_feed(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the schedule")],
    revoke: Annotated[bool, typer.Option("--revoke", help="stop the feed's URL")] = False,
) -> None:
    """A calendar feed URL of the schedule's next 8 weeks (admin), replacing the last one."""
    api = api_of(ctx)
    if revoke:
        api.request("DELETE", f"/schedules/{name}/calendar")
        typer.echo(f"the calendar feed of {name} is revoked")
        return
    made = api.request("POST", f"/schedules/{name}/calendar")
    api.show(made, lambda p: typer.echo(parse(CalendarFeedOut, p).url))
