"""One drill run: its steps injected on their schedule through the real intake and the real
playbooks, its incidents followed until all are resolved or the drill's end comes, then
scored. Started by ``tocsin drill run``, the API, Slack, or a Temporal Schedule.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.drills import DrillRun, DrillStatus, drill_id
    from domain.models import Status
    from workflows import retry
    from workflows.drills.activities import DrillActivities
    from workflows.drills.models import DrillIncidentChanged, DrillInput, FinishInput, InjectInput

_TIMEOUT = timedelta(minutes=2)


@workflow.defn
class DrillWorkflow:
    @workflow.init
    def __init__(self, input: DrillInput) -> None:
        # Every drill incident heard of, newest snapshot wins; a change can arrive before
        # the injection that opened the incident has returned.
        self._status: dict[str, tuple[int, Status]] = {}
        self._injected: list[str] = []

    @workflow.signal
    def incident_changed(self, change: DrillIncidentChanged) -> None:
        incident = change.incident
        known = self._status.get(incident.id)
        if known is None or known[0] < incident.version:
            self._status[incident.id] = (incident.version, incident.status)

    @workflow.query
    def incidents(self) -> dict[str, str]:
        return {i: self._status.get(i, (0, Status.TRIGGERED))[1].value for i in self._injected}

    def _all_resolved(self) -> bool:
        return all(
            self._status.get(i, (0, Status.TRIGGERED))[1] is Status.RESOLVED for i in self._injected
        )

    @workflow.run
    async def run(self, input: DrillInput) -> DrillRun:
        run, scenario = input.run, input.scenario
        if input.scheduled:
            # A Schedule starts the same input each time: this run is named by its start.
            now = workflow.now()
            run = run.model_copy(
                update={
                    "id": drill_id(scenario.name, now),
                    "started_at": now,
                    "ends_at": now + scenario.duration,
                }
            )
        began: bool = await workflow.execute_activity_method(
            DrillActivities.begin_drill,
            run,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.URGENT,
        )
        if not began:
            return run  # another run of this scenario is going on: this one is skipped
        order = sorted(range(len(scenario.steps)), key=lambda i: scenario.steps[i].at)
        for index in order:
            step = scenario.steps[index]
            wait = run.started_at + step.at - workflow.now()
            if wait > timedelta(0):
                await workflow.sleep(wait)
            incident_id: str = await workflow.execute_activity_method(
                DrillActivities.inject_step,
                InjectInput(run_id=run.id, index=index, step=step, scenario=scenario.name),
                start_to_close_timeout=_TIMEOUT,
                retry_policy=retry.URGENT,
            )
            self._injected.append(incident_id)
        remaining = run.ends_at - workflow.now()
        # At the drill's end, what was not done by then counts as not done.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                self._all_resolved, timeout=max(remaining, timedelta(seconds=1))
            )
        finished: DrillRun = await workflow.execute_activity_method(
            DrillActivities.finish_drill,
            FinishInput(run_id=run.id, scenario=scenario, at=workflow.now()),
            start_to_close_timeout=_TIMEOUT,
            retry_policy=retry.URGENT,
        )
        assert finished.status is DrillStatus.FINISHED
        return finished
