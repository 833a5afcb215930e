"""Names shared across process boundaries, where no client is at hand: the signal one
process sends another from inside a workflow (a pager telling the incident that a page can
never be delivered), and the error types workflows fail updates with, which
``workflows.engine`` turns into the domain's errors."""

from __future__ import annotations

NOTIFICATION_FAILED = "notification_failed"

CONFLICT = "Conflict"
INVALID = "InvalidAction"
NOT_FOUND = "NotFound"
