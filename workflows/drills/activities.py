"""Side effects of a drill run: recording it, injecting its steps through the real intake
and declaration paths, and finishing it — scoring, closing what is still open, and telling
the drill's channel how it went. Each is safe to retry: an injection is keyed by the run and
the step, so a retried one finds the incident the first opened."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import activity

from alerts.intake import DRILL_LABEL
from domain.actions import IncidentActions
from domain.drills import CLOSED_BY, DrillRun, DrillStatus, InjectAlert, Scenario, Score, score
from domain.errors import IncidentConflict, IncidentNotFound
from domain.models import (
    Actor,
    Declaration,
    EventKind,
    Function,
    Incident,
    NotificationKind,
    Role,
    Status,
    TimelineEvent,
)
from domain.notify import Notification, Notifier
from domain.playbook import PlaybookSet
from domain.reviews import REVIEW_SEQ
from domain.roster import Roster
from playbooks.roster import RosterSource
from workflows.drills.models import FinishInput, InjectInput
from workflows.outbox import Outbox

if TYPE_CHECKING:
    from adapters.records import RecordsStore

log = logging.getLogger(__name__)

TOCSIN = Actor(name=CLOSED_BY)
# The records' lease that lets one run of a scenario go on at a time.
LEASE_MARGIN = timedelta(minutes=30)


def lease_name(scenario: str) -> str:
    return f"drill:{scenario}"


def injected_incident_id(run_id: str, index: int, at: datetime) -> str:
    digest = hashlib.sha256(f"{run_id}/{index}".encode()).hexdigest()[:8]
    return f"{at:%Y%m%d}-d{digest}"


def function_of(roster: Roster, name: str | None) -> Function | None:
    if name is None:
        return None
    for function in roster.functions:
        if any(p.name == name for p in roster.members(function)):
            return function
    return None


async def compute_scores(
    records: RecordsStore,
    roster: Roster,
    playbooks: PlaybookSet,
    scenario: Scenario,
    run: DrillRun,
) -> list[Score]:
    incidents: dict[int, Incident] = {}
    for index, incident_id in run.incidents.items():
        found = await records.get_incident(incident_id)
        if found is not None:
            incidents[index] = found
    classifications = await records.drills.classifications(list(run.incidents.values()))
    leads = {
        index: playbooks.matrix.functions(step.expect.type, Role.LEAD)
        for index, step in enumerate(scenario.steps)
    }
    acked_by = {i.id: function_of(roster, i.acknowledged_by) for i in incidents.values()}
    windows = {level: p.response_window for level, p in playbooks.levels.items()}
    return score(scenario, run, incidents, classifications, leads, acked_by, windows)


class DrillActivities:
    def __init__(
        self,
        records: RecordsStore,
        notifier: Notifier,
        roster: RosterSource,
        incidents: IncidentActions,
        playbooks: PlaybookSet,
    ) -> None:
        self._records = records
        self._outbox = Outbox(records, notifier)
        self._roster = roster
        self._incidents = incidents
        self._playbooks = playbooks

    @activity.defn(name="begin_drill")
    async def begin_drill(self, run: DrillRun) -> bool:
        """Record the run, unless another run of its scenario holds the scenario's lease."""
        seconds = (run.ends_at - run.started_at + LEASE_MARGIN).total_seconds()
        if not await self._records.claim(lease_name(run.scenario), run.id, seconds):
            log.warning("drill %s skipped: another %s drill is running", run.id, run.scenario)
            return False
        if await self._records.drills.get(run.id) is None:
            workflow_id = activity.info().workflow_id
            await self._records.drills.save(run.model_copy(update={"workflow_id": workflow_id}))
        return True

    @activity.defn(name="inject_step")
    async def inject_step(self, input: InjectInput) -> str:
        run = await self._records.drills.get(input.run_id)
        assert run is not None, f"drill run {input.run_id} was not recorded"
        if input.index in run.incidents:
            return run.incidents[input.index]
        step = input.step
        now = datetime.now(UTC)
        if step.declare is not None:
            d = step.declare
            incident = await self._incidents.declare(
                Declaration(
                    title=d.title,
                    description=d.description,
                    level=d.level,
                    type=d.type,
                    service=d.service,
                    drill=True,
                    drill_run=run.id,
                    declared_by=Actor(name=f"drill {run.scenario}"),
                ),
                incident_id=injected_incident_id(run.id, input.index, run.started_at),
            )
            incident_id = incident.id
        else:
            assert step.alert is not None
            incident_id = await self._fire(run, input.index, step.alert, now)
        run.incidents[input.index] = incident_id
        run.version += 1
        await self._records.drills.save(run)
        return incident_id

    async def _fire(self, run: DrillRun, index: int, alert: InjectAlert, now: datetime) -> str:
        """The alert as Alertmanager would post it, through the intake: graded, opened."""
        group = f"drill:{run.id}:{index}"
        labels = {
            "alertname": alert.name,
            "service": alert.service,
            DRILL_LABEL: run.id,
            **alert.labels,
        }
        annotations = {"summary": alert.summary, "description": alert.description}
        payload = {
            "version": "4",
            "groupKey": group,
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "tocsin-drill",
            "groupLabels": {"alertname": alert.name},
            "commonLabels": labels,
            "commonAnnotations": {k: v for k, v in annotations.items() if v},
            "externalURL": "http://tocsin/drill",
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {k: v for k, v in annotations.items() if v},
                    "startsAt": run.started_at.isoformat(),
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": f"http://tocsin/drill/{run.id}",
                    "fingerprint": hashlib.sha256(group.encode()).hexdigest()[:16],
                }
            ],
        }
        incident = await self._incidents.raise_alerts(payload, now)
        assert incident is not None, "a firing drill alert opens an incident"
        return incident.id

    @activity.defn(name="finish_drill")
    async def finish_drill(self, input: FinishInput) -> DrillRun:
        """Score the run, close its incidents still open, and tell the drill's channel."""
        run = await self._records.drills.get(input.run_id)
        assert run is not None, f"drill run {input.run_id} was not recorded"
        if run.status is DrillStatus.FINISHED:
            return run
        # Scored first: an incident the drill's end closes was not recovered by anyone.
        scores = await compute_scores(
            self._records, self._roster.current(), self._playbooks, input.scenario, run
        )
        for incident_id in run.incidents.values():
            try:
                current = await self._incidents.current(incident_id)
                if current.status is not Status.RESOLVED:
                    await self._incidents.resolve(
                        incident_id, TOCSIN, "the drill ended; closed by tocsin"
                    )
            except (IncidentNotFound, IncidentConflict):
                pass
        finished = run.model_copy(
            update={
                "status": DrillStatus.FINISHED,
                "finished_at": input.at,
                "scores": scores,
                "version": run.version + 1,
            }
        )
        await self._records.drills.save(finished)
        await self._records.release(lease_name(run.scenario), run.id)
        await self._summarise(finished)
        return finished

    async def _summarise(self, run: DrillRun) -> None:
        """One line in the first drill incident's channel: met, and what was not."""
        if not run.incidents:
            return
        first = run.incidents[min(run.incidents)]
        incident = await self._records.get_incident(first)
        if incident is None:
            return
        met = sum(1 for s in run.scores if s.met)
        missed = ", ".join(s.target for s in run.scores if not s.met) or "none"
        text = (
            f"DRILL {run.scenario} finished: {met} of {len(run.scores)} targets met; "
            f"missed: {missed}. Report: tocsin drill report {run.id}"
        )
        key = f"drill/{run.id}/summary"
        if await self._outbox.sent(key):
            return
        event = await self._records.append_event_once(
            key,
            incident_id=incident.id,
            base=REVIEW_SEQ,
            kind=EventKind.UPDATE_POSTED,
            text=text,
            at=datetime.now(UTC),
            actor="tocsin",
        )
        line = event or TimelineEvent(
            incident_id=incident.id,
            seq=REVIEW_SEQ,
            at=datetime.now(UTC),
            kind=EventKind.UPDATE_POSTED,
            text=text,
        )
        await self._outbox.send_once(
            Notification(
                key=key,
                kind=NotificationKind.STATUS,
                incident=incident,
                event=line,
                recipient=None,
                text=f"STATUS   [{incident.id}] {text}",
            )
        )


__all__ = ["DrillActivities", "compute_scores", "injected_incident_id"]
