"""The workflow engine's errors as the domain's: what every client calls Temporal through.

A workflow fails an update with an ``ApplicationError`` of one of the types below; the client
turns it into the domain error the HTTP edge maps to a status code (404, 409, 422, 503).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import (
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import (
    IncidentConflict,
    InvalidAction,
    StatementNotFound,
    TemporalUnavailable,
)
from workflows.protocol import CONFLICT, INVALID, NOT_FOUND

_T = TypeVar("_T")
log = logging.getLogger(__name__)

# Every call to Temporal is bounded: a slow or stalled engine is a 503, not a hung request.
CALL_TIMEOUT = 10.0


async def call_engine(
    call: Callable[[], Awaitable[_T]],
    within: float,
    *,
    not_found: Callable[[], Exception],
    closed: Callable[[], Exception],
    again: bool = False,
) -> _T:
    """``call`` within the time bound, its failures as the domain's errors: an engine that is
    slow, down or failing is ``TemporalUnavailable`` (503), never an exception the caller does
    not expect. ``not_found`` and ``closed`` name what is missing or over. ``again``: the call
    is an update with an id of its own, which the server takes only once however often it is
    sent, so it is sent again when the server gives up waiting for it (``_patiently``)."""
    try:
        async with asyncio.timeout(within):
            return await _patiently(call, again)
    except WorkflowAlreadyStartedError:
        raise
    except TimeoutError:
        raise TemporalUnavailable(
            f"no answer from the workflow engine within {within:g}s"
        ) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise TemporalUnavailable("the workflow engine did not finish the update in time") from None
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            if cause.type == CONFLICT:
                raise IncidentConflict(cause.message) from None
            if cause.type == NOT_FOUND:
                raise StatementNotFound(cause.message) from None
            if cause.type == INVALID:
                raise InvalidAction(cause.message) from None
        log.error("a workflow failed an update: %r", cause)
        raise TemporalUnavailable(
            "the workflow could not apply the change", answered=True
        ) from None
    except WorkflowQueryFailedError as exc:
        raise TemporalUnavailable(str(exc)) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise not_found() from None
        if exc.status == RPCStatusCode.FAILED_PRECONDITION and "completed" in exc.message:
            # An update sent to a finished workflow.
            raise closed() from None
        raise TemporalUnavailable(exc.message) from None


async def _patiently(call: Callable[[], Awaitable[_T]], again: bool) -> _T:
    """Temporal refuses an update for the moment when ten are already in flight on one
    workflow (RESOURCE_EXHAUSTED): a burst of deliveries to one alert group. It says to try
    again; so do we, backing off, until the caller's time bound runs out.

    A server also stops waiting for a busy workflow to take an update after a wait of its own
    (DEADLINE_EXCEEDED from the server, after 10 to 20 s on a loaded machine), however long
    the caller allowed: an update that can be sent twice (``again``) is sent again while the
    caller's bound lasts. The bound itself cancels the call, which is never sent again."""
    pause = 0.05
    while True:
        try:
            return await call()
        except RPCError as exc:
            if exc.status != RPCStatusCode.RESOURCE_EXHAUSTED:
                raise
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            if not again or not isinstance(exc.__cause__, RPCError):
                raise
            log.warning("the workflow engine gave up waiting for an update; sending it again")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 1.0)
