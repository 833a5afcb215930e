"""Slack's requests: button presses and modal submissions (``/slack/interactions``) and the
``/incident`` slash command (``/slack/commands``).

Each request's v0 signature is checked before its body is parsed. Slack waits 3 seconds for an
answer, so a handler only asks Temporal for the change and replies; the card update, channel
lines and pages follow from the workflow's activities.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import aiohttp
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Discriminator, Field, Tag, TypeAdapter, ValidationError
from slack_sdk.errors import SlackApiError

from api.deps import RuntimeDep, SettingsDep
from tocsin.domain import Actor, Incident, IncidentType, Level, utcnow
from tocsin.notify.slack import templates
from tocsin.notify.slack.notifier import incident_of_channel_ref
from workflows.client import (
    IncidentConflict,
    IncidentNotFound,
    IncidentService,
    InvalidAction,
    TemporalUnavailable,
)

log = logging.getLogger(__name__)

router = APIRouter(prefix="/slack", tags=["slack"])

MAX_AGE_SECONDS = 300
# Slack gives up after 3 s; leave room for the network both ways.
ANSWER_WITHIN = 2.5


# ------------------------------------------------------------------------------ signature


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature: HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


async def signed_body(request: Request, settings: SettingsDep) -> bytes:
    """The raw body, once its signature and age are checked; 401 otherwise."""
    secret = settings.slack_signing_secret
    if secret is None or not secret.get_secret_value():
        raise _refused("Slack is not configured here: set TOCSIN_SLACK_SIGNING_SECRET")
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    given = request.headers.get("X-Slack-Signature", "")
    if not timestamp or not given:
        raise _refused("missing Slack signature headers")
    # isdigit() alone accepts digits int() refuses ("²"); Slack's are ASCII.
    if (
        not (timestamp.isascii() and timestamp.isdigit())
        or abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS
    ):
        raise _refused("stale or malformed Slack request timestamp")
    body = await request.body()
    expected = signature(secret.get_secret_value(), timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise _refused("invalid Slack signature")
    return body


def _refused(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=detail)


SignedBody = Annotated[bytes, Depends(signed_body)]


# ------------------------------------------------------------------------------- payloads


class SlackUser(BaseModel):
    id: str = Field(min_length=1, max_length=50)
    username: str | None = None
    name: str | None = None


class SlackChannel(BaseModel):
    id: str


class BlockAction(BaseModel):
    action_id: str
    value: str | None = None


class BlockActions(BaseModel):
    type: Literal["block_actions"]
    user: SlackUser
    actions: list[BlockAction] = Field(min_length=1)
    trigger_id: str | None = None
    channel: SlackChannel | None = None


class View(BaseModel):
    callback_id: str
    private_metadata: str = ""
    state: dict[str, dict[str, dict[str, dict[str, Any]]]] = Field(default_factory=dict)

    def value(self, block_id: str) -> str:
        """The value of an input block (text, or the selected option)."""
        element = self.state.get("values", {}).get(block_id, {}).get("value", {})
        selected = element.get("selected_option")
        if isinstance(selected, dict):
            return str(selected.get("value") or "")
        return str(element.get("value") or "").strip()


class ViewSubmission(BaseModel):
    type: Literal["view_submission"]
    user: SlackUser
    view: View


class OtherInteraction(BaseModel):
    """Interactions tocsin does not act on (view_closed, shortcuts...)."""

    type: str


def _interaction_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("block_actions", "view_submission") else "other"


# Dispatched on ``type``: a block_actions without its actions is refused, not taken for one of
# the interactions tocsin ignores (a plain union would fall back to ``OtherInteraction``).
_Interaction: TypeAdapter[BlockActions | ViewSubmission | OtherInteraction] = TypeAdapter(
    Annotated[
        Annotated[BlockActions, Tag("block_actions")]
        | Annotated[ViewSubmission, Tag("view_submission")]
        | Annotated[OtherInteraction, Tag("other")],
        Discriminator(_interaction_kind),
    ]
)


class SlashCommand(BaseModel):
    command: str
    text: str = ""
    user_id: str = Field(min_length=1)
    user_name: str | None = None
    channel_id: str = Field(min_length=1)
    trigger_id: str | None = None


def _form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise _unprocessable("body", "not UTF-8 form data") from None
    return {key: values[0] for key, values in fields.items()}


def _unprocessable(field: str, problem: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": ["body", field], "msg": problem, "type": "value_error"}],
    )


def _validation(exc: ValidationError, prefix: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[
            {"loc": ["body", prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()
        ],
    )


# ------------------------------------------------------------------------------- helpers


def actor_for(runtime: RuntimeDep, user_id: str, fallback_name: str | None) -> Actor:
    """The roster's name for a Slack user; someone not in the roster still acts, under their
    Slack name, and the timeline keeps their Slack ID."""
    if runtime.roster is not None:
        for tiers in runtime.roster.current().functions.values():
            for people in tiers.values():
                for person in people:
                    if person.slack_user_id == user_id:
                        return Actor(name=person.name, slack_user_id=user_id)
    return Actor(name=fallback_name or user_id, slack_user_id=user_id)


async def _in_time(call: Awaitable[Incident]) -> Incident | str:
    """The changed incident, or why there is none, within Slack's budget."""
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            return await call
    except TimeoutError:
        return "tocsin is slow to answer right now; watch the incident channel for the change."
    except IncidentConflict as exc:
        return str(exc)
    except InvalidAction as exc:
        return str(exc)
    except IncidentNotFound:
        return "that incident no longer exists."
    except TemporalUnavailable:
        return "the workflow engine is unavailable; try again in a moment."


async def _open_modal(runtime: RuntimeDep, trigger_id: str | None, view: dict[str, Any]) -> str:
    if runtime.slack is None or trigger_id is None:
        return "forms need the Slack bot token (TOCSIN_SLACK_BOT_TOKEN) on the API."
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            await runtime.slack.call("views.open", trigger_id=trigger_id, view=view)
    except (SlackApiError, TimeoutError, OSError, aiohttp.ClientError) as exc:
        log.warning("views.open failed: %s", type(exc).__name__)
        return "Slack did not open the form; try again."
    return ""


async def _tell(runtime: RuntimeDep, channel: str | None, user: str, text: str) -> None:
    """An answer only the person who pressed the button sees."""
    if runtime.slack is None or channel is None or not text:
        return
    try:
        await runtime.slack.call("chat.postEphemeral", channel=channel, user=user, text=text)
    except (SlackApiError, OSError, aiohttp.ClientError) as exc:
        log.warning("chat.postEphemeral failed: %s", type(exc).__name__)


# -------------------------------------------------------------------------- interactions


@router.post("/interactions")
async def interactions(body: SignedBody, runtime: RuntimeDep) -> JSONResponse:
    raw = _form(body).get("payload")
    if raw is None:
        raise _unprocessable("payload", "field required")
    try:
        payload = _Interaction.validate_json(raw)
    except ValidationError as exc:
        raise _validation(exc, "payload") from None
    if isinstance(payload, BlockActions):
        await _block_action(payload, runtime)
        return JSONResponse({})
    if isinstance(payload, ViewSubmission):
        return JSONResponse(await _submission(payload, runtime))
    return JSONResponse({})


async def _block_action(payload: BlockActions, runtime: RuntimeDep) -> None:
    action = payload.actions[0]
    incident_id = action.value or ""
    user = payload.user
    by = actor_for(runtime, user.id, user.name or user.username)
    service = runtime.service
    channel = payload.channel.id if payload.channel else None
    simple: dict[str, Callable[[], Awaitable[Incident]]] = {
        templates.ACK: lambda: service.acknowledge(incident_id, by),
        templates.MITIGATE: lambda: service.mitigate(incident_id, by),
    }
    modals = {
        templates.CHANGE_LEVEL: templates.level_modal,
        templates.POST_UPDATE: templates.update_modal,
        templates.RESOLVE: templates.resolve_modal,
    }
    if action.action_id in simple:
        result = await _in_time(simple[action.action_id]())
        if isinstance(result, str):
            await _tell(runtime, channel, user.id, f"Not done: {result}")
    elif action.action_id in modals:
        problem = await _open_modal(
            runtime, payload.trigger_id, modals[action.action_id](incident_id)
        )
        await _tell(runtime, channel, user.id, problem)


async def _submission(payload: ViewSubmission, runtime: RuntimeDep) -> dict[str, Any]:
    view, service = payload.view, runtime.service
    by = actor_for(runtime, payload.user.id, payload.user.name or payload.user.username)
    incident_id = view.private_metadata
    call: Awaitable[Incident]
    if view.callback_id == templates.DECLARE:
        errors = _declare_errors(view)
        if errors:
            return {"response_action": "errors", "errors": errors}
        call = service.declare(
            title=view.value("title"),
            level=Level(view.value("level")),
            type=IncidentType(view.value("type")),
            service=view.value("service") or None,
            description=view.value("description"),
            declared_by=by,
        )
        block = "title"
    elif view.callback_id == templates.CHANGE_LEVEL:
        level, reason = view.value("level"), view.value("reason")
        if level not in {lv.value for lv in Level} or not reason:
            return {"response_action": "errors", "errors": {"reason": "choose a level and say why"}}
        call, block = service.change_level(incident_id, Level(level), reason, by), "level"
    elif view.callback_id == templates.POST_UPDATE:
        text = view.value("text")
        if not text:
            return {"response_action": "errors", "errors": {"text": "write the update"}}
        call, block = service.post_update(incident_id, text, by), "text"
    elif view.callback_id == templates.RESOLVE:
        call, block = service.resolve(incident_id, by, view.value("summary")), "summary"
    else:
        return {}
    result = await _in_time(call)
    if isinstance(result, str):
        return {"response_action": "errors", "errors": {block: result}}
    return {}


def _declare_errors(view: View) -> dict[str, str]:
    errors = {}
    if not view.value("title"):
        errors["title"] = "give the incident a title"
    if view.value("level") not in {lv.value for lv in Level}:
        errors["level"] = "choose A, B or C"
    if view.value("type") not in {t.value for t in IncidentType}:
        errors["type"] = "choose a type"
    return errors


# ------------------------------------------------------------------------------ commands


def _reply(text: str) -> JSONResponse:
    return JSONResponse({"response_type": "ephemeral", "text": text})


@router.post("/commands")
async def commands(body: SignedBody, runtime: RuntimeDep) -> Response:
    try:
        command = SlashCommand.model_validate(_form(body))
    except ValidationError as exc:
        raise _validation(exc, "command") from None
    verb, _, rest = command.text.strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb in ("", "help"):
        return _reply(templates.HELP)
    if verb == "declare":
        problem = await _open_modal(
            runtime, command.trigger_id, templates.declare_modal(command.channel_id)
        )
        # An empty 200 is how a command is acknowledged without a visible reply.
        return _reply(problem) if problem else Response(status_code=200)
    incident_id = await runtime.store.get_ref(incident_of_channel_ref(command.channel_id))
    if incident_id is None:
        return _reply(templates.NOT_IN_INCIDENT)
    by = actor_for(runtime, command.user_id, command.user_name)
    return await _incident_command(runtime.service, incident_id, verb, rest, by)


async def _incident_command(
    service: IncidentService, incident_id: str, verb: str, rest: str, by: Actor
) -> JSONResponse:
    call: Awaitable[Incident]
    if verb == "ack":
        call, done = service.acknowledge(incident_id, by), "Acknowledged"
    elif verb == "level":
        level, _, reason = rest.partition(" ")
        if level.upper() not in {lv.value for lv in Level} or not reason.strip():
            return _reply("Usage: `/incident level <A|B|C> <reason>`")
        call = service.change_level(incident_id, Level(level.upper()), reason.strip(), by)
        done = f"Level changed to {level.upper()}"
    elif verb == "update":
        if not rest:
            return _reply("Usage: `/incident update <text>`")
        call, done = service.post_update(incident_id, rest, by), "Update posted"
    elif verb in ("mitigated", "mitigate"):
        call, done = service.mitigate(incident_id, by, rest), "Marked mitigated"
    elif verb == "resolve":
        call, done = service.resolve(incident_id, by, rest), "Resolved"
    elif verb == "status":
        call, done = service.current(incident_id), ""
    else:
        return _reply(f"Unknown command `{verb}`.\n{templates.HELP}")
    result = await _in_time(call)
    if isinstance(result, str):
        return _reply(f"Not done: {result}")
    if not done:
        return _reply(templates.status_reply(result, utcnow()))
    return _reply(f"{done}: {templates.status_reply(result, utcnow())}")
