"""Liveness and readiness probes; no authentication, so orchestrators can call them."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import RuntimeDep
from api.schemas.health import Ready

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

_TEMPORAL_TIMEOUT = timedelta(seconds=3)


@router.get("/healthz", response_model=Ready)
async def healthz() -> Ready:
    """The process is alive and serving."""
    return Ready(status="ok", checks={})


@router.get(
    "/readyz",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "a dependency is unreachable"}},
)
async def readyz(runtime: RuntimeDep) -> Ready | JSONResponse:
    """Ready when the records database and Temporal both answer."""
    checks: dict[str, str] = {}
    try:
        await runtime.store.ping()  # bounded by the store's own timeout
        checks["database"] = "ok"
    except Exception as exc:
        # Only the exception's type goes out: its message may quote the database URL.
        log.warning("readiness: records database unreachable: %s", type(exc).__name__)
        checks["database"] = f"unreachable ({type(exc).__name__})"
    try:
        # The RPC timeout does not cover establishing the connection: bound the whole call.
        async with asyncio.timeout(_TEMPORAL_TIMEOUT.total_seconds()):
            serving = await runtime.service.client.service_client.check_health(
                timeout=_TEMPORAL_TIMEOUT
            )
        checks["temporal"] = "ok" if serving else "not serving"
    except Exception as exc:
        log.warning("readiness: Temporal unreachable: %s", exc)
        checks["temporal"] = f"unreachable ({type(exc).__name__})"
    failing = [f"{name} {state}" for name, state in checks.items() if state != "ok"]
    if not failing:
        return Ready(status="ready", checks=checks)
    body = Ready(status="not ready", checks=checks).model_dump()
    return JSONResponse({"detail": "not ready: " + "; ".join(failing), **body}, status_code=503)
