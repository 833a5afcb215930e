"""The errors of the domain. The HTTP edge maps each to a status code: ``IncidentNotFound``
404, ``IncidentConflict`` 409, ``InvalidAction`` 422, ``TemporalUnavailable`` 503, and
``AcknowledgementTaken`` (not a failure) 202."""

from __future__ import annotations

from datetime import datetime


class IncidentNotFound(Exception):
    pass


class IncidentConflict(Exception):
    """The action does not fit the incident's state (second ack, change of a resolved one)."""


class StatementNotFound(Exception):
    """No such statement for customers (404)."""


class InvalidAction(Exception):
    """The action is well-formed but makes no sense for this incident (same level again)."""


class TemporalUnavailable(Exception):
    """The workflow engine did not answer in time, or not at all: try again shortly.
    ``answered``: the workflow did take the change and failed it (a bug, not a wait)."""

    def __init__(self, message: str, *, answered: bool = False) -> None:
        super().__init__(message)
        self.answered = answered


class AcknowledgementTaken(Exception):
    """Not a failure: an acknowledgement no worker applied within the call's bound is kept in
    the incident's workflow, stamped with the press, and applied when a worker takes it
    (ADR 0038). Unless someone acknowledged first, it counts from ``acted_at``."""

    def __init__(self, incident_id: str, by: str, acted_at: datetime) -> None:
        super().__init__(
            f"acknowledgement of {incident_id} by {by} taken at "
            f"{acted_at:%Y-%m-%d %H:%M:%S} UTC; tocsin applies it as soon as its worker takes "
            "it, counted from then"
        )
        self.incident_id = incident_id
        self.by = by
        self.acted_at = acted_at


class ReviewNotFound(Exception):
    """No such review or action item (404)."""


class DrillNotFound(Exception):
    """No such drill scenario, run or schedule (404); the message names the known ones."""


class TokenNotFound(Exception):
    """No live API token of that name (404)."""


class WhatIfNotFound(Exception):
    """No what-if replay by that id."""


class WhatIfFailed(Exception):
    """A what-if replay that cannot give its report, for a reason its lead can act on: the
    message says what happened and what to do. ``again``: whether running it again may work."""

    def __init__(self, reason: str, *, again: bool) -> None:
        super().__init__(reason)
        self.again = again


class ScheduleNotFound(Exception):
    """No on-call schedule, or no override of it, by that name or id (404)."""
