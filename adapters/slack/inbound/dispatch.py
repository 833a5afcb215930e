"""The one entry for Slack's signed requests: it parses the body, refuses what the roster does
not allow, and hands each button, form and ``/incident`` verb to the module of its domain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from adapters.slack import layout
from adapters.slack.client import SlackApi
from adapters.slack.config import DEFAULT_HOOKS_URL
from adapters.slack.inbound import payloads
from adapters.slack.inbound.drills import DrillActions, DrillRequests
from adapters.slack.inbound.incidents import IncidentActions, IncidentRequests
from adapters.slack.inbound.oncall import OnCallActions, OnCallRequests
from adapters.slack.inbound.payloads import BlockActions, Press, ViewSubmission, Where
from adapters.slack.inbound.people import People
from adapters.slack.inbound.replies import Replies, ephemeral
from adapters.slack.inbound.reviews import ReviewActions, ReviewRequests
from adapters.slack.inbound.statements import StatementActions, StatementRequests
from adapters.slack.notifier import Refs, incident_of_channel_ref
from domain.access import Permission
from domain.roster import Roster

# What each button, form and command needs (README "Security"); anything else responds.
_NEEDS = {**IncidentRequests.NEEDS, **StatementRequests.NEEDS}
_COMMAND_NEEDS = {
    **IncidentRequests.COMMAND_NEEDS,
    **DrillRequests.COMMAND_NEEDS,
    **OnCallRequests.COMMAND_NEEDS,
}


class SlackInbound:
    """Long-lived: the work a request left running is kept (in ``Replies``) until it has
    answered."""

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
        oncall: OnCallActions | None = None,
    ) -> None:
        self._refs = refs
        self._people = People(roster)
        self._replies = Replies(api, hooks_url)
        self._incidents = IncidentRequests(actions, refs, self._replies, clock)
        self._statements = StatementRequests(statements, self._replies)
        self._reviews = ReviewRequests(reviews, self._replies, clock)
        self._drills = DrillRequests(drills, clock)
        self._oncall = OnCallRequests(oncall, roster, clock)
        self._buttons = _route(
            (IncidentRequests.BUTTONS, self._incidents.press),
            (StatementRequests.BUTTONS, self._statements.press),
        )
        self._forms = _route(
            (IncidentRequests.FORMS, self._incidents.submit),
            (StatementRequests.FORMS, self._statements.submit),
            (ReviewRequests.FORMS, self._reviews.submit),
        )

    async def aclose(self, within: float = 5.0) -> None:
        """Let work that is still answering finish (for a while), then close."""
        await self._replies.aclose(within)

    # ---------------------------------------------------------------------- interactions

    async def interaction(self, body: bytes) -> dict[str, Any]:
        """The JSON answer to a signed ``/slack/interactions`` request."""
        payload = payloads.interaction(body)
        if isinstance(payload, BlockActions):
            await self._press(payload)
            return {}
        if isinstance(payload, ViewSubmission):
            return await self._submit(payload)
        return {}

    async def _press(self, payload: BlockActions) -> None:
        """A button: answered at once; what it did follows privately."""
        action, user = payload.actions[0], payload.user
        by = self._people.actor(user.id, user.name or user.username)
        where = Where(
            payload.response_url, payload.channel.id if payload.channel else None, user.id
        )
        refused = self._people.refusal(by, _NEEDS.get(action.action_id, Permission.RESPOND))
        if refused:
            self._replies.keep(self._replies.tell(*where, refused))
            return
        pressed = self._buttons.get(action.action_id)
        if pressed is not None:
            await pressed(
                Press(action.action_id, action.value or "", payload.trigger_id, by, where)
            )

    async def _submit(self, payload: ViewSubmission) -> dict[str, Any]:
        """A form: the answer closes it or names what to fix; what a refused form would have
        done is told as a direct message."""
        view, user = payload.view, payload.user
        by = self._people.actor(user.id, user.name or user.username)
        refused = self._people.refusal(by, _NEEDS.get(view.callback_id, Permission.RESPOND))
        if refused:
            self._replies.keep(self._replies.post(user.id, refused))
            return {}
        submitted = self._forms.get(view.callback_id)
        return {} if submitted is None else await submitted(view, by, user.id)

    # -------------------------------------------------------------------------- commands

    async def command(self, body: bytes) -> dict[str, Any] | None:
        """The JSON answer to a signed ``/slack/commands`` request; None for an empty 200,
        which is how a command is acknowledged without a visible reply."""
        command = payloads.command(body)
        verb, _, rest = command.text.strip().partition(" ")
        verb, rest = verb.lower(), rest.strip()
        if verb in ("", "help"):
            return ephemeral(layout.HELP)
        by = self._people.actor(command.user_id, command.user_name)
        refused = self._people.refusal(by, _COMMAND_NEEDS.get(verb, Permission.RESPOND))
        if refused:
            return ephemeral(refused)
        if verb == "declare":
            return await self._incidents.declare(command)
        if verb == "drill":
            return await self._drills.start(rest, by)
        if verb == "oncall":
            return await self._oncall.who()
        if verb == "cover":
            return await self._oncall.cover(rest, by)
        incident_id = await self._refs.get_ref(incident_of_channel_ref(command.channel_id))
        if incident_id is None:
            return ephemeral(layout.NOT_IN_INCIDENT)
        if verb == "review":
            return await self._reviews.open(incident_id, command.trigger_id)
        if verb == "classify":
            return await self._drills.classify(incident_id, rest, by)
        return await self._incidents.command(incident_id, verb, rest, by, command)


_H = TypeVar("_H")


def _route(*routes: tuple[tuple[str, ...], _H]) -> dict[str, _H]:
    """Each id to the handler of the domain that owns it; an id owned twice is a mistake."""
    table: dict[str, _H] = {}
    for ids, handler in routes:
        for key in ids:
            if key in table:
                raise ValueError(f"{key} is routed twice")
            table[key] = handler
    return table
