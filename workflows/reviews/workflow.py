"""Following a review and its action items after the incident is over.

``ReviewWorkflow`` opens the review when the incident resolves, reminds its owner before it
is due and tells the incident's leads while it is overdue, until it is published.
``ActionItemWorkflow`` follows one action item — a reminder before its due date, then an
escalation every week while it is overdue — until it is done or dropped, for as long as that
takes: weeks after the incident's own workflow has ended.

The records hold what the review and the items say (the API writes them); these workflows
hold the timers, and re-read the records each time they wake, so a change that did not
reach them (an outage between the write and the signal) is still seen.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.reviews import ActionItem, Review
    from domain.rules import reviews as rules
    from workflows import retry
    from workflows.reviews.activities import ReviewActivities
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
        self._changed = False
        self._resolved: IncidentResolved | None = None

    @workflow.signal
    def changed(self) -> None:
        """The review was edited or published through the API."""
        self._changed = True

    @workflow.signal
    def resolved_again(self, resolved: IncidentResolved) -> None:
        self._resolved = resolved

    @workflow.run
    async def run(self, input: ReviewInput) -> str:
        review: Review | None = await workflow.execute_activity_method(
            ReviewActivities.open_review,
            input,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.PATIENT,
        )
        if self._resolved is not None and (
            self._resolved.incident.version <= input.incident.version
        ):
            self._resolved = None  # the signal that started it: already opened with it
        reminded, told = input.reminded, input.told
        while True:
            if review is None:
                return "gone"
            wake = rules.review_wake(review, input.policy, reminded, told)
            if wake is None:
                return review.status.value
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    input.model_copy(update={"reminded": reminded, "told": told})
                )
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed or self._resolved is not None,
                    timeout=max(wake.at - workflow.now(), timedelta(seconds=1)),
                )
            except TimeoutError:
                review = await workflow.execute_activity_method(
                    ReviewActivities.follow_review,
                    FollowReviewInput(
                        review_id=review.id,
                        incident_id=review.incident_id,
                        leads=input.leads,
                        overdue=wake.overdue,
                        at=workflow.now(),
                    ),
                    start_to_close_timeout=_TIMEOUT,
                    retry_policy=retry.PATIENT,
                )
                reminded, told = True, max(told, wake.overdue)
                continue
            if self._resolved is not None:
                resolved, self._resolved = self._resolved, None
                input = input.model_copy(
                    update={"incident": resolved.incident, "through_seq": resolved.through_seq}
                )
                review = await workflow.execute_activity_method(
                    ReviewActivities.open_review,
                    input,
                    start_to_close_timeout=_TIMEOUT,
                    retry_policy=retry.PATIENT,
                )
            else:
                review = await workflow.execute_activity_method(
                    ReviewActivities.current_review,
                    review.id,
                    start_to_close_timeout=_TIMEOUT,
                    retry_policy=retry.PATIENT,
                )


@workflow.defn
class ActionItemWorkflow:
    @workflow.init
    def __init__(self, input: ActionInput) -> None:
        self._changed = False

    @workflow.signal
    def changed(self) -> None:
        """The item was changed (its due date, owner) or closed through the API."""
        self._changed = True

    @workflow.run
    async def run(self, input: ActionInput) -> str:
        action: ActionItem | None = input.action
        reminded, told = input.reminded, input.told
        while True:
            if action is None:
                return "gone"
            wake = rules.action_wake(action, input.policy, reminded, told)
            if wake is None:
                return action.status.value
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    input.model_copy(update={"action": action, "reminded": reminded, "told": told})
                )
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed,
                    timeout=max(wake.at - workflow.now(), timedelta(seconds=1)),
                )
            except TimeoutError:
                action = await workflow.execute_activity_method(
                    ReviewActivities.follow_action,
                    FollowActionInput(
                        action_id=action.id,
                        leads=input.leads,
                        overdue=wake.overdue,
                        at=workflow.now(),
                    ),
                    start_to_close_timeout=_TIMEOUT,
                    retry_policy=retry.PATIENT,
                )
                reminded, told = True, max(told, wake.overdue)
                continue
            previous_due = action.due_at
            action = await workflow.execute_activity_method(
                ReviewActivities.current_action,
                action.id,
                start_to_close_timeout=_TIMEOUT,
                retry_policy=retry.PATIENT,
            )
            if action is not None and action.due_at != previous_due:
                # A new due date: its reminder and escalations start over.
                reminded, told = False, 0
