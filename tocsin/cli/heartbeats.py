"""Heartbeat monitors in the terminal: ``tocsin heartbeats``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import typer

from api.schemas.heartbeats import HeartbeatOut
from domain.durations import format_duration
from tocsin.cli.base import api_of, app, clock, parse, table


@app.command("heartbeats")
def heartbeats(ctx: typer.Context) -> None:
    """Every heartbeat monitor: its status (new, up, late, down), last beat and next due (UTC)."""
    api = api_of(ctx)

    def render(payload: Any) -> None:
        rows = []
        for raw in payload["items"]:
            m = parse(HeartbeatOut, raw)
            rows.append(
                [
                    m.name,
                    m.status.value,
                    clock(m.last_beat_at) if m.last_beat_at else "never",
                    clock(m.next_due_at) if m.next_due_at else "-",
                    f"{format_duration(timedelta(seconds=m.interval_seconds))} "
                    f"+ {format_duration(timedelta(seconds=m.grace_seconds))}",
                    m.incident_id or "-",
                ]
            )
        headers = ["MONITOR", "STATUS", "LAST BEAT (UTC)", "DUE (UTC)", "EVERY", "INCIDENT"]
        typer.echo(table(headers, rows))

    api.show(api.request("GET", "/heartbeats"), render)
