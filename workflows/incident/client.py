"""What the API and the CLI call to drive incidents: one method per lifecycle action.

It turns Temporal's errors into three domain errors the HTTP edge maps to status codes:
``IncidentNotFound`` (404), ``IncidentConflict`` (409) and ``TemporalUnavailable`` (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.clock import utcnow
from alerts.catalog import Catalog
from alerts.intake import Intake, prepare
from alerts.models import WebhookPayload
from domain.alerts import AlertBatch, AlertOutcome, AlertResult
from domain.errors import (
    AcknowledgementTaken,
    IncidentConflict,
    IncidentNotFound,
    TemporalUnavailable,
)
from domain.models import Actor, Declaration, Incident, Level
from domain.playbook import PlaybookSet
from workflows.engine import CALL_TIMEOUT, call_engine
from workflows.ids import alert_group_workflow_id, mint_incident_id, workflow_id
from workflows.incident.models import (
    AckInput,
    ChangeLevelInput,
    IncidentInput,
    MitigateInput,
    PartnerAckInput,
    PostUpdateInput,
    ResolveInput,
)
from workflows.incident.workflow import IncidentWorkflow

_T = TypeVar("_T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupResult:
    """What one Alertmanager notification did to its alert group's incident."""

    group: str
    incident: Incident | None  # None when only resolved alerts came for no open incident
    outcome: AlertOutcome | None
    new_firing: int = 0
    new_resolved: int = 0
    duplicates: int = 0

    @property
    def deduplicated(self) -> bool:
        """Nothing in the notification was news: a repeat or an HA peer's copy."""
        return self.new_firing == 0 and self.new_resolved == 0


@dataclass(frozen=True)
class AcceptedGroup:
    """A notification stored by Temporal for its group's incident; the workflow applies it
    as soon as a worker takes it. ``workflow_id`` is None when nothing was running to take
    resolved alerts (they open nothing)."""

    group: str
    workflow_id: str | None
    alerts: int


# An update can reach an alert incident's workflow in the instant it closes (its reopen window
# ran out); the next attempt then starts the group's new incident.
_CLOSING_RETRIES = 3


class IncidentService:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        playbooks: PlaybookSet,
        *,
        call_timeout: float = CALL_TIMEOUT,
        clock: Callable[[], datetime] | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        """``clock``: what an acknowledgement is stamped with as it is asked for (the API's
        and Slack's moment of the press); without one the workflow stamps it when it applies
        it. A test on the time-skipping server leaves it out: that server's time is not the
        wall clock's."""
        self._client = client
        self._task_queue = task_queue
        self._playbooks = playbooks
        self._call_timeout = call_timeout
        # An update's RPC waits as long as the call may: left unset, Temporal's client gives it
        # its own default deadline, and a large alert batch on a busy worker was refused
        # as "not finished in time" well within a longer bound the caller had set.
        self._rpc_timeout = timedelta(seconds=call_timeout)
        self._clock = clock
        # What ``raise_alerts`` grades with (drills fire alerts through the intake).
        self._catalog = catalog

    @property
    def client(self) -> Client:
        return self._client

    @property
    def task_queue(self) -> str:
        return self._task_queue

    @property
    def playbooks(self) -> PlaybookSet:
        return self._playbooks

    @property
    def call_timeout(self) -> float:
        return self._call_timeout

    async def declare(self, declaration: Declaration, incident_id: str | None = None) -> Incident:
        """Declare an incident; with ``incident_id`` (a drill's injection, retried) a second
        declaration under the same id answers the incident the first one opened."""
        if incident_id is not None:
            return await self._declare_as(declaration, incident_id)
        for _ in range(5):
            now = utcnow()
            incident_id = mint_incident_id(now)
            operation = WithStartWorkflowOperation(
                IncidentWorkflow.run,
                IncidentInput(
                    **declaration.model_dump(),
                    incident_id=incident_id,
                    playbooks=self._playbooks,
                ),
                id=workflow_id(incident_id),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            try:
                return await self._call(
                    incident_id,
                    lambda op=operation: self._client.execute_update_with_start_workflow(  # type: ignore[misc]
                        IncidentWorkflow.current,
                        start_workflow_operation=op,
                        rpc_timeout=self._rpc_timeout,
                    ),
                )
            except WorkflowAlreadyStartedError:
                # The operation's own handle holds the same error: taken here, so it is not
                # logged as "Future exception was never retrieved".
                with contextlib.suppress(WorkflowAlreadyStartedError):
                    await operation.workflow_handle()
                continue  # the random characters collided with an incident of the same day
        raise TemporalUnavailable("could not mint a free incident id")

    async def declare_at(
        self, declaration: Declaration, incident_id: str, declared_at: datetime
    ) -> Incident:
        """Declare an incident whose window counts from ``declared_at``, not from when
        Temporal took it: a rehearsal's batch, so that its incidents' timers fall together."""
        return await self._declare_as(declaration, incident_id, declared_at)

    async def _declare_as(
        self, declaration: Declaration, incident_id: str, declared_at: datetime | None = None
    ) -> Incident:
        def send() -> Awaitable[Incident]:
            # A new start operation each time it is sent (_patiently may send it again).
            operation = WithStartWorkflowOperation(
                IncidentWorkflow.run,
                IncidentInput(
                    **declaration.model_dump(),
                    incident_id=incident_id,
                    playbooks=self._playbooks,
                    declared_at=declared_at,
                ),
                id=workflow_id(incident_id),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            return self._client.execute_update_with_start_workflow(
                IncidentWorkflow.current,
                start_workflow_operation=operation,
                rpc_timeout=self._rpc_timeout,
            )

        try:
            return await self._call(incident_id, send)
        except WorkflowAlreadyStartedError:
            # Opened before and already over: its last recorded state.
            return await self.current(incident_id)

    async def receive_alerts(
        self, payload: WebhookPayload, catalog: Catalog, now: datetime | None = None
    ) -> GroupResult:
        """Bring one Alertmanager notification to its group's incident, opening it if needed.

        Update-with-start with "use existing" on a workflow id derived from the group makes
        concurrent and repeated deliveries race-free: at most one incident per group is open,
        and a delivery that loses the race joins the winner's incident."""
        intake = prepare(payload, catalog, now or utcnow())
        results: list[AlertResult] = []
        for index, batch in enumerate(intake.batches):
            if index == 0 and intake.opening is not None:
                result = await self._deliver_opening(intake, batch)
            else:
                delivered = await self._deliver(intake, batch)
                if delivered is None:
                    break
                result = delivered
            results.append(result)
        if not results:
            return GroupResult(group=intake.group, incident=None, outcome=None)
        first, last = results[0], results[-1]
        outcome = first.outcome
        if any(r.outcome is AlertOutcome.REOPENED for r in results):
            outcome = AlertOutcome.REOPENED
        elif outcome is AlertOutcome.DUPLICATE and any(
            r.outcome is not AlertOutcome.DUPLICATE for r in results
        ):
            outcome = AlertOutcome.JOINED
        return GroupResult(
            group=intake.group,
            incident=last.incident,
            outcome=outcome,
            new_firing=sum(r.new_firing for r in results),
            new_resolved=sum(r.new_resolved for r in results),
            duplicates=sum(r.duplicates for r in results),
        )

    async def raise_alerts(self, payload: Mapping[str, Any], now: datetime) -> Incident | None:
        if self._catalog is None:
            raise ValueError("raise_alerts needs the service catalog")
        notification = WebhookPayload.model_validate(payload)
        return (await self.receive_alerts(notification, self._catalog, now)).incident

    async def accept_alerts(
        self, payload: WebhookPayload, catalog: Catalog, now: datetime | None = None
    ) -> AcceptedGroup:
        """Hand a notification to its group's incident and return once Temporal has stored
        it, without waiting for a worker (ADR 0011): signal-with-start on the group's workflow
        id, as race-free as update-with-start, since Temporal serialises both on the id."""
        intake = prepare(payload, catalog, now or utcnow())
        workflow = alert_group_workflow_id(intake.group_id)
        handle = self._client.get_workflow_handle(workflow)

        async def hand_over(batch: AlertBatch, opening: bool) -> None:
            if not opening:
                await handle.signal(IncidentWorkflow.alert_delivery, batch)
                return
            try:
                await self._client.start_workflow(
                    IncidentWorkflow.run,
                    self._opening_input(intake),
                    id=workflow,
                    task_queue=self._task_queue,
                    # A group whose incident is over (past its reopen window) opens a new one.
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    start_signal="alert_delivery",
                    start_signal_args=[batch],
                )
            except WorkflowAlreadyStartedError:
                # Temporal's servers signal the running workflow instead; its time-skipping
                # test server can refuse one of two starts racing on the id. Same outcome.
                await handle.signal(IncidentWorkflow.alert_delivery, batch)

        for index, batch in enumerate(intake.batches):
            opening = index == 0 and intake.opening is not None
            try:
                await self._call(intake.group, lambda b=batch, o=opening: hand_over(b, o))  # type: ignore[misc]
            except IncidentNotFound:
                # Resolved alerts of a group with no incident running: nothing to do.
                return AcceptedGroup(intake.group, None, len(payload.alerts))
        return AcceptedGroup(intake.group, workflow, len(payload.alerts))

    def _opening_input(self, intake: Intake) -> IncidentInput:
        assert intake.opening is not None
        return IncidentInput(
            **intake.opening.model_dump(),
            incident_id="",
            playbooks=self._playbooks,
            alert_group_id=intake.group_id,
            opened_by_request=intake.request_id,
        )

    async def _deliver_opening(self, intake: Intake, batch: AlertBatch) -> AlertResult:
        # One id for every sending of this delivery: the workflow takes it once (_call's again).
        update = f"alerts-{uuid.uuid4()}"

        def send() -> Awaitable[AlertResult]:
            # A start operation is used once: a delivery sent again (ten updates already in
            # flight on the group's workflow, _patiently) sends a new one.
            operation = WithStartWorkflowOperation(
                IncidentWorkflow.run,
                self._opening_input(intake),
                id=alert_group_workflow_id(intake.group_id),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                # A group whose incident is over (past its reopen window) opens a new one.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            )
            return self._client.execute_update_with_start_workflow(
                IncidentWorkflow.alerts,
                batch,
                start_workflow_operation=operation,
                id=update,
                rpc_timeout=self._rpc_timeout,
            )

        for _ in range(_CLOSING_RETRIES):
            try:
                return await self._call(intake.group, send, again=True)
            except (IncidentNotFound, IncidentConflict):
                await asyncio.sleep(0.05)
        raise TemporalUnavailable(f"alert group {intake.group}: its workflow kept closing")

    async def _deliver(self, intake: Intake, batch: AlertBatch) -> AlertResult | None:
        """A batch for an incident that must exist already; None when there is none."""
        handle = self._client.get_workflow_handle(alert_group_workflow_id(intake.group_id))
        update = f"alerts-{uuid.uuid4()}"
        try:
            return await self._call(
                intake.group,
                lambda: handle.execute_update(
                    IncidentWorkflow.alerts, batch, id=update, rpc_timeout=self._rpc_timeout
                ),
                again=True,
            )
        except (IncidentNotFound, IncidentConflict):
            return None  # resolved alerts of a group whose incident is over: nothing to do

    async def current(self, incident_id: str) -> Incident:
        """The live state, from the running workflow."""
        handle = self._client.get_workflow_handle(workflow_id(incident_id))
        incident = await self._call(incident_id, lambda: handle.query(IncidentWorkflow.state))
        if incident.id != incident_id:
            # An alert group's workflow now runs a newer incident; this one is over.
            raise IncidentNotFound(incident_id)
        return incident

    async def acknowledge(
        self, incident_id: str, by: Actor, acted_at: datetime | None = None
    ) -> Incident:
        """The acknowledged incident; ``AcknowledgementTaken`` when no worker applied it in
        time but Temporal now holds it as a signal (ADR 0038): an update that no worker has
        accepted yet is not durable, and a responder's press must not be lost to a worker's
        restart. ``TemporalUnavailable`` only when the engine took neither."""
        ack = AckInput(
            by=by,
            incident_id=incident_id,
            acted_at=acted_at or (self._clock() if self._clock else None),
        )
        try:
            return await self._update(incident_id, IncidentWorkflow.acknowledge, ack)
        except TemporalUnavailable as exc:
            # Without a stamp the workflow would count it from whenever a worker took it; and
            # one that took the update and failed it would fail the signal the same way.
            if ack.acted_at is None or exc.answered:
                raise
            unanswered = exc
        handle = self._client.get_workflow_handle(workflow_id(incident_id))
        try:
            await self._call(
                incident_id, lambda: handle.signal(IncidentWorkflow.acknowledgement_taken, ack)
            )
        except (TemporalUnavailable, IncidentNotFound, IncidentConflict):
            raise unanswered from None
        log.warning("acknowledgement of %s kept for the next worker: %s", incident_id, unanswered)
        raise AcknowledgementTaken(incident_id, by.name, ack.acted_at)

    async def acknowledge_partner(
        self, incident_id: str, partner: str, by: Actor, acted_at: datetime | None = None
    ) -> Incident:
        """An external partner's answer, judged against its own target (ADR 0027)."""
        return await self._update(
            incident_id,
            IncidentWorkflow.acknowledge_partner,
            PartnerAckInput(
                partner=partner,
                by=by,
                incident_id=incident_id,
                acted_at=acted_at or (self._clock() if self._clock else None),
            ),
        )

    async def change_level(
        self, incident_id: str, level: Level, reason: str, by: Actor
    ) -> Incident:
        return await self._update(
            incident_id,
            IncidentWorkflow.change_level,
            ChangeLevelInput(level=level, reason=reason, by=by, incident_id=incident_id),
        )

    async def post_update(self, incident_id: str, text: str, by: Actor) -> Incident:
        return await self._update(
            incident_id,
            IncidentWorkflow.post_update,
            PostUpdateInput(text=text, by=by, incident_id=incident_id),
        )

    async def mitigate(self, incident_id: str, by: Actor, note: str = "") -> Incident:
        return await self._update(
            incident_id,
            IncidentWorkflow.mitigate,
            MitigateInput(by=by, note=note, incident_id=incident_id),
        )

    async def resolve(self, incident_id: str, by: Actor, summary: str = "") -> Incident:
        return await self._update(
            incident_id,
            IncidentWorkflow.resolve,
            ResolveInput(by=by, summary=summary, incident_id=incident_id),
        )

    async def _update(self, incident_id: str, update: Any, arg: Any) -> Incident:
        handle = self._client.get_workflow_handle(workflow_id(incident_id))
        try:
            result: Incident = await self._call(
                incident_id,
                lambda: handle.execute_update(
                    update, arg, result_type=Incident, rpc_timeout=self._rpc_timeout
                ),
            )
        except IncidentNotFound:
            # Temporal answers "not found" to an update of a closed workflow; an incident's
            # workflow closes only when the incident is resolved.
            if await self._closed(incident_id):
                raise IncidentConflict(f"incident {incident_id} is resolved") from None
            raise
        return result

    async def _closed(self, incident_id: str) -> bool:
        handle = self._client.get_workflow_handle(workflow_id(incident_id))
        try:
            async with asyncio.timeout(self._call_timeout):
                description = await handle.describe()
        except TimeoutError:
            raise TemporalUnavailable("no answer from the workflow engine") from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise TemporalUnavailable(exc.message) from None
        return description.status not in (None, WorkflowExecutionStatus.RUNNING)

    async def _call(
        self, incident_id: str, call: Callable[[], Awaitable[_T]], *, again: bool = False
    ) -> _T:
        return await call_engine(
            call,
            self._call_timeout,
            not_found=lambda: IncidentNotFound(incident_id),
            closed=lambda: IncidentConflict(f"incident {incident_id} is resolved"),
            again=again,
        )
