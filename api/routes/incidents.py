"""Incidents: declare, list, read, act on, and read the timeline of."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError

from adapters.clock import utcnow
from alerts.catalog import Catalog
from api.config import API_PREFIX
from api.deps import Authenticated, RuntimeDep, ServiceDep, StoreDep, may
from api.schemas.common import INCIDENT_ID_PATTERN
from api.schemas.incidents import (
    AckRequest,
    AckTaken,
    ChangeLevelRequest,
    DeclareRequest,
    IncidentList,
    IncidentOut,
    MitigateRequest,
    Paging,
    PostUpdateRequest,
    ResolveRequest,
    Timeline,
)
from domain.access import Permission, Principal
from domain.errors import IncidentNotFound
from domain.models import Actor, Declaration, Incident, Level, Status
from domain.rules import targets

PREFIX = f"{API_PREFIX}/incidents"

router = APIRouter(prefix=PREFIX, tags=["incidents"], dependencies=[Authenticated])

IncidentId = Annotated[str, Path(pattern=INCIDENT_ID_PATTERN, examples=["20261123-k7qz"])]


def _out(incident: Incident) -> IncidentOut:
    return IncidentOut.of(incident, utcnow())


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentOut)
async def declare_incident(
    who: Annotated[Principal, may(Permission.RESPOND)],
    body: DeclareRequest,
    incidents: ServiceDep,
    runtime: RuntimeDep,
    response: Response,
) -> IncidentOut:
    """Declare an incident: its workflow starts and pages the lead function at once."""
    _known_service(body.service, runtime.catalog)
    incident = await incidents.declare(
        Declaration(
            title=body.title,
            description=body.description,
            level=body.level,
            type=body.type,
            service=body.service or None,
            drill=body.drill,
            declared_by=Actor(name=who.acting(body.by)),
        )
    )
    response.headers["Location"] = f"{PREFIX}/{incident.id}"
    out = _out(incident)
    if runtime.roster is not None:
        # The same rule and roster the page itself is sent by (ADR 0003): the answer says who
        # is being paged before the page has gone out.
        pages = targets.declaration_pages(incidents.playbooks.matrix, incident.type)
        out.paging = [
            Paging(name=r.person.name, function=r.function, tier=r.tier)
            for r in targets.recipients((await runtime.on_call(utcnow())).roster, pages)
        ]
    return out


def _known_service(service: str | None, catalog: Catalog) -> None:
    """A service the catalog does not know would reach the status page as a raw key and as a
    component ``status.json`` does not list: refused, naming the ones it knows."""
    if not service or service in catalog.services:
        return
    known = ", ".join(catalog.services)
    raise RequestValidationError(
        [
            {
                "loc": ("body", "service"),
                "msg": f"unknown service {service!r}; the catalog's services are {known}",
                "type": "value_error",
            }
        ]
    )


@router.get("", response_model=IncidentList)
async def list_incidents(
    store: StoreDep,
    status: Annotated[list[Status] | None, Query(description="repeat to match any")] = None,
    is_open: Annotated[
        bool | None, Query(alias="open", description="only open (or only resolved) ones")
    ] = None,
    level: Level | None = None,
    drill: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> IncidentList:
    """Incidents from the records, newest first."""
    if is_open is not None:
        wanted = [s for s in Status if s.is_open is is_open]
        status = [s for s in status or wanted if s in wanted]
        if not status:
            return IncidentList(items=[], total=0)
    items = await store.list_incidents(
        status=status, level=level, drill=drill, limit=limit, offset=offset
    )
    total = await store.count_incidents(status=status, level=level, drill=drill)
    return IncidentList(items=[_out(incident) for incident in items], total=total)


@router.get("/{incident_id}", response_model=IncidentOut)
async def get_incident(
    incident_id: IncidentId, store: StoreDep, incidents: ServiceDep
) -> IncidentOut:
    """The live state while the incident is open; the record once it is resolved."""
    record = await store.get_incident(incident_id)
    if record is not None and not record.status.is_open:
        return _out(record)
    try:
        return _out(await incidents.current(incident_id))
    except IncidentNotFound:
        # The workflow's history is gone (retention) but the record remains.
        if record is None:
            raise
        return _out(record)


@router.post(
    "/{incident_id}/ack",
    response_model=IncidentOut,
    responses={
        202: {
            "model": AckTaken,
            "description": "no worker applied it in time; kept for the next one, counted "
            "from the press",
        }
    },
)
async def acknowledge_incident(
    who: Annotated[Principal, may(Permission.RESPOND)],
    incident_id: IncidentId,
    body: AckRequest,
    incidents: ServiceDep,
) -> IncidentOut:
    """First acknowledgement; a second one is a 409 that names who acknowledged first. When
    no worker answers in time (restarting, stalled) the acknowledgement is kept and applied
    when one does: 202, stamped with the press (ADR 0038)."""
    return _out(await incidents.acknowledge(incident_id, Actor(name=who.acting(body.by))))


PartnerName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["cloudhost"])]


@router.post("/{incident_id}/partners/{partner}/ack", response_model=IncidentOut)
async def acknowledge_partner(
    who: Annotated[Principal, may(Permission.RESPOND)],
    incident_id: IncidentId,
    partner: PartnerName,
    body: AckRequest,
    incidents: ServiceDep,
) -> IncidentOut:
    """An external partner answered (``by``: its contact). Judged against the partner's own
    respond_within; the incident itself stays unacknowledged. A partner not engaged is a
    422, a second answer a 409."""
    return _out(
        await incidents.acknowledge_partner(incident_id, partner, Actor(name=who.acting(body.by)))
    )


@router.post("/{incident_id}/level", response_model=IncidentOut)
async def change_incident_level(
    who: Annotated[Principal, may(Permission.LEAD)],
    incident_id: IncidentId,
    body: ChangeLevelRequest,
    incidents: ServiceDep,
) -> IncidentOut:
    return _out(
        await incidents.change_level(
            incident_id, body.level, body.reason, Actor(name=who.acting(body.by))
        )
    )


@router.post("/{incident_id}/updates", response_model=IncidentOut)
async def post_incident_update(
    who: Annotated[Principal, may(Permission.RESPOND)],
    incident_id: IncidentId,
    body: PostUpdateRequest,
    incidents: ServiceDep,
) -> IncidentOut:
    return _out(
        await incidents.post_update(incident_id, body.text, Actor(name=who.acting(body.by)))
    )


@router.post("/{incident_id}/mitigate", response_model=IncidentOut)
async def mitigate_incident(
    who: Annotated[Principal, may(Permission.RESPOND)],
    incident_id: IncidentId,
    body: MitigateRequest,
    incidents: ServiceDep,
) -> IncidentOut:
    return _out(await incidents.mitigate(incident_id, Actor(name=who.acting(body.by)), body.note))


@router.post("/{incident_id}/resolve", response_model=IncidentOut)
async def resolve_incident(
    who: Annotated[Principal, may(Permission.RESPOND)],
    incident_id: IncidentId,
    body: ResolveRequest,
    incidents: ServiceDep,
) -> IncidentOut:
    return _out(await incidents.resolve(incident_id, Actor(name=who.acting(body.by)), body.summary))


@router.get("/{incident_id}/timeline", response_model=Timeline)
async def incident_timeline(
    incident_id: IncidentId, store: StoreDep, incidents: ServiceDep
) -> Timeline:
    """The recorded timeline, oldest first."""
    events = await store.timeline(incident_id)
    if not events and await store.get_incident(incident_id) is None:
        # Nothing recorded yet: either unknown (404 from here) or just declared.
        await incidents.current(incident_id)
    return Timeline(items=events)
