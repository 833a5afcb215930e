"""The retry policies of every activity, named by what waits on them.

All retry until they succeed: an activity that can never succeed raises a non-retryable
``ApplicationError`` (or the outbox records a permanent failure) instead of giving up after a
count. Only the pace differs.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Pages and the incident's own effects: a responder waits on them, so retries stay close.
URGENT = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)

# Customer statements: started at once, but a mail server or webhook endpoint that is down
# for minutes is waited out without hammering it.
CUSTOMERS = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)

# Reviews, action items and maintenance announcements: nobody waits on the second.
PATIENT = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)

# The heartbeat timeout of the activities a responder waits on (workflows/liveness.py): long
# enough that a worker busy with a storm still beats in time, short enough that a page held by
# a killed worker is retried within half a minute instead of its start-to-close timeout.
HEARTBEAT = timedelta(seconds=20)
