"""The command centre, its live stream, and the incident page with its forms."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sse_starlette import EventSourceResponse

from adapters.clock import utcnow
from api.auth import principal_of
from api.console.core import Console, ConsoleDep, FormDep, act, back, fields, templates
from api.console.views import next_step
from api.routes import drills as drill_api
from api.routes import incidents as api
from api.routes import reviews as review_api
from api.routes import statements as statement_api
from api.schemas.common import INCIDENT_ID_PATTERN
from api.schemas.drills import ClassifyRequest
from api.schemas.incidents import (
    AckRequest,
    ChangeLevelRequest,
    DeclareRequest,
    IncidentOut,
    MitigateRequest,
    PostUpdateRequest,
    ResolveRequest,
)
from api.schemas.statements import ApproveRequest, DraftRequest, RejectRequest
from domain.models import IncidentType, Level, Status

router = APIRouter()

# How often the stream looks for a change, and how long one stream lasts before the browser
# reconnects (EventSource does so by itself): a revoked token is noticed by then too.
POLL_SECONDS = 1.0
STREAM_SECONDS = 300.0
RECHECK_SECONDS = 10.0
OPEN = [s for s in Status if s.is_open]
IncidentId = Annotated[str, Path(pattern=INCIDENT_ID_PATTERN)]
MessageId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,100}$")]

ACTIONS: dict[str, Callable[..., Any]] = {
    "declare": api.declare_incident,
    "ack": api.acknowledge_incident,
    "level": api.change_incident_level,
    "post_update": api.post_incident_update,
    "mitigate": api.mitigate_incident,
    "resolve": api.resolve_incident,
    "draft": statement_api.draft_message,
    "approve": statement_api.approve_message,
    "reject": statement_api.reject_message,
    "edit_review": review_api.edit_review,
    "classify": drill_api.classify,
}


def allowed(console: Console) -> dict[str, bool]:
    """Which forms this principal sees: a button it could not use is not shown."""
    return {name: console.can(endpoint) for name, endpoint in ACTIONS.items()}


async def open_incidents(console: Console) -> list[IncidentOut]:
    now = utcnow()
    found = await console.runtime.store.list_incidents(status=OPEN, limit=200)
    return [IncidentOut.of(incident, now) for incident in found]


def board(console: Console, incidents: list[IncidentOut]) -> dict[str, Any]:
    now = utcnow()
    playbooks = console.runtime.service.playbooks
    return {
        "incidents": incidents,
        "steps": {i.id: next_step(i, playbooks, now) for i in incidents},
        "can": allowed(console),
        "levels": list(Level),
        "types": list(IncidentType),
        "services": list(console.runtime.catalog.services),
    }


@router.get("/console", response_class=HTMLResponse)
async def command_centre(console: ConsoleDep) -> HTMLResponse:
    return console.page("index.html", **board(console, await open_incidents(console)))


def _signature(console: Console, incidents: list[IncidentOut]) -> str:
    """Changes when what the board shows changes, not with the clock."""
    now = utcnow()
    playbooks = console.runtime.service.playbooks
    parts = [
        f"{i.id}:{i.status}:{i.level}:{i.acknowledged_by}:{i.window_breached}:{len(i.paged)}:"
        f"{i.escalation_count}:{i.last_update_at}:{next_step(i, playbooks, now)}"
        for i in incidents
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


Frames = tuple[str, dict[str, str]]  # what changed, judged by a signature; events to send


def _stream(
    console: Console, request: Request, frames: Callable[[], Awaitable[Frames]]
) -> EventSourceResponse:
    """Sends ``frames``' events each time its signature changes, until the browser leaves,
    the token is revoked or the stream has lasted ``STREAM_SECONDS`` (EventSource then
    reconnects by itself)."""

    async def stream() -> AsyncIterator[dict[str, str]]:
        last = None
        loop = asyncio.get_running_loop()
        ends = loop.time() + STREAM_SECONDS
        checked = loop.time()
        while loop.time() < ends and not await request.is_disconnected():
            if loop.time() - checked > RECHECK_SECONDS:
                checked = loop.time()
                token = console.session.token or ""
                if await principal_of(request.app, console.config, token) is None:
                    return
            signature, events = await frames()
            if signature != last:
                last = signature
                for name, html in events.items():
                    yield {"event": name, "data": html}
            await asyncio.sleep(POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})


@router.get("/console/events")
async def events(console: ConsoleDep, request: Request) -> EventSourceResponse:
    """The open incidents' board as server-sent events: each change sends the board anew."""
    fragment = templates.get_template("console/_board.html")

    async def frames() -> Frames:
        incidents = await open_incidents(console)
        html = fragment.render(console=console, now=utcnow(), **board(console, incidents))
        return _signature(console, incidents), {"board": html}

    return _stream(console, request, frames)


@router.get("/console/incidents/{incident_id}/events")
async def incident_events(
    console: ConsoleDep, request: Request, incident_id: IncidentId
) -> EventSourceResponse:
    """An incident page's facts and timeline as server-sent events, from the records."""
    facts = templates.get_template("console/_incident_facts.html")
    lines = templates.get_template("console/_timeline.html")
    store, playbooks = console.runtime.store, console.runtime.service.playbooks

    async def frames() -> Frames:
        record = await store.get_incident(incident_id)
        if record is None:
            return "", {}
        now = utcnow()
        incident = IncidentOut.of(record, now)
        timeline = await store.timeline(incident_id)
        review = await store.reviews.of_incident(incident_id)
        step = next_step(incident, playbooks, now)
        signature = (
            f"{record.version}:{len(timeline)}:{review and review.status}:{review and review.owner}"
            f":{step}"
        )
        context = {"console": console, "now": now, "incident": incident, "step": step}
        return signature, {
            "facts": facts.render(**context, review=review),
            "timeline": lines.render(**context, timeline=timeline),
        }

    return _stream(console, request, frames)


@router.post("/console/incidents")
async def declare(console: ConsoleDep, form: FormDep) -> RedirectResponse:
    values = fields(form, "title", "description", "level", "type", "service")
    incident = await act(
        console,
        api.declare_incident,
        lambda: {
            "who": console.principal,
            "body": DeclareRequest.model_validate(values),
            "incidents": console.runtime.service,
            "runtime": console.runtime,
            "response": Response(),
        },
    )
    return back(form, f"/console/incidents/{incident.id}")


@router.post("/console/incidents/{incident_id}/{action}")
async def incident_action(
    console: ConsoleDep, form: FormDep, incident_id: IncidentId, action: str = Path()
) -> RedirectResponse:
    """Acknowledge, change level, post an update, mitigate or resolve."""
    who, service = console.principal, console.runtime.service
    common = {"who": who, "incident_id": incident_id, "incidents": service}
    if action == "ack":
        await act(console, api.acknowledge_incident, lambda: {**common, "body": AckRequest()})
    elif action == "level":
        body = fields(form, "level", "reason")
        await act(
            console,
            api.change_incident_level,
            lambda: {**common, "body": ChangeLevelRequest.model_validate(body)},
        )
    elif action == "update":
        text = fields(form, "text")
        await act(
            console,
            api.post_incident_update,
            lambda: {**common, "body": PostUpdateRequest.model_validate(text)},
        )
    elif action == "mitigate":
        note = fields(form, "note")
        await act(
            console,
            api.mitigate_incident,
            lambda: {**common, "body": MitigateRequest.model_validate(note)},
        )
    elif action == "resolve":
        summary = fields(form, "summary")
        await act(
            console,
            api.resolve_incident,
            lambda: {**common, "body": ResolveRequest.model_validate(summary)},
        )
    elif action == "classify":
        triage = fields(form, "level", "type")
        await act(
            console,
            drill_api.classify,
            lambda: {
                "who": who,
                "incident_id": incident_id,
                "body": ClassifyRequest.model_validate(triage),
                "runtime": console.runtime,
            },
        )
    elif action == "messages":
        await _draft(console, incident_id, fields(form, "stage", "body"))
    else:
        return RedirectResponse(f"/console/incidents/{incident_id}", status_code=303)
    return back(form, f"/console/incidents/{incident_id}")


async def _draft(console: Console, incident_id: str, values: dict[str, str]) -> None:
    await act(
        console,
        statement_api.draft_message,
        lambda: {
            "who": console.principal,
            "incident_id": incident_id,
            "body": DraftRequest.model_validate(values),
            "runtime": console.runtime,
            "response": Response(),
        },
    )


@router.get("/console/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(console: ConsoleDep, incident_id: IncidentId) -> HTMLResponse:
    runtime = console.runtime
    incident = await act(
        console,
        api.get_incident,
        lambda: {"incident_id": incident_id, "store": runtime.store, "incidents": runtime.service},
    )
    timeline = await runtime.store.timeline(incident_id)
    messages = await statement_api.list_messages(incident_id, runtime, runtime.store)
    review = await runtime.store.reviews.of_incident(incident_id)
    return console.page(
        "incident.html",
        incident=incident,
        step=next_step(incident, runtime.service.playbooks, utcnow()),
        timeline=timeline,
        messages=messages.items,
        review=review,
        can=allowed(console),
        levels=list(Level),
        types=list(IncidentType),
        stages=["investigating", "identified", "monitoring", "resolved"],
    )


@router.post("/console/messages/{message_id}/{action}")
async def message_action(
    console: ConsoleDep, form: FormDep, message_id: MessageId, action: str = Path()
) -> RedirectResponse:
    """Approve a customer message (as drafted, or as edited here) or reject it."""
    common = {"who": console.principal, "message_id": message_id, "runtime": console.runtime}
    if action == "approve":
        values = fields(form, "body")
        await act(
            console,
            statement_api.approve_message,
            lambda: {**common, "body": ApproveRequest.model_validate(values)},
        )
    elif action == "reject":
        values = fields(form, "reason")
        await act(
            console,
            statement_api.reject_message,
            lambda: {**common, "body": RejectRequest.model_validate(values)},
        )
    return back(form, "/console")
