"""A declaration with its start, refused for the moment (ten updates in flight on one
workflow), is sent again with a start operation of its own: the SDK refuses to send one twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.service import RPCError, RPCStatusCode

from domain.models import Actor, Declaration, IncidentType, Level
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_playbooks
from workflows.incident.client import IncidentService


class BusyServer:
    """Refuses the first sending as Temporal does past ten in-flight updates, then answers;
    and, as the SDK's client does, refuses a start operation that was sent before."""

    def __init__(self) -> None:
        self.operations: list[WithStartWorkflowOperation[Any, Any]] = []

    async def execute_update_with_start_workflow(self, *_: Any, **kwargs: Any) -> str:
        operation = kwargs["start_workflow_operation"]
        if operation._used:
            raise RuntimeError("WithStartWorkflowOperation cannot be reused")
        operation._used = True
        self.operations.append(operation)
        if len(self.operations) == 1:
            raise RPCError(
                "limit on number of concurrent in-flight updates has been reached (10)",
                RPCStatusCode.RESOURCE_EXHAUSTED,
                b"",
            )
        return "the incident"


async def test_a_refused_declaration_is_sent_again_with_a_new_start_operation() -> None:
    server = BusyServer()
    service = IncidentService(cast(Client, server), "tocsin", load_playbooks(DEFAULT_DIR))
    declaration = Declaration(
        title="Checkout failing",
        level=Level.B,
        type=IncidentType.SERVICE_OUTAGE,
        declared_by=Actor(name="Alice"),
    )
    answer = await service.declare_at(
        declaration, "20261206-abcdef", datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    )
    assert cast(object, answer) == "the incident"
    assert len(server.operations) == 2
    assert server.operations[0] is not server.operations[1]
