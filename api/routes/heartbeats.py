"""Heartbeat monitors (ADR 0025): ``POST /api/v1/heartbeats/{name}`` is a beat, with the
intake token (Alertmanager's Watchdog route posts its webhook here; any body is taken and
ignored); ``GET /api/v1/heartbeats`` shows each monitor of ``heartbeats.yaml``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Path, Request, status
from temporalio.service import RPCError

from adapters.clock import utcnow
from api.config import API_PREFIX
from api.deps import ConfigDep, IntakeAuthenticated, RuntimeDep
from api.schemas.heartbeats import HeartbeatList, HeartbeatOut
from domain.errors import TemporalUnavailable
from domain.heartbeats import BeatState, Heartbeats, HeartbeatStatus, Monitor
from playbooks.loader import load_heartbeats
from workflows.heartbeats.client import beat, view

router = APIRouter(prefix=f"{API_PREFIX}/heartbeats", tags=["heartbeats"])
BEAT_PREFIX = f"{API_PREFIX}/heartbeats/"
_T = TypeVar("_T")

Name = Annotated[str, Path(max_length=63, description="a monitor of heartbeats.yaml")]


async def _engine(config: ConfigDep, call: Awaitable[_T]) -> _T:
    try:
        async with asyncio.timeout(config.temporal_timeout_seconds):
            return await call
    except (TimeoutError, RPCError) as exc:
        raise TemporalUnavailable(f"the workflow engine did not answer: {exc}") from None


def _monitors(config: ConfigDep) -> Heartbeats:
    return load_heartbeats(config.playbooks_dir)


def _out(monitor: Monitor, state: BeatState | None, incident_id: str | None) -> HeartbeatOut:
    return HeartbeatOut(
        name=monitor.name,
        status=state.status if state else HeartbeatStatus.NEW,
        last_beat_at=state.last_beat_at if state else None,
        next_due_at=state.next_due(monitor) if state else None,
        interval_seconds=monitor.interval.total_seconds(),
        grace_seconds=monitor.grace.total_seconds(),
        incident_id=incident_id,
    )


@router.post(
    "/{name}",
    response_model=HeartbeatOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="A beat: any body (or none, or an Alertmanager webhook), with the intake token",
    dependencies=[IntakeAuthenticated],
    responses={404: {"description": "no such monitor in heartbeats.yaml"}},
    openapi_extra={
        "requestBody": {
            "required": False,
            "description": "anything (an Alertmanager webhook, a job's output): not read",
            "content": {"*/*": {"schema": {}}},
        }
    },
)
async def heartbeat(
    request: Request, name: Name, runtime: RuntimeDep, config: ConfigDep
) -> HeartbeatOut:
    """Stored once Temporal holds it; the monitor's timer starts again from now."""
    monitor = _monitors(config).get(name)
    if monitor is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no heartbeat monitor {name!r}")
    await request.body()  # taken whole, and not looked at
    at = utcnow()
    client = runtime.service.client
    await _engine(config, beat(client, runtime.service.task_queue, monitor, at))
    state = BeatState(configured_at=at, last_beat_at=at, beats=1, status=HeartbeatStatus.UP)
    return _out(monitor, state, None)


@router.get("", response_model=HeartbeatList, summary="Every monitor and its status")
async def heartbeats(runtime: RuntimeDep, config: ConfigDep) -> HeartbeatList:
    items = []
    for monitor in _monitors(config).monitors:
        seen = await _engine(config, view(runtime.service.client, monitor.name))
        items.append(
            _out(monitor, seen.state if seen else None, seen.incident_id if seen else None)
        )
    return HeartbeatList(items=items)
