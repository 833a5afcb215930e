"""Following a review and its action items after the incident is over.

``ReviewWorkflow`` opens the review when the incident resolves, reminds its owner before it
is due and tells the incident's leads while it is overdue, until it is published.
``ActionItemWorkflow`` follows one action item — a reminder before its due date, then an
escalation every week while it is overdue — until it is done or dropped, for as long as that
takes: weeks after the incident's own workflow has ended.

The records hold what the review and the items say (the API writes them); these workflows
hold the timers, and re-read the records each time they wake, so a change that did not
reach them (an outage between the write and the signal) is still seen. Both run the one
loop of ``follow_up.py``; each says how its record is read, nudged and carried over.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.reviews import ActionItem, Review
    from domain.rules import reviews as rules
    from workflows import retry
    from workflows.reviews.activities import ReviewActivities
    from workflows.reviews.follow_up import Followed, FollowUp
    from workflows.reviews.models import (
        ActionInput,
        FollowActionInput,
        FollowReviewInput,
        IncidentResolved,
        ReviewInput,
    )

_TIMEOUT = timedelta(minutes=2)


@workflow.defn
class ReviewWorkflow:
    @workflow.init
    def __init__(self, input: ReviewInput) -> None:
        self._input = input
        self._resolved: IncidentResolved | None = None
        self._follow_up = FollowUp(
            Followed[Review](
                cadence=rules.review_cadence(input.policy),
                due_at=lambda review: review.due_at,
                is_open=rules.review_open,
                nudge=self._nudge,
                reread=self._reread,
                carried=self._carried,
                woken=lambda: self._resolved is not None,
            )
        )

    @workflow.signal
    def changed(self) -> None:
        """The review was edited or published through the API."""
        self._follow_up.changed()

    @workflow.signal
    def resolved_again(self, resolved: IncidentResolved) -> None:
        self._resolved = resolved

    @workflow.run
    async def run(self, input: ReviewInput) -> str:
        review = await self._open()
        if self._resolved is not None and (
            self._resolved.incident.version <= input.incident.version
        ):
            self._resolved = None  # the signal that started it: already opened with it
        progress = rules.Progress(reminded=input.reminded, told=input.told)
        review = await self._follow_up.run(review, progress)
        return "gone" if review is None else review.status.value

    async def _open(self) -> Review | None:
        return await workflow.execute_activity_method(
            ReviewActivities.open_review,
            self._input,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )

    async def _nudge(self, review: Review, nudge: rules.Nudge) -> Review | None:
        return await workflow.execute_activity_method(
            ReviewActivities.follow_review,
            FollowReviewInput(
                review_id=review.id,
                incident_id=review.incident_id,
                leads=self._input.leads,
                overdue=nudge.overdue,
                at=workflow.now(),
            ),
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )

    async def _reread(self, review: Review) -> Review | None:
        if self._resolved is None:
            return await workflow.execute_activity_method(
                ReviewActivities.current_review,
                review.id,
                start_to_close_timeout=_TIMEOUT,
                retry_policy=retry.PATIENT,
            )
        resolved, self._resolved = self._resolved, None
        self._input = self._input.model_copy(
            update={"incident": resolved.incident, "through_seq": resolved.through_seq}
        )
        return await self._open()

    def _carried(self, review: Review, progress: rules.Progress) -> ReviewInput:
        return self._input.model_copy(update={"reminded": progress.reminded, "told": progress.told})


@workflow.defn
class ActionItemWorkflow:
    @workflow.init
    def __init__(self, input: ActionInput) -> None:
        self._input = input
        self._follow_up = FollowUp(
            Followed[ActionItem](
                cadence=rules.action_cadence(input.policy),
                due_at=lambda action: action.due_at,
                is_open=rules.action_open,
                nudge=self._nudge,
                reread=self._reread,
                carried=self._carried,
                # Its notices' keys name the due date: a new one is reminded and told anew.
                new_due_starts_over=True,
            )
        )

    @workflow.signal
    def changed(self) -> None:
        """The item was changed (its due date, owner) or closed through the API."""
        self._follow_up.changed()

    @workflow.run
    async def run(self, input: ActionInput) -> str:
        progress = rules.Progress(reminded=input.reminded, told=input.told)
        action = await self._follow_up.run(input.action, progress)
        return "gone" if action is None else action.status.value

    async def _nudge(self, action: ActionItem, nudge: rules.Nudge) -> ActionItem | None:
        return await workflow.execute_activity_method(
            ReviewActivities.follow_action,
            FollowActionInput(
                action_id=action.id,
                leads=self._input.leads,
                overdue=nudge.overdue,
                at=workflow.now(),
            ),
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )

    async def _reread(self, action: ActionItem) -> ActionItem | None:
        return await workflow.execute_activity_method(
            ReviewActivities.current_action,
            action.id,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )

    def _carried(self, action: ActionItem, progress: rules.Progress) -> ActionInput:
        return self._input.model_copy(
            update={"action": action, "reminded": progress.reminded, "told": progress.told}
        )
