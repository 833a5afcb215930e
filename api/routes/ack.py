"""Acknowledge links of e-mail and push pages (ADR 0024): ``GET /ack/{token}`` shows the
incident and a button and changes nothing, since mail scanners follow links; the button's
POST acknowledges as the person the link was sent to, stamped at the press.

The token is signed and names one incident and one person; it is refused once the incident
is resolved. A tampered or foreign token is 403, an incident that is over 410, and neither
says anything about any incident."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import HTMLResponse

from adapters.acklinks import AckClaim, AckLinks
from api.deps import ConfigDep, RuntimeDep
from api.routes.status import templates
from domain.errors import AcknowledgementTaken, IncidentConflict
from domain.models import Actor, Incident, Status

router = APIRouter(tags=["paging"])

Token = Annotated[str, Path(min_length=10, max_length=1000, description="the signed token")]
_ANSWERS: dict[int | str, dict[str, str]] = {
    403: {"description": "a tampered token, or one this deployment never signed"},
    404: {"description": "acknowledge links are off, or the incident is unknown"},
    410: {"description": "the incident is resolved: the link has expired"},
    503: {"description": "the workflow engine is unavailable; see Retry-After"},
}


def _page(
    request: Request,
    config: ConfigDep,
    heading: str,
    *lines: str,
    code: int = status.HTTP_200_OK,
    tone: str = "good",
    form: dict[str, object] | None = None,
) -> Response:
    return templates.TemplateResponse(
        request,
        "notice.html",
        {
            "page_name": config.status_page_name,
            "heading": heading,
            "lines": lines,
            "tone": tone,
            "form": form,
        },
        status_code=code,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def _checked(
    request: Request, runtime: RuntimeDep, config: ConfigDep, token: str
) -> tuple[AckClaim, Incident] | Response:
    if config.ack_secret is None:
        return _page(request, config, "Not found", "Acknowledge links are off here.",
                     code=status.HTTP_404_NOT_FOUND, tone="bad")  # fmt: skip
    claim = AckLinks(config.ack_secret, config.public_url).read(token)
    if claim is None:
        return _page(
            request, config, "This link is not valid",
            "It was changed on its way, or another deployment sent it. Acknowledge in Slack "
            "or with tocsin ack instead.",
            code=status.HTTP_403_FORBIDDEN, tone="bad",
        )  # fmt: skip
    incident = await runtime.store.get_incident(claim.incident_id)
    if incident is None:
        return _page(request, config, "Not found", "No such incident.",
                     code=status.HTTP_404_NOT_FOUND, tone="bad")  # fmt: skip
    if incident.status is Status.RESOLVED:
        return _page(
            request, config, "This link has expired",
            f"Incident {incident.id} ({incident.title}) is resolved.",
            code=status.HTTP_410_GONE, tone="bad",
        )  # fmt: skip
    return claim, incident


def _summary(incident: Incident) -> str:
    return f"Level {incident.level} · {incident.id} · {incident.status.value}"


@router.get(
    "/ack/{token}",
    response_class=HTMLResponse,
    summary="An acknowledge link: the incident and a button; changes nothing",
    responses=_ANSWERS,
)
async def ack_page(
    request: Request, runtime: RuntimeDep, config: ConfigDep, token: Token
) -> Response:
    checked = await _checked(request, runtime, config, token)
    if isinstance(checked, Response):
        return checked
    claim, incident = checked
    if incident.acknowledged_at is not None:
        return _page(request, config, incident.title, _summary(incident),
                     f"Acknowledged by {incident.acknowledged_by}.")  # fmt: skip
    return _page(
        request, config, incident.title, _summary(incident), incident.description,
        f"Paged: {claim.person}.",
        form={"action": f"{config.public_url.rstrip('/')}/ack/{token}", "hidden": {},
              "button": f"Acknowledge as {claim.person}"},
    )  # fmt: skip


@router.post(
    "/ack/{token}",
    response_class=HTMLResponse,
    summary="Acknowledge as the person the link was sent to",
    responses={
        **_ANSWERS,
        202: {"description": "taken, and applied when a worker answers (counted from the press)"},
    },
)
async def ack_press(
    request: Request, runtime: RuntimeDep, config: ConfigDep, token: Token
) -> Response:
    checked = await _checked(request, runtime, config, token)
    if isinstance(checked, Response):
        return checked
    claim, incident = checked
    person = runtime.people.current().person(claim.person)
    by = Actor(name=claim.person, slack_user_id=person.slack_user_id if person else None)
    try:
        # Stamped with the press by the service's clock (the API's), as a Slack button is.
        acked = await runtime.service.acknowledge(incident.id, by)
    except IncidentConflict as exc:
        said = str(exc)
        return _page(request, config, incident.title, said[:1].upper() + said[1:] + ".")
    except AcknowledgementTaken as exc:
        return _page(
            request, config, "Acknowledgement taken", f"{incident.title}: {_summary(incident)}",
            f"Taken from {exc.by} at {exc.acted_at:%Y-%m-%d %H:%M:%S} UTC. tocsin is slow to "
            "answer right now; it applies your acknowledgement as soon as it can, counted "
            "from your press, unless someone acknowledged first.",
            code=status.HTTP_202_ACCEPTED,
        )  # fmt: skip
    when = f"{acked.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC"
    return _page(
        request, config, "Acknowledged", f"{acked.title}: {_summary(acked)}",
        f"Acknowledged by {acked.acknowledged_by} at {when}.",
    )  # fmt: skip
