"""Planned maintenance (DESIGN.md §3): windows the communications lead schedules, moves and
cancels. Customers are told when one is scheduled, begins, moves and ends; alerts of its
components page nobody while it is on (``api.quiet``)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from adapters.clock import utcnow
from api.config import API_PREFIX
from api.deps import Authenticated, RuntimeDep, may
from api.schemas.maintenances import (
    CancelMaintenanceRequest,
    MaintenanceList,
    MaintenanceOut,
    MaintenancePatch,
    MaintenanceRequest,
)
from domain.access import Permission, Principal
from domain.maintenance import ENDED, MoveRefused, moved
from domain.statements import Maintenance, MaintenanceStatus

router = APIRouter(prefix=API_PREFIX, dependencies=[Authenticated], tags=["status page"])

MaintenanceId = Annotated[
    str, Path(pattern=r"^mnt-[0-9]{8}-[0-9a-f]{6}$", examples=["mnt-20261201-3fa9c1"])
]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such maintenance"}}


def _field_error(field: str, message: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


@router.post(
    "/maintenances",
    status_code=status.HTTP_201_CREATED,
    response_model=MaintenanceOut,
)
async def schedule_maintenance(
    who: Annotated[Principal, may(Permission.PLAN_MAINTENANCE)],
    body: MaintenanceRequest,
    runtime: RuntimeDep,
    response: Response,
) -> MaintenanceOut:
    """Shown on the status page at once; announced to subscribers now, when it begins and
    when it ends. Alerts of its components page nobody while it is on."""
    known = dict(runtime.catalog.components())
    for key in body.components:
        if key not in known:
            raise _field_error(
                "components", f"{key!r} is not a customer-visible service in the catalog"
            )
    now = utcnow()
    if body.ends_at <= now:
        raise _field_error("ends_at", "must be in the future")
    maintenance = Maintenance(
        id=f"mnt-{now:%Y%m%d}-{secrets.token_hex(3)}",
        title=body.title,
        body=body.body,
        components=body.components,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        status=MaintenanceStatus.SCHEDULED,
        created_by=who.acting(body.by),
        created_at=now,
        version=1,
    )
    await runtime.store.statements.save_maintenance(maintenance)
    await runtime.announcements.schedule_maintenance(maintenance)
    response.headers["Location"] = f"{API_PREFIX}/maintenances/{maintenance.id}"
    return MaintenanceOut.of(maintenance)


@router.get("/maintenances", response_model=MaintenanceList)
async def list_maintenances(
    runtime: RuntimeDep,
    status_: Annotated[MaintenanceStatus | None, Query(alias="status")] = None,
) -> MaintenanceList:
    """Soonest first."""
    found = await runtime.store.statements.maintenances(
        status=status_.value if status_ is not None else None
    )
    return MaintenanceList(items=[MaintenanceOut.of(m) for m in found])


async def _maintenance(runtime: RuntimeDep, maintenance_id: str) -> Maintenance:
    found = await runtime.store.statements.maintenance(maintenance_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no maintenance {maintenance_id}")
    return found


@router.get("/maintenances/{maintenance_id}", response_model=MaintenanceOut, responses=_NOT_FOUND)
async def get_maintenance(maintenance_id: MaintenanceId, runtime: RuntimeDep) -> MaintenanceOut:
    return MaintenanceOut.of(await _maintenance(runtime, maintenance_id))


@router.patch(
    "/maintenances/{maintenance_id}",
    response_model=MaintenanceOut,
    responses={
        **_NOT_FOUND,
        409: {"description": "the window is over, or has begun and its start was to move"},
    },
)
async def move_maintenance(
    who: Annotated[Principal, may(Permission.PLAN_MAINTENANCE)],
    maintenance_id: MaintenanceId,
    body: MaintenancePatch,
    runtime: RuntimeDep,
) -> MaintenanceOut:
    """Move or extend a window before it ends; subscribers are told of the new times."""
    found = await _maintenance(runtime, maintenance_id)
    try:
        moved(found, body.starts_at, body.ends_at, utcnow())
    except MoveRefused as refused:
        if refused.conflict:
            raise HTTPException(status.HTTP_409_CONFLICT, str(refused)) from None
        raise _field_error(refused.field, str(refused)) from None
    changed = await runtime.announcements.reschedule_maintenance(
        found.id, body.starts_at, body.ends_at, who.acting(body.by)
    )
    return MaintenanceOut.of(changed)


@router.post(
    "/maintenances/{maintenance_id}/cancel",
    response_model=MaintenanceOut,
    responses={**_NOT_FOUND, 409: {"description": "the maintenance is over already"}},
)
async def cancel_maintenance(
    who: Annotated[Principal, may(Permission.PLAN_MAINTENANCE)],
    maintenance_id: MaintenanceId,
    body: CancelMaintenanceRequest,
    runtime: RuntimeDep,
) -> MaintenanceOut:
    """Subscribers are told it is cancelled; alerts it held go to the intake at once. A
    window that is over is a 409."""
    found = await _maintenance(runtime, maintenance_id)
    if found.status in ENDED:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"maintenance {maintenance_id} is {found.status.value}"
        )
    cancelled = await runtime.announcements.cancel_maintenance(maintenance_id, who.acting(body.by))
    return MaintenanceOut.of(cancelled)
