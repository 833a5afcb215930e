"""Customer statements: drafted from the templates, approved (or edited and approved, or
rejected) by the communications lead, corrected after publication (DESIGN.md §3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from api.config import API_PREFIX
from api.deps import Authenticated, RuntimeDep, StoreDep, may
from api.schemas.common import INCIDENT_ID_PATTERN
from api.schemas.statements import (
    ApproveRequest,
    CorrectRequest,
    DraftRequest,
    RejectRequest,
    StatementList,
    StatementOut,
)
from domain.access import Permission, Principal
from domain.errors import IncidentNotFound
from domain.models import Actor, Incident
from domain.statements import Statement

router = APIRouter(prefix=API_PREFIX, tags=["customer messages"], dependencies=[Authenticated])

IncidentId = Annotated[str, Path(pattern=INCIDENT_ID_PATTERN, examples=["20261123-k7qz"])]
MessageId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._-]{1,100}-m[0-9]{1,6}$", examples=["20261123-k7qz-m1"])
]


async def _out(runtime: RuntimeDep, message: Statement) -> StatementOut:
    deliveries = await runtime.store.statements.deliveries(message.id)
    return StatementOut.of(message, deliveries)


async def _incident(runtime: RuntimeDep, incident_id: str) -> Incident:
    record = await runtime.store.get_incident(incident_id)
    if record is not None and not record.status.is_open:
        return record
    try:
        return await runtime.service.current(incident_id)
    except IncidentNotFound:
        if record is None:
            raise
        return record


@router.get("/incidents/{incident_id}/messages", response_model=StatementList)
async def list_messages(
    incident_id: IncidentId, runtime: RuntimeDep, store: StoreDep
) -> StatementList:
    """Every statement of the incident, oldest first, with where each was delivered."""
    messages = await store.statements.of_incident(incident_id)
    if not messages:
        await _incident(runtime, incident_id)  # 404 for an unknown incident
    return StatementList(items=[await _out(runtime, m) for m in messages])


@router.post(
    "/incidents/{incident_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=StatementOut,
)
async def draft_message(
    who: Annotated[Principal, may(Permission.COMMUNICATE)],
    incident_id: IncidentId,
    body: DraftRequest,
    runtime: RuntimeDep,
    response: Response,
) -> StatementOut:
    """A statement drafted for the incident (from the stage's template when no body is
    given); the communications lead is asked to approve it."""
    incident = await _incident(runtime, incident_id)
    message = await runtime.statements.draft(
        incident, body.stage, Actor(name=who.acting(body.by)), body.body
    )
    response.headers["Location"] = f"{API_PREFIX}/incidents/{incident_id}/messages"
    return await _out(runtime, message)


@router.post("/messages/{message_id}/approve", response_model=StatementOut)
async def approve_message(
    who: Annotated[Principal, may(Permission.COMMUNICATE)],
    message_id: MessageId,
    body: ApproveRequest,
    runtime: RuntimeDep,
) -> StatementOut:
    """Approve a draft, as it is or with an edited ``body``: it is published at once. A 409
    names who approved it first."""
    message = await runtime.statements.approve(
        message_id, Actor(name=who.acting(body.by)), body.body
    )
    return await _out(runtime, message)


@router.post("/messages/{message_id}/reject", response_model=StatementOut)
async def reject_message(
    who: Annotated[Principal, may(Permission.COMMUNICATE)],
    message_id: MessageId,
    body: RejectRequest,
    runtime: RuntimeDep,
) -> StatementOut:
    """Reject a draft with a reason; a fresh draft is asked for, with the same due time."""
    message = await runtime.statements.reject(
        message_id, body.reason, Actor(name=who.acting(body.by))
    )
    return await _out(runtime, message)


@router.post("/messages/{message_id}/correct", response_model=StatementOut)
async def correct_message(
    who: Annotated[Principal, may(Permission.COMMUNICATE)],
    message_id: MessageId,
    body: CorrectRequest,
    runtime: RuntimeDep,
) -> StatementOut:
    """Publish a correction of a published statement; the original stays, superseded."""
    message = await runtime.statements.correct(
        message_id, body.body, Actor(name=who.acting(body.by))
    )
    return await _out(runtime, message)
