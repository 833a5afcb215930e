"""Planned maintenance, mirroring ``/api/v1/maintenances``: schedule a window, list them,
move one, cancel one. Alerts of its components page nobody while it is on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from api.schemas.maintenances import MaintenanceList, MaintenanceOut
from domain.durations import humanize, parse_duration
from tocsin.cli.base import By, api_of, app, clock, facts, fail, parse, table, who

maintenance_app = typer.Typer(help="Planned maintenance: windows that keep pagers quiet.")
app.add_typer(maintenance_app, name="maintenance")

WindowId = Annotated[str, typer.Argument(metavar="ID", help="e.g. mnt-20261210-3fa9c1")]
When = typer.Option(
    help="an ISO 8601 time with its zone (2026-12-10T02:00Z), or +DURATION from now"
)


def _when(text: str, now: datetime) -> str:
    """``+2h`` from now, or a time with its zone, as the API takes it."""
    try:
        if text.startswith("+"):
            return (now + parse_duration(text[1:])).isoformat()
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        fail(f"{text!r}: {exc}")
    if at.tzinfo is None:
        fail(f"{text!r}: give its time zone, e.g. {text}Z")
    return at.isoformat()


def _ends(ends: str | None, lasting: str | None, starts: str, now: datetime) -> str:
    if (ends is None) == (lasting is None):
        fail("give exactly one of --ends or --for")
    if ends is not None:
        return _when(ends, now)
    try:
        return (datetime.fromisoformat(starts) + parse_duration(lasting)).isoformat()
    except ValueError as exc:
        fail(f"--for {lasting!r}: {exc}")


def print_window(payload: Any) -> None:
    m = parse(MaintenanceOut, payload)
    lasting = humanize(m.ends_at - m.starts_at)
    typer.echo(
        facts(
            [
                ("maintenance", f"{m.id} ({m.status.value})"),
                ("title", m.title),
                ("components", ", ".join(m.components)),
                ("from", f"{clock(m.starts_at)} UTC"),
                ("to", f"{clock(m.ends_at)} UTC ({lasting})"),
                ("alerts held", str(m.alerts_suppressed)),
            ]
        )
    )


@maintenance_app.command("schedule")
def schedule(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help="what customers read")],
    body: Annotated[str, typer.Option(help="what customers are told about it")],
    component: Annotated[
        list[str], typer.Option(help="a service of the catalog; repeat for several")
    ],
    starts: Annotated[str, When],
    ends: Annotated[str | None, When] = None,
    lasting: Annotated[str | None, typer.Option("--for", help="instead of --ends: 2h")] = None,
    by: By = None,
) -> None:
    """Schedule a window: customers are told now, when it begins and when it ends."""
    api = api_of(ctx)
    now = datetime.now(UTC)
    start = _when(starts, now)
    request = {
        "title": title,
        "body": body,
        "components": component,
        "starts_at": start,
        "ends_at": _ends(ends, lasting, start, now),
        "by": who(by),
    }
    api.show(api.request("POST", "/maintenances", body=request), print_window)


@maintenance_app.command("list")
def list_windows(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="scheduled, in_progress, completed or cancelled")
    ] = None,
) -> None:
    """Windows, soonest first."""
    api = api_of(ctx)

    def render(payload: Any) -> None:
        windows = parse(MaintenanceList, payload).items
        if not windows:
            typer.echo("no maintenance")
            return
        rows = [
            [
                m.id,
                m.status.value,
                clock(m.starts_at),
                clock(m.ends_at),
                ",".join(m.components),
                str(m.alerts_suppressed),
                m.title,
            ]
            for m in windows
        ]
        headers = ["ID", "STATUS", "FROM (UTC)", "TO (UTC)", "COMPONENTS", "HELD", "TITLE"]
        typer.echo(table(headers, rows))

    params = {"status": status} if status else None
    api.show(api.request("GET", "/maintenances", params=params), render)


@maintenance_app.command("show")
def show(ctx: typer.Context, maintenance_id: WindowId) -> None:
    """A window and the alerts it held back."""
    api = api_of(ctx)
    api.show(api.request("GET", f"/maintenances/{maintenance_id}"), print_window)


@maintenance_app.command("move")
def move(
    ctx: typer.Context,
    maintenance_id: WindowId,
    starts: Annotated[str | None, When] = None,
    ends: Annotated[str | None, When] = None,
    by: By = None,
) -> None:
    """Move or extend a window before it ends; one that began keeps its start."""
    api = api_of(ctx)
    now = datetime.now(UTC)
    request: dict[str, Any] = {"by": who(by)}
    if starts is not None:
        request["starts_at"] = _when(starts, now)
    if ends is not None:
        request["ends_at"] = _when(ends, now)
    api.show(api.request("PATCH", f"/maintenances/{maintenance_id}", body=request), print_window)


@maintenance_app.command("cancel")
def cancel(ctx: typer.Context, maintenance_id: WindowId, by: By = None) -> None:
    """Cancel a window: customers are told, and alerts it held go to the intake at once."""
    api = api_of(ctx)
    payload = api.request("POST", f"/maintenances/{maintenance_id}/cancel", body={"by": who(by)})
    api.show(payload, print_window)
