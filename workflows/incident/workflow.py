"""IncidentWorkflow: one durable workflow per incident.

Every deadline (escalation steps, the response window, re-pages after a breach, update
reminders) is a Temporal timer, so a restart of any process never loses or delays one. The
rules live in ``domain.rules`` as pure functions; this class holds the handlers and the timer
loop, and its base class ``IncidentEffects`` (``effects.py``) the plumbing of side effects.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

# Workflow code like this module: imported, and guarded, by the sandbox as this module is.
from workflows.incident.effects import IncidentEffects

with workflow.unsafe.imports_passed_through():
    from domain.alerts import AlertBatch, AlertOutcome, AlertResult
    from domain.errors import IncidentConflict, InvalidAction
    from domain.models import Incident, Status
    from domain.notify import Failure
    from domain.playbook import PlaybookSet
    from domain.rules import alert_group, checks, deadlines, lifecycle, partners
    from domain.rules.lifecycle import ALERTMANAGER
    from workflows.ids import alert_incident_id
    from workflows.incident import patches
    from workflows.incident.models import (
        AckInput,
        ChangeLevelInput,
        IncidentInput,
        MitigateInput,
        PartnerAckInput,
        PostUpdateInput,
        ResolveInput,
    )
    from workflows.protocol import INVALID, NOTIFICATION_FAILED, refused

__all__ = ["ALERTMANAGER", "IncidentWorkflow"]


@workflow.defn
class IncidentWorkflow(IncidentEffects):
    @workflow.init
    def __init__(self, input: IncidentInput) -> None:
        self._playbooks: PlaybookSet = input.playbooks
        if input.resume is not None:
            self._s = input.resume
        else:
            started = workflow.info().workflow_start_time
            incident_id = input.incident_id
            if input.alert_group_id is not None:
                incident_id = alert_incident_id(input.alert_group_id, started)
            self._s = lifecycle.open_incident(
                input.declaration(),
                incident_id=incident_id,
                declared_at=input.declared_at or started,
                playbooks=input.playbooks,
            )
        self._resumed = input.resume is not None
        self._declared_by = input.declared_by
        self._opened_by_request = input.opened_by_request
        self._wake = False
        self._late_steps: bool | None = None
        self._partners: bool | None = None
        self._init_effects()

    # ----------------------------------------------------------------------------- run loop

    @workflow.run
    async def run(self, input: IncidentInput) -> Incident:
        self._ensure_declared()
        while True:
            await self._respond(input)
            if not await self._reopened():
                break
        return self._inc

    async def _reopened(self) -> bool:
        """An alert incident stays open to its group for ``reopen_within`` after it resolved,
        so a flapping alert reopens it instead of opening another incident."""
        until = self._s.reopen_until
        self._flush()
        if until is not None and until > workflow.now():
            try:
                await workflow.wait_condition(
                    lambda: self._inc.status is not Status.RESOLVED,
                    timeout=until - workflow.now(),
                )
                return True
            except TimeoutError:
                pass
        await self._drain()
        # An alert delivery handled while draining may have reopened it after all.
        return self._inc.status is not Status.RESOLVED

    async def _respond(self, input: IncidentInput) -> None:
        while self._inc.status is not Status.RESOLVED:
            self._flush()
            if workflow.info().is_continue_as_new_suggested():
                await self._drain()
                workflow.continue_as_new(
                    input.model_copy(update={"resume": self._s, "playbooks": self._playbooks})
                )
            due = deadlines.next_due(self._s, self._playbooks, partners=self._with_partners())
            self._wake = False
            if due is None:
                await workflow.wait_condition(lambda: self._wake)
                continue
            delay = due - workflow.now()
            if delay > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: self._wake, timeout=delay)
                    continue  # a handler changed the state: recompute what is due next
                except TimeoutError:
                    pass
            # Timers never fire early; comparing against the instant waited for keeps
            # sub-millisecond rounding from postponing a breach by another loop.
            if self._late_steps is None:
                self._late_steps = workflow.patched(patches.LATE_STEPS_FIRED)
            at = max(workflow.now(), due)
            self._apply(
                lifecycle.fire_due(self._s, self._playbooks, at, late_steps=self._late_steps)
            )
            if self._with_partners():
                self._apply(partners.fire_partners(self._s, self._playbooks, at))

    def _with_partners(self) -> bool:
        """Asked first when the run loop looks for what is due, so histories from before
        partners replay without the marker and keep the deadlines they had."""
        if self._partners is None:
            self._partners = workflow.patched(patches.PARTNERS_ENGAGED)
        return self._partners

    def _ensure_declared(self) -> None:
        """Declare once, from whichever runs first: the run method or, under update-with-start,
        the update handler (Temporal delivers the update in the workflow's first activation)."""
        if self._resumed or self._s.seq > 0:
            return
        self._apply(lifecycle.declare(self._s, self._playbooks, self._declared_by, workflow.now()))

    # ----------------------------------------------------------------------------- updates

    @workflow.update
    def current(self) -> Incident:
        """The state right now; used with update-with-start so a declaration returns it."""
        return self._inc

    @workflow.update
    def acknowledge(self, input: AckInput) -> Incident:
        self._apply(
            lifecycle.acknowledge(
                self._s, self._playbooks, input.by, workflow.now(), acted_at=input.acted_at
            )
        )
        return self._changed()

    @acknowledge.validator
    def _validate_acknowledge(self, input: AckInput) -> None:
        refused(lambda: checks.check_acknowledge(self._s, input.incident_id))

    @workflow.signal
    def acknowledgement_taken(self, input: AckInput) -> None:
        """An acknowledgement the API took while no worker answered its update in time
        (ADR 0038). Temporal keeps a signal in the history at once, where an update nobody
        accepted yet can be lost; applied as the update would have been, from the press.
        Refused silently once someone acknowledged first or the incident is resolved: the
        update, had it arrived too, is then the one that counted."""
        self._ensure_declared()
        try:
            checks.check_acknowledge(self._s, input.incident_id)
            outcome = lifecycle.acknowledge(
                self._s, self._playbooks, input.by, workflow.now(), acted_at=input.acted_at
            )
        except (IncidentConflict, InvalidAction):
            return
        except Exception:
            # A signal handler that raises fails the workflow task, and every retry of it,
            # for as long as the signal is in the history: the incident would stop. An update
            # that raised would only have failed its caller.
            workflow.logger.exception("a kept acknowledgement of %s failed", input.incident_id)
            return
        self._apply(outcome)
        self._changed()

    @workflow.update
    def acknowledge_partner(self, input: PartnerAckInput) -> Incident:
        self._apply(
            partners.acknowledge_partner(
                self._s,
                self._playbooks,
                input.partner,
                input.by,
                workflow.now(),
                acted_at=input.acted_at,
            )
        )
        return self._changed()

    @acknowledge_partner.validator
    def _validate_acknowledge_partner(self, input: PartnerAckInput) -> None:
        refused(lambda: checks.check_acknowledge_partner(self._s, input.partner, input.incident_id))

    @workflow.update
    def change_level(self, input: ChangeLevelInput) -> Incident:
        self._apply(
            lifecycle.change_level(
                self._s, self._playbooks, input.level, input.reason, input.by, workflow.now()
            )
        )
        return self._changed()

    @change_level.validator
    def _validate_change_level(self, input: ChangeLevelInput) -> None:
        refused(lambda: checks.check_change_level(self._s, input.level, input.incident_id))

    @workflow.update
    def post_update(self, input: PostUpdateInput) -> Incident:
        self._apply(
            lifecycle.post_update(self._s, self._playbooks, input.text, input.by, workflow.now())
        )
        return self._changed()

    @post_update.validator
    def _validate_post_update(self, input: PostUpdateInput) -> None:
        refused(lambda: checks.check_open(self._s, "post an update to", input.incident_id))

    @workflow.update
    def mitigate(self, input: MitigateInput) -> Incident:
        self._apply(
            lifecycle.mitigate(self._s, self._playbooks, input.by, input.note, workflow.now())
        )
        return self._changed()

    @mitigate.validator
    def _validate_mitigate(self, input: MitigateInput) -> None:
        refused(lambda: checks.check_mitigate(self._s, input.incident_id))

    @workflow.update
    def resolve(self, input: ResolveInput) -> Incident:
        self._apply(
            lifecycle.resolve(self._s, self._playbooks, input.by, input.summary, workflow.now())
        )
        return self._changed()

    @resolve.validator
    def _validate_resolve(self, input: ResolveInput) -> None:
        refused(lambda: checks.check_open(self._s, "resolve", input.incident_id))

    @workflow.query
    def state(self) -> Incident:
        return self._inc

    @workflow.update
    def alerts(self, batch: AlertBatch) -> AlertResult:
        """A delivery (or part of one) from Alertmanager for this incident's alert group."""
        return self._receive(batch)

    def _receive(self, batch: AlertBatch) -> AlertResult:
        self._ensure_declared()
        # The request that started the workflow opened the incident, even when a concurrent
        # delivery's update happened to be applied first.
        opened = batch.request_id == self._opened_by_request and not self._s.opening_reported
        outcome, result = alert_group.receive_alerts(
            self._s,
            self._playbooks,
            batch,
            workflow.now(),
            opened=opened,
            ask_to_confirm=self._confirm_cleared(),
        )
        self._apply(outcome)
        if result.outcome is not AlertOutcome.DUPLICATE:
            self._dirty = True
        result.incident = self._changed()
        return result

    @workflow.signal
    def alert_delivery(self, batch: AlertBatch) -> None:
        """A delivery stored by signal-with-start (ADR 0011): applied as the update is, with
        no one waiting for the answer. A batch of another group cannot reach here: the
        workflow id names the group."""
        if self._inc.alert_group != batch.alert_group:
            workflow.logger.warning("alert batch of another group ignored: %s", batch.alert_group)
            return
        self._receive(batch)

    @alerts.validator
    def _validate_alerts(self, batch: AlertBatch) -> None:
        if self._inc.alert_group != batch.alert_group:
            raise ApplicationError(
                f"incident {self._inc.id} belongs to another alert group",
                type=INVALID,
                non_retryable=True,
            )

    def _changed(self) -> Incident:
        self._wake = True
        self._flush()
        return self._inc

    def _confirm_cleared(self) -> bool:
        """Asked only when alerts arrive, where the answer matters; an incident whose alerts
        cleared unacknowledged before this patch keeps waiting silently, as it did."""
        return workflow.patched(patches.CONFIRM_CLEARED)

    @workflow.signal(name=NOTIFICATION_FAILED)
    def notification_failed(self, failure: Failure) -> None:
        """A pager could not deliver a direct message about this incident, for good."""
        self._note_failure(failure)
