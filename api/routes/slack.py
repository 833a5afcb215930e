"""Slack's requests, mounted: ``/slack/interactions`` (buttons, modal submissions) and
``/slack/commands`` (``/incident``). The handling lives with the rest of the Slack integration
in ``adapters.slack``; here each request's signature is checked before its body is parsed, and
the answers become HTTP."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response

from adapters.clock import utcnow
from adapters.slack.inbound.dispatch import SlackInbound
from adapters.slack.inbound.payloads import BadRequest
from adapters.slack.signature import SignatureRefused, verify
from api.deps import ConfigDep, RuntimeDep
from api.routes.oncall import SlackOnCall

router = APIRouter(prefix="/slack", tags=["slack"])


async def signed_body(request: Request, config: ConfigDep) -> bytes:
    """The raw body, once its signature and age are checked; 401 otherwise."""
    secret = config.slack_signing_secret
    body = await request.body()
    try:
        verify(
            secret.get_secret_value() if secret is not None else None,
            request.headers.get("X-Slack-Request-Timestamp", ""),
            request.headers.get("X-Slack-Signature", ""),
            body,
            time.time(),
        )
    except SignatureRefused as exc:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=str(exc)) from None
    return body


SignedBody = Annotated[bytes, Depends(signed_body)]


async def _inbound(request: Request, runtime: RuntimeDep, config: ConfigDep) -> SlackInbound:
    """One per app: it keeps the work a request left running until it has answered."""
    inbound = getattr(request.app.state, "slack_inbound", None)
    if not isinstance(inbound, SlackInbound):
        roster = runtime.roster
        inbound = SlackInbound(
            runtime.service,
            runtime.store,
            api=runtime.slack,
            roster=roster.current if roster is not None else None,
            clock=utcnow,
            hooks_url=config.slack_hooks_url,
            statements=runtime.statements,
            reviews=runtime.reviews,
            drills=runtime.drills,
            oncall=SlackOnCall(runtime),
        )
        request.app.state.slack_inbound = inbound
    return inbound


Inbound = Annotated[SlackInbound, Depends(_inbound)]


def _unprocessable(exc: BadRequest) -> HTTPException:
    return HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, detail=exc.errors)


# The body is read raw (its signature covers the exact bytes), so FastAPI cannot see it: the
# spec is told what Slack sends, and the headers that sign it.
_SIGNED_BY = [
    {
        "name": name,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }
    for name, description in (
        ("X-Slack-Request-Timestamp", "seconds since 1970; older than five minutes is refused"),
        ("X-Slack-Signature", "v0=HMAC-SHA256 of v0:{timestamp}:{body} with the signing secret"),
    )
]


def _form(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "parameters": _SIGNED_BY,
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        },
    }


_INTERACTION = _form(
    {
        "type": "object",
        "properties": {"payload": {"type": "string", "description": "the interaction, as JSON"}},
        "required": ["payload"],
    }
)
_COMMAND = _form(
    {
        "type": "object",
        "properties": {
            name: {"type": "string"}
            for name in (
                "command",
                "text",
                "user_id",
                "user_name",
                "channel_id",
                "trigger_id",
                "response_url",
            )
        },
        "required": ["command", "user_id", "channel_id"],
    }
)


@router.post("/interactions", openapi_extra=_INTERACTION)
async def interactions(body: SignedBody, inbound: Inbound) -> JSONResponse:
    try:
        return JSONResponse(await inbound.interaction(body))
    except BadRequest as exc:
        raise _unprocessable(exc) from None


@router.post("/commands", openapi_extra=_COMMAND)
async def commands(body: SignedBody, inbound: Inbound) -> Response:
    try:
        answer = await inbound.command(body)
    except BadRequest as exc:
        raise _unprocessable(exc) from None
    return Response(status_code=200) if answer is None else JSONResponse(answer)
