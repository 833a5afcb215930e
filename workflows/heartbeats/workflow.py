"""HeartbeatWorkflow: one per monitor, a timer that each beat resets.

The timer falls due at the last beat (or the monitor's start) plus interval and grace. Then
the monitor raises its alarm through the alert intake, as an alert group would; the next
beat resolves it the same way. Under a maintenance window over the monitor's service the
alarm waits for the window's end and is raised then only if no beat came meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.heartbeats import BeatState, HeartbeatStatus
    from workflows import retry
    from workflows.heartbeats.activities import HeartbeatActivities
    from workflows.heartbeats.models import (
        AlarmInput,
        AlarmResult,
        BeatIn,
        HeartbeatInput,
        HeartbeatView,
    )

_ALARM_TIMEOUT = timedelta(minutes=1)


@workflow.defn
class HeartbeatWorkflow:
    @workflow.init
    def __init__(self, input: HeartbeatInput) -> None:
        self._monitor = input.monitor
        self._state = input.resume or BeatState(configured_at=workflow.info().start_time)
        self._beats: list[BeatIn] = []
        self._incident_id: str | None = None
        self._quiet_until: datetime | None = None

    @workflow.signal
    def beat(self, beat: BeatIn) -> None:
        self._beats.append(beat)

    @workflow.query
    def view(self) -> HeartbeatView:
        return HeartbeatView(
            monitor=self._monitor, state=self._state, incident_id=self._incident_id
        )

    @workflow.run
    async def run(self, input: HeartbeatInput) -> None:
        while True:
            if self._beats:
                await self._take_beats()
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    input.model_copy(update={"monitor": self._monitor, "resume": self._state})
                )
            if self._state.down_since is not None:
                await workflow.wait_condition(lambda: bool(self._beats))
                continue
            now = workflow.now()
            due = self._state.next_due(self._monitor)
            target = self._quiet_until or (
                due if now < due else self._state.alarm_at(self._monitor)
            )
            try:
                await workflow.wait_condition(
                    lambda: bool(self._beats), timeout=max(target - now, timedelta(0))
                )
            except TimeoutError:
                await self._fell_due()

    async def _fell_due(self) -> None:
        if self._quiet_until is None and workflow.now() < self._state.alarm_at(self._monitor):
            self._state = self._state.model_copy(update={"status": HeartbeatStatus.LATE})
            return
        await self._alarm()

    async def _take_beats(self) -> None:
        beats, self._beats = self._beats, []
        self._monitor = beats[-1].monitor
        was_down = self._state.down_since is not None
        # Stamped as the engine applies them: its clock is the one every timer here runs on.
        self._state = self._state.model_copy(
            update={
                "last_beat_at": workflow.now(),
                "beats": self._state.beats + len(beats),
                "status": HeartbeatStatus.UP,
            }
        )
        self._quiet_until = None
        if was_down:
            await self._raise(firing=False)
            self._state = self._state.model_copy(update={"down_since": None})
            self._incident_id = None

    async def _alarm(self) -> None:
        now = workflow.now()
        self._state = self._state.model_copy(
            update={"down_since": now, "status": HeartbeatStatus.DOWN}
        )
        result = await self._raise(firing=True)
        if result.quiet_until is not None:
            # Under maintenance: no incident, and the question is asked again at its end.
            self._state = self._state.model_copy(update={"down_since": None})
            self._quiet_until = result.quiet_until
            return
        self._quiet_until = None
        self._incident_id = result.incident_id

    async def _raise(self, *, firing: bool) -> AlarmResult:
        return await workflow.execute_activity_method(
            HeartbeatActivities.raise_alarm,
            AlarmInput(monitor=self._monitor, state=self._state, firing=firing,
                       at=workflow.now()),
            start_to_close_timeout=_ALARM_TIMEOUT,
            retry_policy=retry.URGENT,
        )  # fmt: skip
