"""Side effects of the review workflows: opening a review from the incident's records,
reminding owners, telling leads, and reading back what the API changed. Every message has a
key recorded before it counts as sent, and every timeline line is written once per key, so a
retried activity repeats nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from temporalio import activity

from domain import wording
from domain.models import (
    Actor,
    EventKind,
    Incident,
    NotificationKind,
    Role,
    Tier,
    TimelineEvent,
)
from domain.notify import Notification, Notifier
from domain.reviews import REVIEW_SEQ, ActionItem, Review
from domain.rules import reviews as rules
from domain.rules.effects import NotifyTarget
from domain.rules.targets import recipients
from playbooks.roster import RosterSource
from workflows.outbox import Outbox
from workflows.reviews.models import FollowActionInput, FollowReviewInput, ReviewInput
from workflows.rota import on_call

if TYPE_CHECKING:
    from adapters.records import RecordsStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Notice:
    """A reminder or an overdue notice: what it says, to whom, and the key it is sent once by."""

    key: str
    to: list[NotifyTarget]
    kind: EventKind
    text: str


class TimelineIncomplete(Exception):
    """The records do not hold the incident's whole timeline yet; retried."""


class ReviewActivities:
    def __init__(self, records: RecordsStore, notifier: Notifier, roster: RosterSource) -> None:
        self._records = records
        self._outbox = Outbox(records, notifier)
        self._roster = roster

    # ---------------------------------------------------------------------------- reviews

    @activity.defn(name="open_review")
    async def open_review(self, input: ReviewInput) -> Review:
        """The incident's review: prefilled from its records when it opens, its prefilled
        parts brought up to date when the incident resolved again; the owner's text stays."""
        incident = input.incident
        now = datetime.now(UTC)
        timeline = [e for e in await self._records.timeline(incident.id) if e.seq < REVIEW_SEQ]
        # The incident's activations are recorded side by side: wait (by retrying) for every
        # one up to the resolution, so the prefilled timeline misses nothing.
        have = {e.seq for e in timeline}
        missing = [seq for seq in range(1, input.through_seq + 1) if seq not in have]
        if missing:
            raise TimelineIncomplete(f"{incident.id}: events {missing[:5]} not recorded yet")
        messages = await self._records.statements.of_incident(incident.id)
        prefilled = rules.prefill(incident, timeline, messages, input.policy, now)
        existing = await self._records.reviews.of_incident(incident.id)
        review = prefilled if existing is None else rules.refreshed(existing, prefilled)
        if existing is None or review.version != existing.version:
            await self._records.reviews.save(review)
        await self._line(
            f"{review.id}/opened",
            review.incident_id,
            EventKind.REVIEW_OPENED,
            wording.review_opened(review.owner, review.due_at),
            data={"review": review.id, "owner": review.owner},
        )
        stored = await self._records.reviews.get(review.id)
        return stored or review

    @activity.defn(name="current_review")
    async def current_review(self, review_id: str) -> Review | None:
        """The review as recorded; None if it is gone (removed by hand): nothing to follow."""
        return await self._records.reviews.get(review_id)

    @activity.defn(name="follow_review")
    async def follow_review(self, input: FollowReviewInput) -> Review | None:
        """The reminder before the due time, or the ``overdue``-th notice to the leads —
        sent only if the review, as recorded now, still needs it."""
        review = await self._records.reviews.get(input.review_id)
        if review is None or not rules.review_open(review):
            return review
        incident = await self._records.get_incident(review.incident_id)
        if incident is None:
            return None
        if rules.nudge_applies(input.overdue, review.due_at, input.at):
            await self._nudge(self._review_notice(review, input), incident, review, input.at)
        return review

    def _review_notice(self, review: Review, input: FollowReviewInput) -> _Notice:
        owner = self._owner_target(review.owner, input.leads)
        if input.overdue == 0:
            return _Notice(
                key=f"{review.id}/remind",
                to=[owner],
                kind=EventKind.REVIEW_REMINDED,
                text=wording.review_reminded(review.owner, review.due_at),
            )
        return _Notice(
            key=f"{review.id}/overdue/{input.overdue}",
            to=[owner, *input.leads],
            kind=EventKind.REVIEW_OVERDUE,
            text=wording.review_overdue(review.owner, review.due_at, input.at),
        )

    # ------------------------------------------------------------------------ action items

    @activity.defn(name="current_action")
    async def current_action(self, action_id: str) -> ActionItem | None:
        return await self._records.reviews.action(action_id)

    @activity.defn(name="follow_action")
    async def follow_action(self, input: FollowActionInput) -> ActionItem | None:
        action = await self._records.reviews.action(input.action_id)
        if action is None or not rules.action_open(action):
            return action
        incident = await self._records.get_incident(action.incident_id)
        if incident is None:
            return None
        if rules.nudge_applies(input.overdue, action.due_at, input.at):
            review = await self._records.reviews.get(action.review_id)
            notice = self._action_notice(action, review, input)
            await self._nudge(notice, incident, review, input.at)
        return action

    def _action_notice(
        self, action: ActionItem, review: Review | None, input: FollowActionInput
    ) -> _Notice:
        owner = self._owner_target(action.owner, input.leads)
        due = action.due_at.isoformat()
        if input.overdue == 0:
            return _Notice(
                key=f"{action.id}/remind/{due}",
                to=[owner],
                kind=EventKind.ACTION_REMINDED,
                text=wording.action_reminded(action.title, action.owner, action.due_at),
            )
        # Overdue: its owner, the review's owner and the lead functions' managers hear of it.
        told = [owner, *(t for t in input.leads if t.tier is Tier.MANAGER)]
        if review is not None:
            told.insert(1, self._owner_target(review.owner, input.leads))
        return _Notice(
            key=f"{action.id}/overdue/{due}/{input.overdue}",
            to=told,
            kind=EventKind.ACTION_OVERDUE,
            text=wording.action_overdue(action.title, action.owner, action.due_at, input.at),
        )

    # ---------------------------------------------------------------------------- helpers

    def _owner_target(self, name: str, leads: list[NotifyTarget]) -> NotifyTarget:
        function = leads[0].function if leads else None
        assert function is not None, "a review is followed with its incident's lead functions"
        return NotifyTarget(
            function=function, tier=Tier.PRIMARY, role=Role.LEAD, person=Actor(name=name)
        )

    async def _line(
        self,
        key: str,
        incident_id: str,
        kind: EventKind,
        text: str,
        data: dict[str, object] | None = None,
        at: datetime | None = None,
    ) -> TimelineEvent | None:
        return await self._records.append_event_once(
            key,
            incident_id=incident_id,
            base=REVIEW_SEQ,
            kind=kind,
            text=text,
            at=at or datetime.now(UTC),
            actor="tocsin",
            data=dict(data or {}),
        )

    async def _nudge(
        self, notice: _Notice, incident: Incident, review: Review | None, at: datetime
    ) -> None:
        """One timeline line and one direct message per person, each once per key."""
        data: dict[str, object] = {"review": review.id} if review is not None else {}
        await self._line(notice.key, incident.id, notice.kind, notice.text, data, at)
        event = TimelineEvent(
            incident_id=incident.id,
            seq=REVIEW_SEQ,
            at=at,
            kind=notice.kind,
            text=notice.text,
            data=data,
        )
        when = self._roster.instant(incident.id, at)
        roster = (await on_call(self._records, self._roster, when)).roster
        for recipient in recipients(roster, notice.to):
            person_key = f"{notice.key}/{recipient.person.name}"
            if await self._outbox.sent(person_key):
                continue
            ask = f" | tocsin review show {incident.id}" if review is not None else ""
            await self._outbox.send_once(
                Notification(
                    key=person_key,
                    kind=NotificationKind.REVIEW,
                    incident=incident,
                    event=event,
                    recipient=recipient,
                    text=wording.notification_text(
                        NotificationKind.REVIEW, incident, event, recipient
                    )
                    + ask,
                )
            )
