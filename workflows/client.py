"""What the API and the CLI call to drive incidents: one method per lifecycle action.

It turns Temporal's errors into three domain errors the HTTP edge maps to status codes:
``IncidentNotFound`` (404), ``IncidentConflict`` (409) and ``TemporalUnavailable`` (503).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from playbooks.schema import PlaybookSet
from tocsin.domain import Actor, Incident, IncidentType, Level, Source, utcnow
from workflows.incident import CONFLICT, INVALID, IncidentWorkflow
from workflows.models import (
    AckInput,
    ChangeLevelInput,
    IncidentInput,
    MitigateInput,
    PostUpdateInput,
    ResolveInput,
    workflow_id,
)

_T = TypeVar("_T")
_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class IncidentNotFound(Exception):
    pass


class IncidentConflict(Exception):
    """The action does not fit the incident's state (second ack, change of a resolved one)."""


class InvalidAction(Exception):
    """The action is well-formed but makes no sense for this incident (same level again)."""


class TemporalUnavailable(Exception):
    pass


def mint_incident_id(now: datetime) -> str:
    """``20261123-k7qz``: the day it was declared and four characters that are hard to misread."""
    suffix = "".join(secrets.choice(_ID_ALPHABET) for _ in range(4))
    return f"{now:%Y%m%d}-{suffix}"


class IncidentService:
    def __init__(self, client: Client, task_queue: str, playbooks: PlaybookSet) -> None:
        self._client = client
        self._task_queue = task_queue
        self._playbooks = playbooks

    @property
    def client(self) -> Client:
        return self._client

    async def declare(
        self,
        *,
        title: str,
        level: Level,
        type: IncidentType,
        declared_by: Actor,
        description: str = "",
        service: str | None = None,
        drill: bool = False,
        source: Source = Source.MANUAL,
    ) -> Incident:
        for _ in range(5):
            now = utcnow()
            incident_id = mint_incident_id(now)
            operation = WithStartWorkflowOperation(
                IncidentWorkflow.run,
                IncidentInput(
                    incident_id=incident_id,
                    title=title,
                    description=description,
                    level=level,
                    type=type,
                    service=service,
                    drill=drill,
                    source=source,
                    declared_by=declared_by,
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
                        IncidentWorkflow.current, start_workflow_operation=op
                    ),
                )
            except WorkflowAlreadyStartedError:
                continue  # four random characters collided with an incident of the same day
        raise TemporalUnavailable("could not mint a free incident id")

    async def current(self, incident_id: str) -> Incident:
        """The live state, from the running workflow."""
        handle = self._client.get_workflow_handle(workflow_id(incident_id))
        return await self._call(incident_id, lambda: handle.query(IncidentWorkflow.state))

    async def acknowledge(self, incident_id: str, by: Actor) -> Incident:
        return await self._update(incident_id, IncidentWorkflow.acknowledge, AckInput(by=by))

    async def change_level(
        self, incident_id: str, level: Level, reason: str, by: Actor
    ) -> Incident:
        return await self._update(
            incident_id,
            IncidentWorkflow.change_level,
            ChangeLevelInput(level=level, reason=reason, by=by),
        )

    async def post_update(self, incident_id: str, text: str, by: Actor) -> Incident:
        return await self._update(
            incident_id, IncidentWorkflow.post_update, PostUpdateInput(text=text, by=by)
        )

    async def mitigate(self, incident_id: str, by: Actor, note: str = "") -> Incident:
        return await self._update(
            incident_id, IncidentWorkflow.mitigate, MitigateInput(by=by, note=note)
        )

    async def resolve(self, incident_id: str, by: Actor, summary: str = "") -> Incident:
        return await self._update(
            incident_id, IncidentWorkflow.resolve, ResolveInput(by=by, summary=summary)
        )

    async def _update(self, incident_id: str, update: Any, arg: Any) -> Incident:
        handle = self._client.get_workflow_handle(workflow_id(incident_id))
        try:
            result: Incident = await self._call(
                incident_id, lambda: handle.execute_update(update, arg, result_type=Incident)
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
            description = await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise TemporalUnavailable(exc.message) from None
        return description.status not in (None, WorkflowExecutionStatus.RUNNING)

    async def _call(self, incident_id: str, call: Callable[[], Awaitable[_T]]) -> _T:
        try:
            return await call()
        except WorkflowAlreadyStartedError:
            raise
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == CONFLICT:
                raise IncidentConflict(cause.message) from None
            if isinstance(cause, ApplicationError) and cause.type == INVALID:
                raise InvalidAction(cause.message) from None
            raise
        except WorkflowQueryFailedError as exc:
            raise TemporalUnavailable(str(exc)) from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise IncidentNotFound(incident_id) from None
            if exc.status == RPCStatusCode.FAILED_PRECONDITION and "completed" in exc.message:
                # An update sent to a finished workflow: the incident was resolved.
                raise IncidentConflict(f"incident {incident_id} is resolved") from None
            raise TemporalUnavailable(exc.message) from None
