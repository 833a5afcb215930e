"""What the API, the CLI and Slack call to run drills: start one, classify a drill incident,
enter the lead's scores, and keep the drills' Temporal Schedules (create, list, pause,
unpause, trigger)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.records import RecordsStore
from domain import wording
from domain.actions import IncidentActions
from domain.drills import (
    Classification,
    DrillReport,
    DrillRun,
    DrillStatus,
    Expect,
    LeadScores,
    Scenario,
    drill_id,
    drill_report,
)
from domain.drills import (
    Schedule as DrillSchedule,
)
from domain.errors import DrillNotFound, IncidentConflict, IncidentNotFound, InvalidAction
from domain.models import Actor, EventKind, Function, Incident, IncidentType, Level
from domain.playbook import PlaybookSet
from domain.reviews import REVIEW_SEQ
from playbooks.roster import RosterSource
from workflows.drills.activities import compute_scores, lease_name
from workflows.drills.models import DrillIncidentChanged, DrillInput
from workflows.drills.workflow import DrillWorkflow
from workflows.engine import CALL_TIMEOUT, call_engine

log = logging.getLogger(__name__)


def schedule_id(scenario: str) -> str:
    return f"drill-schedule-{scenario}"


def manual_workflow_id(scenario: str) -> str:
    """A run started by hand: one per scenario at a time, enforced by Temporal itself."""
    return f"drill-{scenario}"


# Each cron field's full range: Temporal keeps a cron expression as calendar ranges.
_FULL = {"minute": (0, 59), "hour": (0, 23), "day_of_month": (1, 31), "month": (1, 12)}


def _field(ranges: Sequence[ScheduleRange], full: tuple[int, int] | None) -> str:
    parts = []
    for r in ranges:
        end = max(r.end, r.start)
        if full is not None and (r.start, end) == full and r.step <= 1:
            return "*"
        text = str(r.start) if end == r.start else f"{r.start}-{end}"
        parts.append(f"{text}/{r.step}" if r.step > 1 else text)
    return ",".join(parts) or "*"


def cron_of(calendar: ScheduleCalendarSpec) -> str:
    """The five cron fields of a calendar Temporal made from one."""
    week = _field(calendar.day_of_week, (0, 6))
    return " ".join(
        [
            _field(calendar.minute, _FULL["minute"]),
            _field(calendar.hour, _FULL["hour"]),
            _field(calendar.day_of_month, _FULL["day_of_month"]),
            _field(calendar.month, _FULL["month"]),
            week,
        ]
    )


async def tell_drill(client: Client, workflow_id: str, incident: Incident) -> None:
    """The drill that injected the incident follows it: it ends when all are resolved."""
    try:
        await client.get_workflow_handle(workflow_id).signal(
            DrillWorkflow.incident_changed, DrillIncidentChanged(incident=incident)
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise  # retried; NOT_FOUND: the drill is over


@dataclass(frozen=True)
class ScheduleView:
    scenario: str
    id: str
    cron: str
    timezone: str
    jitter: timedelta
    paused: bool
    note: str
    next_runs: list[datetime]
    recent_runs: list[datetime]
    runs_so_far: int


class DrillService:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        store: RecordsStore,
        playbooks: PlaybookSet,
        scenarios: Mapping[str, Scenario],
        roster: RosterSource,
        *,
        incidents: IncidentActions | None = None,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        self._incidents = incidents
        self._client = client
        self._task_queue = task_queue
        self._store = store
        self._playbooks = playbooks
        self._scenarios = dict(scenarios)
        self._roster = roster
        self._call_timeout = call_timeout

    @property
    def scenarios(self) -> dict[str, Scenario]:
        return dict(self._scenarios)

    def scenario(self, name: str) -> Scenario:
        found = self._scenarios.get(name)
        if found is None:
            known = ", ".join(sorted(self._scenarios)) or "none"
            raise DrillNotFound(f"no drill scenario {name!r}; known scenarios: {known}")
        return found

    # ---------------------------------------------------------------------------- runs

    async def start(self, name: str, by: Actor, now: datetime) -> DrillRun:
        scenario = self.scenario(name)
        if await self._running(name):
            raise IncidentConflict(f"a {name} drill is already running; one at a time")
        run = DrillRun(
            id=drill_id(name, now),
            scenario=name,
            kind=scenario.kind,
            started_at=now,
            ends_at=now + scenario.duration,
            started_by=by.name,
            workflow_id=manual_workflow_id(name),
        )

        async def begin() -> None:
            await self._client.start_workflow(
                DrillWorkflow.run,
                DrillInput(run=run, scenario=scenario),
                id=manual_workflow_id(name),
                task_queue=self._task_queue,
            )

        try:
            await call_engine(
                begin,
                self._call_timeout,
                not_found=lambda: DrillNotFound(name),
                closed=lambda: IncidentConflict(name),
            )
        except WorkflowAlreadyStartedError:
            raise IncidentConflict(f"a {name} drill is already running; one at a time") from None
        # Recorded here too, so the run can be read as soon as this returns; whichever of
        # this and the workflow's first step comes second finds it and leaves it.
        await self._store.drills.save(run)
        return run

    async def _running(self, name: str) -> bool:
        runs = await self._store.drills.runs(scenario=name, limit=1)
        return (
            bool(runs)
            and runs[0].status is DrillStatus.RUNNING
            and (await self._store.lease_holder(lease_name(name)) == runs[0].id)
        )

    async def get(self, run_id: str) -> DrillRun:
        run = await self._store.drills.get(run_id)
        if run is None:
            raise DrillNotFound(f"no drill run {run_id}")
        return run

    async def runs(self, scenario: str | None = None, limit: int = 50) -> list[DrillRun]:
        if scenario is not None:
            self.scenario(scenario)
        return await self._store.drills.runs(scenario=scenario, limit=limit)

    async def classify(
        self, incident_id: str, level: Level, type: IncidentType, by: Actor, now: datetime
    ) -> Classification:
        incident = await self._store.get_incident(incident_id)
        recorded = incident is not None
        if incident is None and self._incidents is not None:
            # Declared a moment ago: its workflow knows it before the records do.
            incident = await self._incidents.current(incident_id)
        if incident is None:
            raise IncidentNotFound(f"no incident {incident_id}")
        if not incident.drill or incident.drill_run is None:
            raise IncidentConflict(
                f"{incident_id} is not a drill incident: classifications score drills; "
                f"change a real incident's level with `tocsin level {incident_id} {level} "
                f"--reason ...` (POST /api/v1/incidents/{incident_id}/level)"
            )
        classification = Classification(
            incident_id=incident_id, by=by.name, level=level, type=type, at=now
        )
        await self._store.drills.classify(classification)
        if not recorded:
            # The timeline line needs the incident's row; the snapshot is the workflow's own,
            # and a newer one the worker writes wins over it (``apply`` compares versions).
            await self._store.apply(incident, [])
        await self._store.append_event_once(
            f"classified/{incident_id}/{classification.by}/{now.isoformat()}",
            incident_id=incident_id,
            base=REVIEW_SEQ,
            kind=EventKind.CLASSIFIED,
            text=wording.classified(classification.by, level, type),
            at=now,
            actor=classification.by,
            data={"level": level.value, "type": type.value},
        )
        await self._rescore(incident.drill_run)
        return classification

    async def enter_lead_scores(self, run_id: str, scores: LeadScores) -> DrillRun:
        run = await self.get(run_id)
        updated = run.model_copy(update={"lead_scores": scores, "version": run.version + 1})
        await self._store.drills.save(updated)
        return await self._rescore(run_id) or updated

    async def _rescore(self, run_id: str) -> DrillRun | None:
        """A finished run is scored again when a late classification or the lead's scores
        come in; a running one is scored when it finishes."""
        run = await self._store.drills.get(run_id)
        if run is None or run.status is not DrillStatus.FINISHED:
            return run
        scenario = self._scenarios.get(run.scenario)
        if scenario is None:
            return run  # its scenario file is gone: the scores it had stay
        scores = await compute_scores(
            self._store, self._roster.current(), self._playbooks, scenario, run
        )
        rescored = run.model_copy(update={"scores": scores, "version": run.version + 1})
        await self._store.drills.save(rescored)
        return rescored

    async def report(self, run_id: str, last: int = 20) -> DrillReport:
        """The run's scores, with classification accuracy and leadership's part over the
        ``last`` runs of every scenario."""
        run = await self.get(run_id)
        recent: list[tuple[DrillRun, dict[str, Expect]]] = []
        for past in await self._store.drills.runs(limit=last):
            scenario = self._scenarios.get(past.scenario)
            if scenario is None:
                continue
            expects = {
                incident: scenario.steps[index].expect
                for index, incident in past.incidents.items()
                if index < len(scenario.steps)
            }
            recent.append((past, expects))
        if all(past.id != run.id for past, _ in recent):
            scenario = self.scenario(run.scenario)
            recent.append((run, {i: scenario.steps[n].expect for n, i in run.incidents.items()}))
        incident_ids = [i for past, _ in recent for i in past.incidents.values()]
        classifications = await self._store.drills.classifications(incident_ids)
        participants: dict[str, set[str]] = {}
        for past, _ in recent:
            who = participants.setdefault(past.id, set())
            for incident_id in past.incidents.values():
                who.update(e.actor for e in await self._store.timeline(incident_id) if e.actor)
            who.update(c.by for c in classifications if c.incident_id in past.incidents.values())
        roster = self._roster.current()
        leaders = {person.name for person in roster.members(Function.LEADERSHIP)}
        return drill_report(run, recent, classifications, participants, leaders)

    # ----------------------------------------------------------------------- schedules

    def _action(self, scenario: Scenario, now: datetime) -> ScheduleActionStartWorkflow:
        # The run's id and times are replaced by the workflow at each start (scheduled=True).
        placeholder = DrillRun(
            id=drill_id(scenario.name, now),
            scenario=scenario.name,
            kind=scenario.kind,
            started_at=now,
            ends_at=now + scenario.duration,
            started_by="schedule",
        )
        return ScheduleActionStartWorkflow(
            DrillWorkflow.run,
            DrillInput(run=placeholder, scenario=scenario, scheduled=True),
            id=f"drill-{scenario.name}-scheduled",
            task_queue=self._task_queue,
        )

    async def schedule(
        self,
        name: str,
        now: datetime,
        *,
        cron: str | None = None,
        timezone: str | None = None,
        jitter: timedelta | None = None,
        by: Actor,
    ) -> ScheduleView:
        """Create the scenario's schedule, or bring an existing one to this calendar (and
        this version of the scenario), keeping whether it is paused."""
        scenario = self.scenario(name)
        default = scenario.schedule or DrillSchedule(cron="0 10 1 * *")
        calendar = DrillSchedule(
            cron=cron or default.cron,
            timezone=timezone or default.timezone,
            jitter=jitter if jitter is not None else default.jitter,
        )
        schedule = Schedule(
            action=self._action(scenario, now),
            spec=ScheduleSpec(
                cron_expressions=[calendar.cron],
                time_zone_name=calendar.timezone,
                jitter=calendar.jitter,
            ),
            # A drill still going when the next is due: the next is skipped, not queued.
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            state=ScheduleState(note=f"created by {by.name}"),
        )

        async def create() -> None:
            try:
                await self._client.create_schedule(schedule_id(name), schedule)
            except ScheduleAlreadyRunningError:

                def replace(current: ScheduleUpdateInput) -> ScheduleUpdate:
                    schedule.state = current.description.schedule.state
                    return ScheduleUpdate(schedule=schedule)

                await self._client.get_schedule_handle(schedule_id(name)).update(replace)

        await self._engine(create, name)
        return await self.describe(name)

    async def _engine(self, call: Callable[[], Awaitable[None]], name: str) -> None:
        def missing() -> Exception:
            return DrillNotFound(
                f"no schedule for the {name} drill; create it with: tocsin drill schedule {name}"
            )

        async def refused_as_invalid() -> None:
            try:
                await call()
            except RPCError as exc:
                if exc.status is RPCStatusCode.INVALID_ARGUMENT:
                    # A calendar Temporal cannot read ("99 * * * *"): the caller's to fix.
                    raise InvalidAction(f"the schedule was refused: {exc.message}") from None
                raise

        await call_engine(refused_as_invalid, self._call_timeout, not_found=missing, closed=missing)

    def _handle(self, name: str) -> ScheduleHandle:
        self.scenario(name)
        return self._client.get_schedule_handle(schedule_id(name))

    async def describe(self, name: str) -> ScheduleView:
        handle = self._handle(name)
        found: list[ScheduleView] = []

        async def read() -> None:
            d = await handle.describe()
            spec, state, info = d.schedule.spec, d.schedule.state, d.info
            found.append(
                ScheduleView(
                    scenario=name,
                    id=d.id,
                    cron=cron_of(spec.calendars[0])
                    if spec.calendars
                    else (spec.cron_expressions or [""])[0],
                    timezone=spec.time_zone_name or "UTC",
                    jitter=spec.jitter or timedelta(0),
                    paused=state.paused,
                    note=state.note or "",
                    next_runs=list(info.next_action_times[:3]),
                    recent_runs=[a.started_at for a in info.recent_actions],
                    runs_so_far=info.num_actions,
                )
            )

        await self._engine(read, name)
        return found[0]

    async def schedules(self) -> list[ScheduleView]:
        views: list[ScheduleView] = []
        for name in sorted(self._scenarios):
            try:
                views.append(await self.describe(name))
            except DrillNotFound:
                continue
        return views

    async def pause(self, name: str, by: Actor) -> ScheduleView:
        handle = self._handle(name)

        async def pause() -> None:
            await handle.pause(note=f"paused by {by.name}")

        await self._engine(pause, name)
        return await self.describe(name)

    async def unpause(self, name: str, by: Actor) -> ScheduleView:
        handle = self._handle(name)

        async def unpause() -> None:
            await handle.unpause(note=f"unpaused by {by.name}")

        await self._engine(unpause, name)
        return await self.describe(name)

    async def trigger(self, name: str) -> ScheduleView:
        """Run the scheduled drill now; skipped, like a scheduled start, if one is going."""
        handle = self._handle(name)
        if await self._running(name):
            raise IncidentConflict(f"a {name} drill is already running; one at a time")

        async def trigger() -> None:
            await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)

        await self._engine(trigger, name)
        return await self.describe(name)

    async def unschedule(self, name: str) -> None:
        handle = self._handle(name)

        async def delete() -> None:
            await handle.delete()

        await self._engine(delete, name)
