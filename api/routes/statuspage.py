"""Statuspage's public API v2, read-only and without a token: uptime monitors, status widgets,
chat bots and aggregators written for Atlassian's pages read tocsin's as they are. Cached and
revalidated like ``/status.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response, status

from api.deps import ConfigDep, RuntimeDep
from api.routes.status import CACHE_CONTROL, build_page, etag_of, not_modified
from api.schemas.statuspage import (
    ComponentsOut,
    IncidentsOut,
    MaintenancesOut,
    StatusOut,
    SummaryOut,
)
from api.statuspage import StatuspageV2

router = APIRouter(prefix="/api/v2", tags=["Statuspage v2"])

_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    status.HTTP_304_NOT_MODIFIED: {"description": "unchanged since the ETag given"}
}


async def _answer(
    request: Request,
    runtime: RuntimeDep,
    config: ConfigDep,
    kind: str,
    body: Callable[[StatuspageV2], Any],
) -> Response:
    v2 = StatuspageV2(await build_page(runtime, config))
    content = body(v2).model_dump(mode="json")
    etag = etag_of(content, f"v2-{kind}")
    if (cached := not_modified(request, etag)) is not None:
        return cached
    return Response(
        json.dumps(content),
        media_type="application/json",
        headers={
            "Cache-Control": CACHE_CONTROL,
            "ETag": etag,
            "Access-Control-Allow-Origin": "*",
        },
    )


def _get(path: str, model: type, summary: str) -> Callable[[Callable[..., Any]], Any]:
    return router.get(path, response_model=model, summary=summary, responses=_NOT_MODIFIED)


@_get("/summary.json", SummaryOut, "Status, components, unresolved incidents and maintenance")
async def summary(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    return await _answer(request, runtime, config, "summary", lambda v2: v2.summary())


@_get("/status.json", StatusOut, "The page's overall status: an indicator and a description")
async def page_status(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    return await _answer(
        request,
        runtime,
        config,
        "status",
        lambda v2: StatusOut(page=v2.page_json(), status=v2.status()),
    )


@_get("/components.json", ComponentsOut, "Every component and its status")
async def components(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    return await _answer(
        request,
        runtime,
        config,
        "components",
        lambda v2: ComponentsOut(page=v2.page_json(), components=v2.components()),
    )


@_get("/incidents.json", IncidentsOut, "The 50 most recent incidents customers were told of")
async def incidents(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    return await _answer(
        request,
        runtime,
        config,
        "incidents",
        lambda v2: IncidentsOut(page=v2.page_json(), incidents=v2.incidents()),
    )


@_get("/incidents/unresolved.json", IncidentsOut, "Incidents not resolved yet")
async def unresolved(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    return await _answer(
        request,
        runtime,
        config,
        "unresolved",
        lambda v2: IncidentsOut(page=v2.page_json(), incidents=v2.incidents(unresolved=True)),
    )


@_get("/scheduled-maintenances.json", MaintenancesOut, "The 50 most recent maintenance windows")
async def maintenances(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    return await _answer(
        request,
        runtime,
        config,
        "maintenances",
        lambda v2: MaintenancesOut(page=v2.page_json(), scheduled_maintenances=v2.maintenances()),
    )


@_get("/scheduled-maintenances/upcoming.json", MaintenancesOut, "Windows not begun yet")
async def upcoming(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    return await _answer(
        request,
        runtime,
        config,
        "upcoming",
        lambda v2: MaintenancesOut(
            page=v2.page_json(), scheduled_maintenances=v2.maintenances(only="scheduled")
        ),
    )


@_get("/scheduled-maintenances/active.json", MaintenancesOut, "Windows in progress")
async def active(request: Request, runtime: RuntimeDep, config: ConfigDep) -> Response:
    return await _answer(
        request,
        runtime,
        config,
        "active",
        lambda v2: MaintenancesOut(
            page=v2.page_json(), scheduled_maintenances=v2.maintenances(only="in_progress")
        ),
    )
