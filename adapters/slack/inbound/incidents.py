"""Incidents from Slack: the card's buttons, their forms, ``/incident declare`` and the
commands typed in an incident's channel (ack, level, update, mitigated, resolve, status)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar, Protocol

from adapters.slack import forms, layout
from adapters.slack.inbound.payloads import Press, SlashCommand, View, Where
from adapters.slack.inbound.replies import (
    FOLLOW_UP_WITHIN,
    INLINE,
    Kept,
    Replies,
    ephemeral,
    form_errors,
    outcome,
)
from adapters.slack.notifier import Refs, bundle_ref
from domain.access import Permission
from domain.models import Actor, Declaration, Incident, IncidentType, Level


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


_FORM_OF_BUTTON = {
    layout.CHANGE_LEVEL: forms.level_modal,
    layout.POST_UPDATE: forms.update_modal,
    layout.RESOLVE: forms.resolve_modal,
}
_LEVELS = {lv.value for lv in Level}


class IncidentRequests:
    BUTTONS = (layout.ACK, layout.MITIGATE, layout.ACK_ALL, *_FORM_OF_BUTTON)
    FORMS = (layout.DECLARE, *_FORM_OF_BUTTON)
    # What a button or form needs beyond responding (README "Security"); the form of a
    # button needs what the button does.
    NEEDS: ClassVar[dict[str, Permission]] = {layout.CHANGE_LEVEL: Permission.LEAD}
    COMMAND_NEEDS: ClassVar[dict[str, Permission]] = {
        "status": Permission.READ,
        "level": Permission.LEAD,
    }

    def __init__(
        self,
        actions: IncidentActions,
        refs: Refs,
        replies: Replies,
        clock: Callable[[], datetime],
    ) -> None:
        self._actions = actions
        self._refs = refs
        self._replies = replies
        self._clock = clock

    def _status(self, done: str) -> Callable[[Incident], str]:
        return lambda incident: f"{done}: {layout.status_reply(incident, self._clock())}"

    # --------------------------------------------------------------------------- buttons

    async def press(self, press: Press) -> None:
        """A button: answered at once; what it did follows privately."""
        replies, actions, value, by = self._replies, self._actions, press.value, press.by
        if press.action_id in _FORM_OF_BUTTON:
            view = _FORM_OF_BUTTON[press.action_id](value)
            await replies.open_or_tell(press.trigger_id, view, press.where)
        elif press.action_id == layout.ACK:
            done = self._status("Acknowledged")
            replies.keep(replies.follow(actions.acknowledge(value, by), press.where, done))
        elif press.action_id == layout.MITIGATE:
            done = self._status("Marked mitigated")
            replies.keep(replies.follow(actions.mitigate(value, by), press.where, done))
        elif press.action_id == layout.ACK_ALL:
            replies.keep(self._acknowledge_all(value, by, press.where))

    async def _acknowledge_all(self, key: str, by: Actor, where: Where) -> None:
        """Every incident of a bundle of pages, acknowledged as one press."""
        listed = await self._refs.get_ref(bundle_ref(key))
        incident_ids = [i for i in (listed or "").split(",") if i]
        if not incident_ids:
            await self._replies.tell(
                *where, "Not done: that message's incidents are not known here."
            )
            return
        results = await asyncio.gather(
            *(outcome(self._actions.acknowledge(i, by), FOLLOW_UP_WITHIN) for i in incident_ids)
        )
        answers = list(zip(incident_ids, results, strict=True))
        acked = [i for i, r in answers if not isinstance(r, str)]
        kept = [i for i, r in answers if isinstance(r, Kept)]
        refused = [f"[{i}] {r}" for i, r in answers if isinstance(r, str) and i not in kept]
        text = f"Acknowledged {len(acked)} of {len(incident_ids)}"
        text += (": " + ", ".join(acked)) if acked else ""
        if kept:
            text += (
                f".\nTaken, applied as soon as tocsin can (counted from your press): "
                f"{', '.join(kept)}"
            )
        if refused:
            text += ".\nNot done: " + "; ".join(refused)
        await self._replies.tell(*where, text)

    # ----------------------------------------------------------------------------- forms

    async def submit(self, view: View, by: Actor, user: str) -> dict[str, Any]:
        """A form: the answer closes it or names what to fix."""
        actions, incident_id = self._actions, view.private_metadata
        call: Awaitable[Incident]
        if view.callback_id == layout.DECLARE:
            errors = _declare_errors(view)
            if errors:
                return form_errors(**errors)
            call, block, done = actions.declare(_declaration(view, by)), "title", "Declared"
        elif view.callback_id == layout.CHANGE_LEVEL:
            level, reason = view.value("level"), view.value("reason")
            if level not in _LEVELS or not reason:
                return form_errors(reason="choose a level and say why")
            call = actions.change_level(incident_id, Level(level), reason, by)
            block, done = "level", f"Level changed to {level}"
        elif view.callback_id == layout.POST_UPDATE:
            text = view.value("text")
            if not text:
                return form_errors(text="write the update")
            call, block, done = actions.post_update(incident_id, text, by), "text", "Update posted"
        elif view.callback_id == layout.RESOLVE:
            call = actions.resolve(incident_id, by, view.value("summary"))
            block, done = "summary", "Resolved"
        else:
            return {}
        return await self._replies.form(call, block, user, self._status(done))

    # -------------------------------------------------------------------------- commands

    async def declare(self, command: SlashCommand) -> dict[str, Any] | None:
        """``/incident declare``: the form, or why it did not open."""
        problem = await self._replies.open_modal(
            command.trigger_id, forms.declare_modal(command.channel_id)
        )
        return ephemeral(problem) if problem else None

    async def command(
        self, incident_id: str, verb: str, rest: str, by: Actor, command: SlashCommand
    ) -> dict[str, Any]:
        """A command typed in the incident's channel: its outcome in the reply when the
        engine answers in time, else a note now and the outcome through the response_url."""
        task = asyncio.ensure_future(self._run(incident_id, verb, rest, by))
        finished, _ = await asyncio.wait({task}, timeout=INLINE)
        if task in finished:
            return task.result()
        where = Where(command.response_url, command.channel_id, by.slack_user_id or "")
        self._replies.keep(self._follow(task, where))
        return ephemeral(
            f"Working on `{verb}` for [{incident_id}]: the workflow engine is slow to answer "
            "right now; the outcome follows here."
        )

    async def _follow(self, task: asyncio.Future[dict[str, Any]], where: Where) -> None:
        answer = await task
        await self._replies.tell(*where, str(answer["text"]))

    async def _run(self, incident_id: str, verb: str, rest: str, by: Actor) -> dict[str, Any]:
        actions = self._actions
        call: Awaitable[Incident]
        if verb == "ack":
            call, done = actions.acknowledge(incident_id, by), "Acknowledged"
        elif verb == "level":
            level, _, reason = rest.partition(" ")
            if level.upper() not in _LEVELS or not reason.strip():
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
        result = await outcome(call, FOLLOW_UP_WITHIN)
        if isinstance(result, str):
            return ephemeral(f"Not done: {result}")
        status = layout.status_reply(result, self._clock())
        return ephemeral(f"{done}: {status}" if done else status)


def _declaration(view: View, by: Actor) -> Declaration:
    return Declaration(
        title=view.value("title"),
        level=Level(view.value("level")),
        type=IncidentType(view.value("type")),
        service=view.value("service") or None,
        description=view.value("description"),
        declared_by=by,
    )


def _declare_errors(view: View) -> dict[str, str]:
    errors = {}
    if not view.value("title"):
        errors["title"] = "give the incident a title"
    if view.value("level") not in _LEVELS:
        errors["level"] = "choose A, B or C"
    if view.value("type") not in {t.value for t in IncidentType}:
        errors["type"] = "choose a type"
    return errors
