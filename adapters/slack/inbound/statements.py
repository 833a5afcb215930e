"""Statements for customers from Slack: the Approve, Edit and Reject buttons of an approval
request, and the Edit and Reject forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

from adapters.slack import forms, layout
from adapters.slack.inbound.payloads import Press, View
from adapters.slack.inbound.replies import INLINE, Replies, form_errors, outcome
from domain.access import Permission
from domain.models import Actor
from domain.statements import Statement


class StatementActions(Protocol):
    async def approve(self, message_id: str, by: Actor, body: str | None = None) -> Statement: ...

    async def reject(self, message_id: str, reason: str, by: Actor) -> Statement: ...

    async def statement(self, message_id: str) -> Statement: ...


def _said(done: str) -> Callable[[Statement], str]:
    return lambda statement: f"{done}: statement {statement.id} ({statement.status.value})"


class StatementRequests:
    BUTTONS = (layout.STATEMENT_APPROVE, layout.STATEMENT_EDIT, layout.STATEMENT_REJECT)
    FORMS = (layout.STATEMENT_EDIT, layout.STATEMENT_REJECT)
    NEEDS: ClassVar[dict[str, Permission]] = dict.fromkeys(BUTTONS, Permission.COMMUNICATE)

    def __init__(self, actions: StatementActions | None, replies: Replies) -> None:
        self._actions = actions
        self._replies = replies

    async def press(self, press: Press) -> None:
        """Approve as it is (the outcome follows), or the form to edit or to reject it."""
        statements, replies, message_id = self._actions, self._replies, press.value
        if statements is None:
            replies.keep(replies.tell(*press.where, "Statements cannot be approved from here."))
            return
        if press.action_id == layout.STATEMENT_APPROVE:
            approved = statements.approve(message_id, press.by)
            replies.keep(replies.follow(approved, press.where, _said("Approved and published")))
            return
        if press.action_id == layout.STATEMENT_REJECT:
            view = forms.reject_modal(message_id)
        else:
            # The form shows the text as it is now, which may differ from the one in the DM.
            found = await outcome(statements.statement(message_id), INLINE)
            if isinstance(found, str):
                replies.keep(replies.tell(*press.where, f"Not done: {found}"))
                return
            view = forms.statement_modal(message_id, found.body)
        await replies.open_or_tell(press.trigger_id, view, press.where)

    async def submit(self, view: View, by: Actor, user: str) -> dict[str, Any]:
        statements, message_id = self._actions, view.private_metadata
        if statements is None:
            return {}
        call: Awaitable[Statement]
        if view.callback_id == layout.STATEMENT_EDIT:
            body = view.value("body")
            if not body:
                return form_errors(body="write the statement")
            call, block, done = statements.approve(message_id, by, body), "body", "Approved"
        else:
            reason = view.value("reason")
            if not reason:
                return form_errors(reason="say why")
            call, block, done = statements.reject(message_id, reason, by), "reason", "Rejected"
        return await self._replies.form(call, block, user, _said(done))
