"""What Slack asks of tocsin: button presses and modal submissions (interactions) and the
``/incident`` slash command.

Slack waits 3 seconds for an answer, so a handler only asks for the change and replies; the
card update, channel lines and pages follow from the workflow's activities. The incident
actions come in through the ``IncidentActions`` protocol (the workflows' ``IncidentService``
in production), so this module knows nothing of Temporal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import parse_qs

import aiohttp
from pydantic import BaseModel, Discriminator, Field, Tag, TypeAdapter, ValidationError
from slack_sdk.errors import SlackApiError

from adapters.slack import layout
from adapters.slack.client import SlackApi
from adapters.slack.notifier import Refs, incident_of_channel_ref
from domain.errors import IncidentConflict, IncidentNotFound, InvalidAction, TemporalUnavailable
from domain.models import Actor, Declaration, Incident, IncidentType, Level
from domain.playbook import Roster

log = logging.getLogger(__name__)

# Slack gives up after 3 s; leave room for the network both ways.
ANSWER_WITHIN = 2.5


class IncidentActions(Protocol):
    async def declare(self, declaration: Declaration) -> Incident: ...

    async def current(self, incident_id: str) -> Incident: ...

    async def acknowledge(self, incident_id: str, by: Actor) -> Incident: ...

    async def change_level(
        self, incident_id: str, level: Level, reason: str, by: Actor
    ) -> Incident: ...

    async def post_update(self, incident_id: str, text: str, by: Actor) -> Incident: ...

    async def mitigate(self, incident_id: str, by: Actor, note: str = "") -> Incident: ...

    async def resolve(self, incident_id: str, by: Actor, summary: str = "") -> Incident: ...


class BadRequest(ValueError):
    """A signed request whose body tocsin cannot use; ``errors`` name the fields."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e['loc']}: {e['msg']}" for e in errors))
        self.errors = errors


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
        raise _bad("body", "not UTF-8 form data") from None
    return {key: values[0] for key, values in fields.items()}


def _bad(field: str, problem: str) -> BadRequest:
    return BadRequest([{"loc": ["body", field], "msg": problem, "type": "value_error"}])


def _invalid(exc: ValidationError, prefix: str) -> BadRequest:
    return BadRequest(
        [
            {"loc": ["body", prefix, *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()
        ]
    )


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text}


# ------------------------------------------------------------------------------ handling


class SlackInbound:
    def __init__(
        self,
        actions: IncidentActions,
        refs: Refs,
        *,
        api: SlackApi | None = None,
        roster: Callable[[], Roster] | None = None,
        clock: Callable[[], datetime],
    ) -> None:
        self._actions = actions
        self._refs = refs
        self._api = api
        self._roster = roster
        self._clock = clock

    def actor(self, user_id: str, fallback_name: str | None) -> Actor:
        """The roster's name for a Slack user; someone not in the roster still acts, under
        their Slack name, and the timeline keeps their Slack ID."""
        if self._roster is not None:
            for tiers in self._roster().functions.values():
                for people in tiers.values():
                    for person in people:
                        if person.slack_user_id == user_id:
                            return Actor(name=person.name, slack_user_id=user_id)
        return Actor(name=fallback_name or user_id, slack_user_id=user_id)

    # ---------------------------------------------------------------------- interactions

    async def interaction(self, body: bytes) -> dict[str, Any]:
        """The JSON answer to a signed ``/slack/interactions`` request."""
        raw = _form(body).get("payload")
        if raw is None:
            raise _bad("payload", "field required")
        try:
            payload = _Interaction.validate_json(raw)
        except ValidationError as exc:
            raise _invalid(exc, "payload") from None
        if isinstance(payload, BlockActions):
            await self._block_action(payload)
            return {}
        if isinstance(payload, ViewSubmission):
            return await self._submission(payload)
        return {}

    async def _block_action(self, payload: BlockActions) -> None:
        action = payload.actions[0]
        incident_id = action.value or ""
        user = payload.user
        by = self.actor(user.id, user.name or user.username)
        channel = payload.channel.id if payload.channel else None
        simple: dict[str, Callable[[], Awaitable[Incident]]] = {
            layout.ACK: lambda: self._actions.acknowledge(incident_id, by),
            layout.MITIGATE: lambda: self._actions.mitigate(incident_id, by),
        }
        modals = {
            layout.CHANGE_LEVEL: layout.level_modal,
            layout.POST_UPDATE: layout.update_modal,
            layout.RESOLVE: layout.resolve_modal,
        }
        if action.action_id in simple:
            result = await _in_time(simple[action.action_id]())
            if isinstance(result, str):
                await self._tell(channel, user.id, f"Not done: {result}")
        elif action.action_id in modals:
            problem = await self._open_modal(
                payload.trigger_id, modals[action.action_id](incident_id)
            )
            await self._tell(channel, user.id, problem)

    async def _submission(self, payload: ViewSubmission) -> dict[str, Any]:
        view, actions = payload.view, self._actions
        by = self.actor(payload.user.id, payload.user.name or payload.user.username)
        incident_id = view.private_metadata
        call: Awaitable[Incident]
        if view.callback_id == layout.DECLARE:
            errors = _declare_errors(view)
            if errors:
                return {"response_action": "errors", "errors": errors}
            call = actions.declare(
                Declaration(
                    title=view.value("title"),
                    level=Level(view.value("level")),
                    type=IncidentType(view.value("type")),
                    service=view.value("service") or None,
                    description=view.value("description"),
                    declared_by=by,
                )
            )
            block = "title"
        elif view.callback_id == layout.CHANGE_LEVEL:
            level, reason = view.value("level"), view.value("reason")
            if level not in {lv.value for lv in Level} or not reason:
                return {
                    "response_action": "errors",
                    "errors": {"reason": "choose a level and say why"},
                }
            call, block = actions.change_level(incident_id, Level(level), reason, by), "level"
        elif view.callback_id == layout.POST_UPDATE:
            text = view.value("text")
            if not text:
                return {"response_action": "errors", "errors": {"text": "write the update"}}
            call, block = actions.post_update(incident_id, text, by), "text"
        elif view.callback_id == layout.RESOLVE:
            call, block = actions.resolve(incident_id, by, view.value("summary")), "summary"
        else:
            return {}
        result = await _in_time(call)
        if isinstance(result, str):
            return {"response_action": "errors", "errors": {block: result}}
        return {}

    # -------------------------------------------------------------------------- commands

    async def command(self, body: bytes) -> dict[str, Any] | None:
        """The JSON answer to a signed ``/slack/commands`` request; None for an empty 200,
        which is how a command is acknowledged without a visible reply."""
        try:
            command = SlashCommand.model_validate(_form(body))
        except ValidationError as exc:
            raise _invalid(exc, "command") from None
        verb, _, rest = command.text.strip().partition(" ")
        verb, rest = verb.lower(), rest.strip()
        if verb in ("", "help"):
            return ephemeral(layout.HELP)
        if verb == "declare":
            problem = await self._open_modal(
                command.trigger_id, layout.declare_modal(command.channel_id)
            )
            return ephemeral(problem) if problem else None
        incident_id = await self._refs.get_ref(incident_of_channel_ref(command.channel_id))
        if incident_id is None:
            return ephemeral(layout.NOT_IN_INCIDENT)
        by = self.actor(command.user_id, command.user_name)
        return await self._incident_command(incident_id, verb, rest, by)

    async def _incident_command(
        self, incident_id: str, verb: str, rest: str, by: Actor
    ) -> dict[str, Any]:
        actions = self._actions
        call: Awaitable[Incident]
        if verb == "ack":
            call, done = actions.acknowledge(incident_id, by), "Acknowledged"
        elif verb == "level":
            level, _, reason = rest.partition(" ")
            if level.upper() not in {lv.value for lv in Level} or not reason.strip():
                return ephemeral("Usage: `/incident level <A|B|C> <reason>`")
            call = actions.change_level(incident_id, Level(level.upper()), reason.strip(), by)
            done = f"Level changed to {level.upper()}"
        elif verb == "update":
            if not rest:
                return ephemeral("Usage: `/incident update <text>`")
            call, done = actions.post_update(incident_id, rest, by), "Update posted"
        elif verb in ("mitigated", "mitigate"):
            call, done = actions.mitigate(incident_id, by, rest), "Marked mitigated"
        elif verb == "resolve":
            call, done = actions.resolve(incident_id, by, rest), "Resolved"
        elif verb == "status":
            call, done = actions.current(incident_id), ""
        else:
            return ephemeral(f"Unknown command `{verb}`.\n{layout.HELP}")
        result = await _in_time(call)
        if isinstance(result, str):
            return ephemeral(f"Not done: {result}")
        status = layout.status_reply(result, self._clock())
        return ephemeral(f"{done}: {status}" if done else status)

    # --------------------------------------------------------------------------- replies

    async def _open_modal(self, trigger_id: str | None, view: dict[str, Any]) -> str:
        if self._api is None or trigger_id is None:
            return "forms need the Slack bot token (TOCSIN_SLACK_BOT_TOKEN) on the API."
        try:
            async with asyncio.timeout(ANSWER_WITHIN):
                await self._api.call("views.open", trigger_id=trigger_id, view=view)
        except (SlackApiError, TimeoutError, OSError, aiohttp.ClientError) as exc:
            log.warning("views.open failed: %s", type(exc).__name__)
            return "Slack did not open the form; try again."
        return ""

    async def _tell(self, channel: str | None, user: str, text: str) -> None:
        """An answer only the person who pressed the button sees."""
        if self._api is None or channel is None or not text:
            return
        try:
            await self._api.call("chat.postEphemeral", channel=channel, user=user, text=text)
        except (SlackApiError, OSError, aiohttp.ClientError) as exc:
            log.warning("chat.postEphemeral failed: %s", type(exc).__name__)


async def _in_time(call: Awaitable[Incident]) -> Incident | str:
    """The changed incident, or why there is none, within Slack's budget."""
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            return await call
    except TimeoutError:
        return "tocsin is slow to answer right now; watch the incident channel for the change."
    except (IncidentConflict, InvalidAction) as exc:
        return str(exc)
    except IncidentNotFound:
        return "that incident no longer exists."
    except TemporalUnavailable:
        return "the workflow engine is unavailable; try again in a moment."


def _declare_errors(view: View) -> dict[str, str]:
    errors = {}
    if not view.value("title"):
        errors["title"] = "give the incident a title"
    if view.value("level") not in {lv.value for lv in Level}:
        errors["level"] = "choose A, B or C"
    if view.value("type") not in {t.value for t in IncidentType}:
        errors["type"] = "choose a type"
    return errors
