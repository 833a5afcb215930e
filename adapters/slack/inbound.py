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
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, TypeVar
from urllib.parse import parse_qs

import aiohttp
import httpx
from pydantic import BaseModel, Discriminator, Field, Tag, TypeAdapter, ValidationError
from slack_sdk.errors import SlackApiError

from adapters.slack import layout
from adapters.slack.client import SlackApi, error_code
from adapters.slack.config import DEFAULT_HOOKS_URL
from adapters.slack.notifier import Refs, bundle_ref, incident_of_channel_ref
from domain.access import Permission, describe, permits
from domain.drills import Classification, DrillRun
from domain.errors import (
    DrillNotFound,
    IncidentConflict,
    IncidentNotFound,
    InvalidAction,
    StatementNotFound,
    TemporalUnavailable,
)
from domain.models import Actor, Declaration, Incident, IncidentType, Level
from domain.playbook import Roster
from domain.reviews import Review
from domain.statements import CustomerMessage

log = logging.getLogger(__name__)


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


class StatementActions(Protocol):
    async def approve(
        self, message_id: str, by: Actor, body: str | None = None
    ) -> CustomerMessage: ...

    async def reject(self, message_id: str, reason: str, by: Actor) -> CustomerMessage: ...

    async def statement(self, message_id: str) -> CustomerMessage: ...


class ReviewActions(Protocol):
    async def of_incident(self, incident_id: str) -> Review | None: ...

    async def edit(
        self, review_id: str, changes: Mapping[str, Any], now: datetime, version: int | None
    ) -> Review: ...


class DrillActions(Protocol):
    async def start(self, name: str, by: Actor, now: datetime) -> DrillRun: ...

    async def classify(
        self, incident_id: str, level: Level, type: IncidentType, by: Actor, now: datetime
    ) -> Classification: ...


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
    response_url: str | None = Field(default=None, max_length=2000)


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
    response_url: str | None = Field(default=None, max_length=2000)


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

# Slack shows an error unless it has an answer within 3 seconds. Work that is done within
# INLINE is answered in the reply; longer work goes on, and its outcome follows through the
# request's response_url (or, for a form, a direct message).
INLINE = 1.5
# Calls to Slack while Slack waits (views.open must use its trigger within 3 s).
ANSWER_WITHIN = 2.5
# However slow Temporal is, an answer that follows is given up on after this.
FOLLOW_UP_WITHIN = 60.0


class SlackInbound:
    """Long-lived: the work a request left running is kept here until it has answered."""

    def __init__(
        self,
        actions: IncidentActions,
        refs: Refs,
        *,
        api: SlackApi | None = None,
        roster: Callable[[], Roster] | None = None,
        clock: Callable[[], datetime],
        hooks_url: str = DEFAULT_HOOKS_URL,
        statements: StatementActions | None = None,
        reviews: ReviewActions | None = None,
        drills: DrillActions | None = None,
    ) -> None:
        self._actions = actions
        self._drills = drills
        self._statements = statements
        self._reviews = reviews
        self._refs = refs
        self._api = api
        self._roster = roster
        self._clock = clock
        self._hooks_url = hooks_url
        self._http = httpx.AsyncClient(timeout=10.0)
        self._running: set[asyncio.Task[Any]] = set()

    async def aclose(self, within: float = 5.0) -> None:
        """Let work that is still answering finish (for a while), then close."""
        if self._running:
            await asyncio.wait(self._running, timeout=within)
        await self._http.aclose()

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

    def refusal(self, by: Actor, permission: Permission) -> str | None:
        """Why ``by`` may not do this from Slack (the roster's ``slack_access``), or None."""
        if self._roster is None or by.slack_user_id is None:
            return None
        roles = self._roster().slack_access.roles_of(by.name, by.slack_user_id)
        if permits(roles, permission):
            return None
        held = ", ".join(r.value for r in roles) or "none"
        return (
            f"Not done: you ({by.name}) may not {describe(permission)} from Slack; the roster "
            f"gives you the role {held}. Ask someone who may, or have slack_access in "
            "roster.yaml changed."
        )

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
        """A button: answered at once; what it did follows privately."""
        action = payload.actions[0]
        value = action.value or ""
        user = payload.user
        by = self.actor(user.id, user.name or user.username)
        where = (payload.response_url, payload.channel.id if payload.channel else None, user.id)
        modals = {
            layout.CHANGE_LEVEL: layout.level_modal,
            layout.POST_UPDATE: layout.update_modal,
            layout.RESOLVE: layout.resolve_modal,
        }
        refused = self.refusal(by, _BUTTON_NEEDS.get(action.action_id, Permission.RESPOND))
        if refused:
            self._keep(self._tell(*where, refused))
            return
        if action.action_id in modals:
            # The trigger expires with Slack's 3 seconds: the form opens now or never.
            problem = await self._open_modal(payload.trigger_id, modals[action.action_id](value))
            if problem:
                self._keep(self._tell(*where, problem))
        elif action.action_id == layout.ACK:
            self._keep(self._do(self._actions.acknowledge(value, by), "Acknowledged", *where))
        elif action.action_id == layout.MITIGATE:
            self._keep(self._do(self._actions.mitigate(value, by), "Marked mitigated", *where))
        elif action.action_id == layout.ACK_ALL:
            self._keep(self._acknowledge_all(value, by, where))
        elif action.action_id in _STATEMENT_BUTTONS:
            await self._statement_button(action.action_id, value, payload.trigger_id, by, where)

    async def _statement_button(
        self,
        action_id: str,
        message_id: str,
        trigger_id: str | None,
        by: Actor,
        where: tuple[str | None, str | None, str],
    ) -> None:
        statements = self._statements
        if statements is None:
            self._keep(self._tell(*where, "Statements cannot be approved from here."))
            return
        if action_id == layout.STATEMENT_APPROVE:
            self._keep(
                self._settle(statements.approve(message_id, by), "Approved and published", where)
            )
            return
        if action_id == layout.STATEMENT_REJECT:
            view = layout.reject_modal(message_id)
        else:
            # The form shows the text as it is now, which may differ from the one in the DM.
            found = await _outcome(statements.statement(message_id), INLINE)
            if isinstance(found, str):
                self._keep(self._tell(*where, f"Not done: {found}"))
                return
            view = layout.statement_modal(message_id, found.body)
        problem = await self._open_modal(trigger_id, view)
        if problem:
            self._keep(self._tell(*where, problem))

    async def _settle(
        self,
        call: Awaitable[CustomerMessage],
        done: str,
        where: tuple[str | None, str | None, str],
    ) -> None:
        result = await _outcome(call, FOLLOW_UP_WITHIN)
        if isinstance(result, str):
            await self._tell(*where, f"Not done: {result}")
        else:
            await self._tell(*where, f"{done}: statement {result.id} ({result.status.value})")

    async def _do(
        self,
        call: Awaitable[Incident],
        done: str,
        response_url: str | None,
        channel: str | None,
        user: str,
    ) -> None:
        result = await _outcome(call, FOLLOW_UP_WITHIN)
        if isinstance(result, str):
            await self._tell(response_url, channel, user, f"Not done: {result}")
        else:
            status = layout.status_reply(result, self._clock())
            await self._tell(response_url, channel, user, f"{done}: {status}")

    async def _acknowledge_all(
        self, key: str, by: Actor, where: tuple[str | None, str | None, str]
    ) -> None:
        """Every incident of a bundle of pages, acknowledged as one press."""
        listed = await self._refs.get_ref(bundle_ref(key))
        incident_ids = [i for i in (listed or "").split(",") if i]
        if not incident_ids:
            await self._tell(*where, "Not done: that message's incidents are not known here.")
            return
        results = await asyncio.gather(
            *(_outcome(self._actions.acknowledge(i, by), FOLLOW_UP_WITHIN) for i in incident_ids)
        )
        acked = [i for i, r in zip(incident_ids, results, strict=True) if not isinstance(r, str)]
        refused = [
            f"[{i}] {r}" for i, r in zip(incident_ids, results, strict=True) if isinstance(r, str)
        ]
        text = f"Acknowledged {len(acked)} of {len(incident_ids)}"
        text += (": " + ", ".join(acked)) if acked else ""
        if refused:
            text += ".\nNot done: " + "; ".join(refused)
        await self._tell(*where, text)

    async def _submission(self, payload: ViewSubmission) -> dict[str, Any]:
        """A form: the answer closes it or names what to fix; a change that takes longer than
        Slack waits closes it, and its outcome follows as a direct message."""
        view, actions = payload.view, self._actions
        user = payload.user
        by = self.actor(user.id, user.name or user.username)
        incident_id = view.private_metadata
        refused = self.refusal(by, _FORM_NEEDS.get(view.callback_id, Permission.RESPOND))
        if refused:
            self._keep(self._post(user.id, refused))
            return {}
        if view.callback_id in _STATEMENT_BUTTONS:
            return await self._statement_form(view, by, user.id)
        if view.callback_id == layout.REVIEW_EDIT:
            return await self._review_form(view, user.id)
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
            block, done = "title", "Declared"
        elif view.callback_id == layout.CHANGE_LEVEL:
            level, reason = view.value("level"), view.value("reason")
            if level not in {lv.value for lv in Level} or not reason:
                return {
                    "response_action": "errors",
                    "errors": {"reason": "choose a level and say why"},
                }
            call = actions.change_level(incident_id, Level(level), reason, by)
            block, done = "level", f"Level changed to {level}"
        elif view.callback_id == layout.POST_UPDATE:
            text = view.value("text")
            if not text:
                return {"response_action": "errors", "errors": {"text": "write the update"}}
            call, block, done = actions.post_update(incident_id, text, by), "text", "Update posted"
        elif view.callback_id == layout.RESOLVE:
            call = actions.resolve(incident_id, by, view.value("summary"))
            block, done = "summary", "Resolved"
        else:
            return {}
        task: asyncio.Future[Incident | CustomerMessage | str] = asyncio.ensure_future(
            _outcome(call, FOLLOW_UP_WITHIN)
        )
        finished, _ = await asyncio.wait({task}, timeout=INLINE)
        if task in finished:
            result = task.result()
            if isinstance(result, str):
                return {"response_action": "errors", "errors": {block: result}}
            return {}
        self._keep(self._follow_form(task, done, user.id))
        return {}

    async def _follow_form(
        self, task: asyncio.Future[Incident | CustomerMessage | str], done: str, user: str
    ) -> None:
        result = await task
        if isinstance(result, str):
            text = f"Not done: {result}"
        elif isinstance(result, CustomerMessage):
            text = f"{done}: statement {result.id} ({result.status.value})"
        else:
            text = f"{done}: {layout.status_reply(result, self._clock())}"
        await self._post(user, text)

    async def _statement_form(self, view: View, by: Actor, user: str) -> dict[str, Any]:
        statements, message_id = self._statements, view.private_metadata
        if statements is None:
            return {}
        call: Awaitable[CustomerMessage]
        if view.callback_id == layout.STATEMENT_EDIT:
            body = view.value("body")
            if not body:
                return {"response_action": "errors", "errors": {"body": "write the statement"}}
            call, block, done = statements.approve(message_id, by, body), "body", "Approved"
        else:
            reason = view.value("reason")
            if not reason:
                return {"response_action": "errors", "errors": {"reason": "say why"}}
            call, block, done = statements.reject(message_id, reason, by), "reason", "Rejected"
        task: asyncio.Future[Incident | CustomerMessage | str] = asyncio.ensure_future(
            _outcome(call, FOLLOW_UP_WITHIN)
        )
        finished, _ = await asyncio.wait({task}, timeout=INLINE)
        if task in finished:
            result = task.result()
            if isinstance(result, str):
                return {"response_action": "errors", "errors": {block: result}}
            return {}
        self._keep(self._follow_form(task, done, user))
        return {}

    async def _review_form(self, view: View, user: str) -> dict[str, Any]:
        if self._reviews is None:
            return {}
        changes: dict[str, Any] = {}
        for block in ("summary", "customer_impact", "root_cause"):
            changes[block] = view.value(block)
        for block in ("five_whys", "contributing_factors", "went_well", "went_badly", "lessons"):
            changes[block] = [
                line.strip() for line in view.value(block).splitlines() if line.strip()
            ]
        result = await _outcome(
            self._reviews.edit(view.private_metadata, changes, self._clock(), None), INLINE
        )
        if isinstance(result, str):
            return {"response_action": "errors", "errors": {"summary": result}}
        self._keep(self._post(user, f"Review {result.id} saved (version {result.version})."))
        return {}

    async def _open_review(self, incident_id: str, trigger_id: str | None) -> dict[str, Any] | None:
        if self._reviews is None:
            return ephemeral("Reviews cannot be written from here.")
        found = await _outcome(self._reviews.of_incident(incident_id), INLINE)
        if isinstance(found, str):
            return ephemeral(f"Not done: {found}")
        if found is None:
            return ephemeral(
                f"[{incident_id}] has no review yet: it opens when the incident is resolved."
            )
        fields = {
            "summary": found.summary,
            "customer_impact": found.customer_impact,
            "root_cause": found.root_cause,
            "five_whys": "\n".join(found.five_whys),
            "contributing_factors": "\n".join(found.contributing_factors),
            "went_well": "\n".join(found.went_well),
            "went_badly": "\n".join(found.went_badly),
            "lessons": "\n".join(found.lessons),
        }
        problem = await self._open_modal(trigger_id, layout.review_modal(found.id, fields))
        return ephemeral(problem) if problem else None

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
        refused = self.refusal(
            self.actor(command.user_id, command.user_name),
            _COMMAND_NEEDS.get(verb, Permission.RESPOND),
        )
        if refused:
            return ephemeral(refused)
        if verb == "declare":
            problem = await self._open_modal(
                command.trigger_id, layout.declare_modal(command.channel_id)
            )
            return ephemeral(problem) if problem else None
        by = self.actor(command.user_id, command.user_name)
        if verb == "drill":
            return await self._start_drill(rest, by)
        incident_id = await self._refs.get_ref(incident_of_channel_ref(command.channel_id))
        if incident_id is None:
            return ephemeral(layout.NOT_IN_INCIDENT)
        if verb == "review":
            return await self._open_review(incident_id, command.trigger_id)
        if verb == "classify":
            return await self._classify(incident_id, rest, by)
        work = self._incident_command(incident_id, verb, rest, by)
        task = asyncio.ensure_future(work)
        finished, _ = await asyncio.wait({task}, timeout=INLINE)
        if task in finished:
            return task.result()
        self._keep(self._follow_command(task, command.response_url, command.channel_id, by))
        return ephemeral(
            f"Working on `{verb}` for [{incident_id}]: the workflow engine is slow to answer "
            "right now; the outcome follows here."
        )

    async def _start_drill(self, rest: str, by: Actor) -> dict[str, Any]:
        if self._drills is None:
            return ephemeral("Drills are not available on this tocsin.")
        name = rest.split()[0].lower() if rest else ""
        if not name:
            return ephemeral(
                f"Usage: `/incident drill <scenario>`. {await self._known_scenarios(by)}"
            )
        result = await _outcome(self._drills.start(name, by, self._clock()), INLINE)
        if isinstance(result, str):
            return ephemeral(f"No drill started: {result}")
        return ephemeral(
            f"DRILL {result.id} started by {by.name}: its incidents are paged like real ones "
            f"and marked DRILL; it ends by {result.ends_at:%H:%M} UTC at the latest."
        )

    async def _known_scenarios(self, by: Actor) -> str:
        assert self._drills is not None
        result = await _outcome(self._drills.start("", by, self._clock()), INLINE)
        return result if isinstance(result, str) else ""

    async def _classify(self, incident_id: str, rest: str, by: Actor) -> dict[str, Any]:
        usage = "Usage: `/incident classify <A|B|C> <type>`, the type one of " + ", ".join(
            f"`{t.value}`" for t in IncidentType
        )
        if self._drills is None:
            return ephemeral("Drills are not available on this tocsin.")
        level, _, kind = rest.partition(" ")
        kind = kind.strip().lower().replace(" ", "_").replace("-", "_")
        if level.upper() not in {lv.value for lv in Level} or kind not in {
            t.value for t in IncidentType
        }:
            return ephemeral(usage)
        call = self._drills.classify(
            incident_id, Level(level.upper()), IncidentType(kind), by, self._clock()
        )
        result = await _outcome(call, INLINE)
        if isinstance(result, str):
            return ephemeral(f"Not classified: {result}")
        return ephemeral(
            f"Classified [{incident_id}] as level {result.level} "
            f"{result.type.value.replace('_', ' ')}; it is scored when the drill ends."
        )

    async def _follow_command(
        self,
        task: asyncio.Future[dict[str, Any]],
        response_url: str | None,
        channel: str,
        by: Actor,
    ) -> None:
        answer = await task
        await self._tell(response_url, channel, by.slack_user_id or "", str(answer["text"]))

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
        result = await _outcome(call, FOLLOW_UP_WITHIN)
        if isinstance(result, str):
            return ephemeral(f"Not done: {result}")
        status = layout.status_reply(result, self._clock())
        return ephemeral(f"{done}: {status}" if done else status)

    # --------------------------------------------------------------------------- replies

    def _keep(self, work: Awaitable[None]) -> None:
        """Run ``work`` after the answer; kept here so it is neither lost nor silent."""
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("answering a Slack request failed: %r", task.exception())

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

    async def _tell(
        self, response_url: str | None, channel: str | None, user: str, text: str
    ) -> None:
        """An answer only the person who acted sees: through the request's response_url, or
        as an ephemeral message in the channel when there is none, or as a direct message
        when Slack cannot show them one there."""
        if response_url and response_url.startswith(self._hooks_url):
            message = {"response_type": "ephemeral", "replace_original": False, "text": text}
            try:
                (await self._http.post(response_url, json=message)).raise_for_status()
            except httpx.HTTPError as exc:
                log.warning("response_url answer failed: %s", type(exc).__name__)
            return
        if response_url:
            # Only Slack's own hooks: a forged URL must not make tocsin post elsewhere.
            log.warning("ignored a response_url outside %s", self._hooks_url)
        if self._api is None or channel is None or not text:
            return
        try:
            await self._api.call("chat.postEphemeral", channel=channel, user=user, text=text)
        except SlackApiError as exc:
            if error_code(exc) in _NOT_SHOWN_THERE:
                await self._post(user, text)
            else:
                log.warning("chat.postEphemeral failed: %s", error_code(exc) or "SlackApiError")
        except (OSError, aiohttp.ClientError) as exc:
            log.warning("chat.postEphemeral failed: %s", type(exc).__name__)

    async def _post(self, user: str, text: str) -> None:
        """A direct message to a user, for outcomes that have no response_url."""
        if self._api is None:
            return
        try:
            await self._api.call("chat.postMessage", channel=user, text=text)
        except (SlackApiError, OSError, aiohttp.ClientError) as exc:
            log.warning("chat.postMessage to %s failed: %s", user, type(exc).__name__)


# Slack shows an ephemeral to members of a channel it can post in; a person who pressed a card
# without being one (a public channel previewed, a page whose invitation has not landed yet,
# a channel archived since) is answered directly instead.
_NOT_SHOWN_THERE = frozenset(
    {"user_not_in_channel", "not_in_channel", "channel_not_found", "is_archived"}
)
_STATEMENT_BUTTONS = (layout.STATEMENT_APPROVE, layout.STATEMENT_EDIT, layout.STATEMENT_REJECT)
# What each button, form and command needs (README "Security"); anything else responds.
_BUTTON_NEEDS = {
    layout.CHANGE_LEVEL: Permission.LEAD,
    **dict.fromkeys(_STATEMENT_BUTTONS, Permission.COMMUNICATE),
}
_FORM_NEEDS = {
    layout.CHANGE_LEVEL: Permission.LEAD,
    **dict.fromkeys(_STATEMENT_BUTTONS, Permission.COMMUNICATE),
}
_COMMAND_NEEDS = {
    "status": Permission.READ,
    "level": Permission.LEAD,
    "drill": Permission.LEAD,
}
_T = TypeVar("_T")


async def _outcome(call: Awaitable[_T], within: float) -> _T | str:
    """The changed incident or statement, or why there is none."""
    try:
        async with asyncio.timeout(within):
            return await call
    except TimeoutError:
        return (
            f"no answer from the workflow engine within {within:.0f}s; "
            "watch the incident channel for the change."
        )
    except (IncidentConflict, InvalidAction) as exc:
        return str(exc)
    except IncidentNotFound:
        return "that incident no longer exists."
    except DrillNotFound as exc:
        return str(exc)
    except StatementNotFound:
        return "that statement no longer exists."
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
