"""What a lead reads about a failed what-if: the replay's own account, never another error's
text (which can name a database or hold SQL)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from workflows.playtest.timers import StalledClock
from workflows.whatif.client import reason


def activity_failure(cause: BaseException) -> ActivityError:
    failure = ActivityError(
        "Activity task failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="replay_what_if",
        activity_id="1",
        retry_state=RetryState.MAXIMUM_ATTEMPTS_REACHED,
    )
    failure.__cause__ = cause
    return failure


def test_a_stalled_clock_reaches_the_lead_in_its_own_words() -> None:
    stalled = StalledClock(timedelta(minutes=5))
    failure = activity_failure(ApplicationError(str(stalled), type="WhatIfFailed"))

    assert reason(failure) == str(stalled)
    assert reason(failure).startswith("the rehearsal's clock could not move on by 5m")


def test_any_other_failure_points_to_the_worker_log() -> None:
    leaky = ApplicationError(
        "could not connect to postgresql://tocsin:hunter2@db/records", type="OperationalError"
    )

    assert reason(activity_failure(leaky)) == "the replay stopped; the worker's log says why"
