"""What the API and the CLI call to change reviews and action items: the records change
first (they are what reviews say), then the workflow that follows them is told, so its next
reminder is right. A workflow that cannot be told re-reads the records when it wakes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from adapters.records import RecordsStore
from domain import wording
from domain.errors import IncidentConflict, InvalidAction, ReviewNotFound, TemporalUnavailable
from domain.models import EventKind, Incident
from domain.playbook import PlaybookSet
from domain.reviews import REVIEW_SEQ, ActionItem, ActionStatus, Review
from domain.rules import reviews as rules
from domain.rules.targets import lead_targets
from workflows.engine import CALL_TIMEOUT, call_engine
from workflows.ids import action_workflow_id, review_workflow_id
from workflows.reviews.models import ActionInput, IncidentResolved, ReviewInput
from workflows.reviews.workflow import ActionItemWorkflow, ReviewWorkflow

log = logging.getLogger(__name__)


async def open_review(
    client: Client, task_queue: str, incident: Incident, seq: int, playbooks: PlaybookSet
) -> None:
    """The incident's review opens (or, resolved again after a reopen, is refreshed)."""
    await client.start_workflow(
        ReviewWorkflow.run,
        ReviewInput(
            incident=incident,
            policy=playbooks.for_level(incident.level).review,
            leads=lead_targets(playbooks, incident.type),
            through_seq=seq,
        ),
        id=review_workflow_id(incident.id),
        task_queue=task_queue,
        start_signal="resolved_again",
        start_signal_args=[IncidentResolved(incident=incident, through_seq=seq)],
    )


class ReviewService:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        store: RecordsStore,
        playbooks: PlaybookSet,
        *,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._store = store
        self._playbooks = playbooks
        self._call_timeout = call_timeout

    async def get(self, review_id: str) -> Review:
        review = await self._store.reviews.get(review_id)
        if review is None:
            raise ReviewNotFound(f"no review {review_id}")
        return review

    async def of_incident(self, incident_id: str) -> Review | None:
        return await self._store.reviews.of_incident(incident_id)

    async def edit(
        self, review_id: str, changes: Mapping[str, Any], now: datetime, version: int | None
    ) -> Review:
        review = await self.get(review_id)
        if version is not None and version != review.version:
            raise IncidentConflict(
                f"review {review_id} changed since version {version} (now {review.version}): "
                "read it again and apply your edit to it"
            )
        edited = rules.edit(review, changes, now)
        await self._save(edited)
        await self._tell_review(edited)
        return edited

    async def publish(self, review_id: str, by: str, now: datetime) -> Review:
        published = rules.publish(await self.get(review_id), by, now)
        await self._save(published)
        await self._line(
            f"{published.id}/published",
            published,
            EventKind.REVIEW_PUBLISHED,
            wording.review_published(by),
            now,
            by,
        )
        await self._tell_review(published)
        return published

    async def amend(
        self, review_id: str, changes: Mapping[str, Any], by: str, reason: str, now: datetime
    ) -> Review:
        amended = rules.amend(await self.get(review_id), changes, by, reason, now)
        await self._save(amended)
        last = amended.amendments[-1]
        await self._line(
            f"{amended.id}/amendment/{len(amended.amendments)}",
            amended,
            EventKind.REVIEW_AMENDED,
            wording.review_amended(by, reason, list(last.changes)),
            now,
            by,
        )
        return amended

    async def add_action(self, review_id: str, action: ActionItem, now: datetime) -> ActionItem:
        review = await self.get(review_id)
        if action.due_at <= now:
            raise InvalidAction("due_at must be in the future")
        # Followed before it is recorded: an item that is in the records is always followed
        # (its workflow, started first, finds it when it wakes; one whose recording failed
        # finds nothing and ends).
        await self._follow(action, review)
        await self._store.reviews.save_action(action)
        await self._line(
            f"{action.id}/added",
            review,
            EventKind.ACTION_ADDED,
            wording.action_added(action.title, action.owner, action.due_at),
            now,
            action.created_by,
        )
        return action

    async def change_action(
        self,
        action_id: str,
        *,
        status: ActionStatus | None,
        reason: str | None,
        due_at: datetime | None,
        owner: str | None,
        by: str,
        now: datetime,
    ) -> ActionItem:
        action = await self._store.reviews.action(action_id)
        if action is None:
            raise ReviewNotFound(f"no action item {action_id}")
        update: dict[str, Any] = {}
        if due_at is not None and due_at != action.due_at:
            if due_at <= now:
                raise InvalidAction("due_at must be in the future")
            update["due_at"] = due_at
        if owner is not None:
            update["owner"] = owner
        if status is not None and status is not action.status:
            if status is ActionStatus.WONT_DO and not reason:
                raise InvalidAction("say why it will not be done (reason)")
            update.update(
                status=status,
                reason=reason if status is ActionStatus.WONT_DO else None,
                closed_at=None if status.is_open else now,
                closed_by=None if status.is_open else by,
            )
        if not update:
            return action
        if not action.status.is_open and update.get("status") is None:
            raise IncidentConflict(f"action item {action_id} is {action.status.value}")
        changed = action.model_copy(update={**update, "version": action.version + 1})
        await self._store.reviews.save_action(changed)
        review = await self.get(changed.review_id)
        if not changed.status.is_open and action.status.is_open:
            await self._line(
                f"{changed.id}/closed/{changed.version}",
                review,
                EventKind.ACTION_CLOSED,
                wording.action_closed(changed.title, changed.status.value, by, changed.reason),
                now,
                by,
            )
        if changed.status.is_open and not action.status.is_open:
            await self._follow(changed, review)  # reopened: followed again
        else:
            await self._signal(action_workflow_id(changed.id), ActionItemWorkflow.changed)
        return changed

    # ---------------------------------------------------------------------------- helpers

    async def _save(self, review: Review) -> None:
        if not await self._store.reviews.save(review):
            raise IncidentConflict(f"review {review.id} was changed at the same time; try again")

    async def _line(
        self, key: str, review: Review, kind: EventKind, text: str, now: datetime, by: str
    ) -> None:
        await self._store.append_event_once(
            key,
            incident_id=review.incident_id,
            base=REVIEW_SEQ,
            kind=kind,
            text=text,
            at=now,
            actor=by,
            data={"review": review.id},
        )

    async def _tell_review(self, review: Review) -> None:
        await self._signal(review_workflow_id(review.incident_id), ReviewWorkflow.changed)

    async def _follow(self, action: ActionItem, review: Review) -> None:
        playbook = self._playbooks.for_level(review.level)
        try:
            await call_engine(
                lambda: self._client.start_workflow(
                    ActionItemWorkflow.run,
                    ActionInput(
                        action=action,
                        policy=playbook.review.actions,
                        leads=lead_targets(self._playbooks, review.type),
                    ),
                    id=action_workflow_id(action.id),
                    task_queue=self._task_queue,
                ),
                self._call_timeout,
                not_found=lambda: ReviewNotFound(action.id),
                closed=lambda: IncidentConflict(f"action item {action.id} is closed"),
            )
        except WorkflowAlreadyStartedError:
            # Reopened while the follower of its closing had not ended yet: it re-reads.
            await self._signal(action_workflow_id(action.id), ActionItemWorkflow.changed)

    async def _signal(self, workflow_id: str, signal: Any) -> None:
        """Tell a follower its records changed. Not being able to is no failure of the
        change: the follower re-reads the records whenever it wakes."""
        try:
            await call_engine(
                lambda: self._client.get_workflow_handle(workflow_id).signal(signal),
                self._call_timeout,
                not_found=lambda: ReviewNotFound(workflow_id),
                closed=lambda: IncidentConflict(workflow_id),
            )
        except (ReviewNotFound, IncidentConflict):
            pass  # nothing follows it any more (published, closed)
        except TemporalUnavailable:
            log.warning("could not tell %s of a change; it sees it when it wakes", workflow_id)
