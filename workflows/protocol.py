"""Names shared across process boundaries, where no client is at hand: the signal one
process sends another from inside a workflow (a pager telling the incident that a page can
never be delivered), and the error types workflows fail updates with, which
``workflows.engine`` turns into the domain's errors."""

from __future__ import annotations

from collections.abc import Callable

from temporalio.exceptions import ApplicationError

from domain.errors import IncidentConflict, InvalidAction

NOTIFICATION_FAILED = "notification_failed"

CONFLICT = "Conflict"
INVALID = "InvalidAction"
NOT_FOUND = "NotFound"


def refused(check: Callable[[], None]) -> None:
    """Run a domain check as an update validator: a refusal, failed with the error type a
    client turns back into the domain's error, leaves nothing in history."""
    try:
        check()
    except IncidentConflict as exc:
        raise ApplicationError(str(exc), type=CONFLICT, non_retryable=True) from None
    except InvalidAction as exc:
        raise ApplicationError(str(exc), type=INVALID, non_retryable=True) from None
