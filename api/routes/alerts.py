"""The Alertmanager webhook: one notification per alert group, version 4 of the payload."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from alerts.models import WebhookPayload
from api.config import API_PREFIX
from api.deps import ConfigDep, IntakeAuthenticated, RuntimeDep
from api.quiet import hold_if_quiet
from api.schemas.alerts import AcceptedOut, GroupOut, IntakeAccepted, IntakeResponse
from domain.errors import TemporalUnavailable
from domain.statements import Maintenance
from workflows.ids import maintenance_workflow_id

router = APIRouter(prefix=f"{API_PREFIX}/alerts", tags=["alerts"])
WEBHOOK_PATH = f"{API_PREFIX}/alerts/alertmanager"
# Alertmanager does not retry a 4xx, so the 413 must tell the operator how to fix it for good.
TOO_LARGE_HINT = (
    "set max_alerts in Alertmanager's webhook_config (alerts beyond it are counted in "
    "truncatedAlerts) or raise TOCSIN_INTAKE_MAX_BODY_BYTES"
)


_BODY_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": WebhookPayload.model_json_schema()}},
    }
}


@router.post(
    "/alertmanager",
    response_model=IntakeResponse,
    responses={
        202: {
            "model": IntakeAccepted,
            "description": "stored by Temporal for the group's incident, applied by a worker; "
            "or held by a maintenance window on all its services (outcome suppressed), to "
            "open its incident when the window ends if it still fires",
        }
    },
    dependencies=[IntakeAuthenticated],
    openapi_extra=_BODY_SCHEMA,
)
async def alertmanager_webhook(
    request: Request,
    runtime: RuntimeDep,
    config: ConfigDep,
    wait: Annotated[
        bool | None,
        Query(
            description="wait for the incident's answer (opened, joined, duplicate...) "
            "instead of returning once Temporal has stored the notification"
        ),
    ] = None,
) -> IntakeResponse | JSONResponse:
    """Open, join, reopen or clear the incident of the notification's alert group.

    The body is read here rather than declared as a parameter so that the token is checked
    before anything in the body is looked at. A 5xx means "try again" to Alertmanager; a 4xx
    means the payload will never be accepted."""
    try:
        payload = WebhookPayload.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None
    for alert in payload.alerts:
        runtime.intake.received[alert.status.value] += 1
    waiting = config.intake_waits if wait is None else wait
    try:
        async with asyncio.timeout(config.intake_timeout_seconds):
            # A component under maintenance: its window keeps the notification instead.
            window = await hold_if_quiet(runtime, payload)
            if window is None and not waiting:
                accepted = await runtime.service.accept_alerts(payload, runtime.catalog)
            elif window is None:
                result = await runtime.service.receive_alerts(payload, runtime.catalog)
    except TimeoutError:
        runtime.intake.unavailable += 1
        raise TemporalUnavailable(
            f"no answer from the workflow engine within {config.intake_timeout_seconds:g}s"
        ) from None
    except TemporalUnavailable:
        runtime.intake.unavailable += 1
        raise
    if window is not None:
        return _suppressed(payload, window)
    if not waiting:
        runtime.intake.accepted += 1
        body = IntakeAccepted(
            groups=[
                AcceptedOut(
                    receiver=payload.receiver,
                    group_key=payload.groupKey,
                    outcome="accepted" if accepted.workflow_id else "ignored",
                    workflow_id=accepted.workflow_id,
                    alerts=accepted.alerts,
                )
            ]
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=202)
    if result.outcome is not None and result.deduplicated:
        runtime.intake.deduplicated += 1
    incident = result.incident
    return IntakeResponse(
        groups=[
            GroupOut(
                receiver=payload.receiver,
                group_key=payload.groupKey,
                outcome=result.outcome.value if result.outcome else "ignored",
                incident_id=incident.id if incident else None,
                level=incident.level if incident else None,
                status=incident.status if incident else None,
                new_firing=result.new_firing,
                new_resolved=result.new_resolved,
                duplicates=result.duplicates,
                grading=incident.grading if incident else None,
            )
        ]
    )


def _suppressed(payload: WebhookPayload, window: Maintenance) -> JSONResponse:
    body = IntakeAccepted(
        groups=[
            AcceptedOut(
                receiver=payload.receiver,
                group_key=payload.groupKey,
                outcome="suppressed",
                workflow_id=maintenance_workflow_id(window.id),
                alerts=len(payload.alerts),
            )
        ]
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=202)
