"""One durable process per on-call schedule: it sleeps on a Temporal timer until the next
handoff, then tells the incoming person what they now hold and the outgoing person that they
are free. A changed schedule or a new override wakes it to look again (DESIGN §3 "On call")."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import retry
    from workflows.oncall.activities import OnCallActivities
    from workflows.oncall.models import (
        AnnounceInput,
        ChangedInput,
        HandoffInput,
        NextHandoffInput,
    )

_TIMEOUT = timedelta(minutes=1)
# A history this long is replaced by a fresh run (the schedule is all the state there is).
_HANDOFFS_PER_RUN = 200


@workflow.defn
class HandoffWorkflow:
    @workflow.init
    def __init__(self, input: HandoffInput) -> None:
        self._changed = False

    @workflow.signal
    def changed(self, input: ChangedInput) -> None:
        self._changed = True

    @workflow.run
    async def run(self, input: HandoffInput) -> None:
        for _ in range(_HANDOFFS_PER_RUN):
            self._changed = False
            upcoming = await workflow.execute_activity_method(
                OnCallActivities.next_handoff,
                NextHandoffInput(schedule=input.schedule, after=workflow.now()),
                start_to_close_timeout=_TIMEOUT,
                retry_policy=retry.PATIENT,
            )
            if upcoming.at is None:
                return  # the schedule was removed from schedules.yaml
            wait = max(upcoming.at - workflow.now(), timedelta(0))
            try:
                # A durable timer, not a poll: nothing runs until the handoff or a change.
                await workflow.wait_condition(lambda: self._changed, timeout=wait)
                continue
            except TimeoutError:
                pass
            await workflow.execute_activity_method(
                OnCallActivities.announce_handoff,
                AnnounceInput(schedule=input.schedule, at=upcoming.at),
                start_to_close_timeout=_TIMEOUT,
                retry_policy=retry.PATIENT,
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(input)
