"""Post-incident reviews from Slack: ``/incident review`` opens the incident's review as a
form, and its submission saves it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from adapters.slack import forms, layout
from adapters.slack.inbound.payloads import View
from adapters.slack.inbound.replies import INLINE, Replies, ephemeral, form_errors, outcome
from domain.models import Actor
from domain.reviews import Review


class ReviewActions(Protocol):
    async def of_incident(self, incident_id: str) -> Review | None: ...

    async def edit(
        self, review_id: str, changes: Mapping[str, Any], now: datetime, version: int | None
    ) -> Review: ...


_TEXTS = ("summary", "customer_impact", "root_cause")
_LISTS = ("five_whys", "contributing_factors", "went_well", "went_badly", "lessons")


class ReviewRequests:
    FORMS = (layout.REVIEW_EDIT,)

    def __init__(
        self, actions: ReviewActions | None, replies: Replies, clock: Callable[[], datetime]
    ) -> None:
        self._actions = actions
        self._replies = replies
        self._clock = clock

    async def open(self, incident_id: str, trigger_id: str | None) -> dict[str, Any] | None:
        """``/incident review``: the review as a form, or why it did not open."""
        if self._actions is None:
            return ephemeral("Reviews cannot be written from here.")
        found = await outcome(self._actions.of_incident(incident_id), INLINE)
        if isinstance(found, str):
            return ephemeral(f"Not done: {found}")
        if found is None:
            return ephemeral(
                f"[{incident_id}] has no review yet: it opens when the incident is resolved."
            )
        fields = {block: getattr(found, block) for block in _TEXTS}
        fields |= {block: "\n".join(getattr(found, block)) for block in _LISTS}
        problem = await self._replies.open_modal(trigger_id, forms.review_modal(found.id, fields))
        return ephemeral(problem) if problem else None

    async def submit(self, view: View, by: Actor, user: str) -> dict[str, Any]:
        """The form saved; lists are written one item per line."""
        if self._actions is None:
            return {}
        changes: dict[str, Any] = {block: view.value(block) for block in _TEXTS}
        for block in _LISTS:
            changes[block] = [
                line.strip() for line in view.value(block).splitlines() if line.strip()
            ]
        result = await outcome(
            self._actions.edit(view.private_metadata, changes, self._clock(), None), INLINE
        )
        if isinstance(result, str):
            return form_errors(summary=result)
        self._replies.keep(
            self._replies.post(user, f"Review {result.id} saved (version {result.version}).")
        )
        return {}
