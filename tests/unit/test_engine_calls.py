"""How a call to the workflow engine is tried again, and when it is not."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import IncidentNotFound, TemporalUnavailable
from workflows.engine import call_engine


def _server_gave_up() -> WorkflowUpdateRPCTimeoutOrCancelledError:
    """What the SDK raises when the server answers DEADLINE_EXCEEDED to an update."""
    try:
        try:
            raise RPCError("context deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b"")
        except RPCError as err:
            raise WorkflowUpdateRPCTimeoutOrCancelledError() from err
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        return exc


class _Engine:
    """Gives up on the first ``failures`` sendings, then takes the update."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent = 0

    async def update(self) -> str:
        self.sent += 1
        if self.sent <= self.failures:
            raise _server_gave_up()
        return "taken"


async def _call(engine: _Engine, *, again: bool, within: float = 5.0) -> str:
    return await call_engine(
        engine.update,
        within,
        not_found=lambda: IncidentNotFound("x"),
        closed=lambda: IncidentNotFound("x"),
        again=again,
    )


async def test_an_update_the_server_gave_up_on_is_sent_again_when_it_can_be() -> None:
    engine = _Engine(failures=2)
    assert await _call(engine, again=True) == "taken"
    assert engine.sent == 3


async def test_an_update_that_cannot_be_sent_twice_is_a_503_at_once() -> None:
    engine = _Engine(failures=1)
    with pytest.raises(TemporalUnavailable, match="did not finish the update in time"):
        await _call(engine, again=False)
    assert engine.sent == 1


async def test_sending_again_stops_at_the_callers_bound() -> None:
    engine = _Engine(failures=10_000)
    started = asyncio.get_running_loop().time()
    with pytest.raises(TemporalUnavailable):
        await _call(engine, again=True, within=0.5)
    assert asyncio.get_running_loop().time() - started < 2


async def test_the_callers_own_bound_cancelling_an_update_is_not_sent_again() -> None:
    sent = 0

    async def slow() -> str:
        nonlocal sent
        sent += 1
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as err:
            # As the SDK does: a cancelled update is reported as timed out or cancelled.
            raise WorkflowUpdateRPCTimeoutOrCancelledError() from err
        return "late"

    with pytest.raises(TemporalUnavailable):
        await call_engine(
            slow,
            0.2,
            not_found=lambda: IncidentNotFound("x"),
            closed=lambda: IncidentNotFound("x"),
            again=True,
        )
    assert sent == 1
