"""What the API, the CLI and Slack call to act on customer statements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import IncidentConflict, StatementNotFound
from domain.models import Actor, Incident, Level
from domain.playbook import CustomerPolicy, PlaybookSet
from domain.statements import Stage, Statement
from workflows.engine import CALL_TIMEOUT, call_engine
from workflows.ids import incident_of_message, statements_workflow_id
from workflows.queues import STATEMENTS
from workflows.statements.models import (
    ApproveInput,
    CorrectInput,
    DraftInput,
    IncidentChanged,
    RejectInput,
    StatementsInput,
)
from workflows.statements.workflow import StatementsWorkflow

_T = TypeVar("_T")


async def tell_statements(
    client: Client, task_queue: str, incident: Incident, policies: dict[Level, CustomerPolicy]
) -> None:
    """The incident's statements workflow hears of a change that matters to customers; it
    starts when customers are to be told (signal-with-start)."""
    change = IncidentChanged(incident=incident, policies=policies)
    workflow = statements_workflow_id(incident.id)
    if policies[incident.level].applies(incident.type):
        await client.start_workflow(
            StatementsWorkflow.run,
            StatementsInput(incident=incident, policies=policies),
            id=workflow,
            task_queue=task_queue,
            # Drafts wait for the incidents' own work in a backlog (ADR 0022).
            priority=STATEMENTS,
            start_signal="incident_changed",
            start_signal_args=[change],
        )
        return
    try:
        await client.get_workflow_handle(workflow).signal(
            StatementsWorkflow.incident_changed, change
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise  # retried; NOT_FOUND: nothing is told of this incident


Handle = WorkflowHandle[StatementsWorkflow, Any]


class StatementService:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        playbooks: PlaybookSet,
        *,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._playbooks = playbooks
        self._call_timeout = call_timeout

    async def draft(
        self, incident: Incident, stage: Stage, by: Actor, body: str | None = None
    ) -> Statement:
        """A statement drafted for ``incident``: its statements workflow starts if customers
        were not to be told of it so far (an internal incident somebody decided to announce)."""
        operation = WithStartWorkflowOperation(
            StatementsWorkflow.run,
            StatementsInput(
                incident=incident,
                policies={level: p.customers for level, p in self._playbooks.levels.items()},
            ),
            id=statements_workflow_id(incident.id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return await self._call(
            incident.id,
            lambda: self._client.execute_update_with_start_workflow(
                StatementsWorkflow.draft,
                DraftInput(stage=stage, body=body, by=by),
                start_workflow_operation=operation,
            ),
        )

    async def approve(self, message_id: str, by: Actor, body: str | None = None) -> Statement:
        return await self._update(
            message_id,
            lambda handle: handle.execute_update(
                StatementsWorkflow.approve, ApproveInput(message_id=message_id, body=body, by=by)
            ),
        )

    async def reject(self, message_id: str, reason: str, by: Actor) -> Statement:
        return await self._update(
            message_id,
            lambda handle: handle.execute_update(
                StatementsWorkflow.reject,
                RejectInput(message_id=message_id, reason=reason, by=by),
            ),
        )

    async def correct(self, message_id: str, body: str, by: Actor) -> Statement:
        return await self._update(
            message_id,
            lambda handle: handle.execute_update(
                StatementsWorkflow.correct,
                CorrectInput(message_id=message_id, body=body, by=by),
            ),
        )

    async def statement(self, message_id: str) -> Statement:
        """The statement as its workflow holds it now."""
        messages = await self._update(
            message_id, lambda handle: handle.query(StatementsWorkflow.messages)
        )
        for message in messages:
            if message.id == message_id:
                return message
        raise StatementNotFound(f"no statement {message_id}")

    async def _update(
        self,
        message_id: str,
        call: Callable[[WorkflowHandle[StatementsWorkflow, Any]], Awaitable[_T]],
    ) -> _T:
        try:
            incident_id = incident_of_message(message_id)
        except ValueError:
            raise StatementNotFound(f"no statement {message_id}") from None
        handle = self._client.get_workflow_handle_for(
            StatementsWorkflow.run, statements_workflow_id(incident_id)
        )
        return await self._call(incident_id, lambda: call(handle))

    async def _call(self, incident_id: str, call: Callable[[], Awaitable[_T]]) -> _T:
        return await call_engine(
            call,
            self._call_timeout,
            not_found=lambda: StatementNotFound(f"no statements for incident {incident_id}"),
            closed=lambda: IncidentConflict(
                f"the statements of incident {incident_id} are closed: corrections are taken "
                "for 7 days after it is resolved"
            ),
        )
