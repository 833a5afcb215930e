"""Every workflow id: minted and parsed in one place, so the API, the activities and the
workflows that signal each other agree on them."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from domain.ids import ID_ALPHABET
from domain.models import Person, Recipient

# An incident opened by Alertmanager is named after the start of its workflow and its alert
# group, so the workflow that owns it can be found from the id alone.
_ALERT_INCIDENT_ID = re.compile(r"^\d{8}-\d{6}-(?P<group>[a-z2-9]{8})$")


def workflow_id(incident_id: str) -> str:
    match = _ALERT_INCIDENT_ID.match(incident_id)
    if match:
        return alert_group_workflow_id(match["group"])
    return f"incident-{incident_id}"


def alert_group_workflow_id(group_id: str) -> str:
    """One workflow id per alert group: update-with-start on it can never open two incidents
    for one group, however many deliveries race."""
    return f"alerts-{group_id}"


def alert_incident_id(group_id: str, started: datetime) -> str:
    return f"{started:%Y%m%d-%H%M%S}-{group_id}"


def pager_workflow_id(task_queue: str, recipient: Recipient) -> str:
    """One pager per person (and per deployment: each task queue has its own workers)."""
    return person_pager_id(task_queue, recipient.person)


def person_pager_id(task_queue: str, person: Person) -> str:
    who = f"{person.name}\n{person.slack_user_id or ''}"
    digest = hashlib.sha256(who.encode()).hexdigest()[:12]
    return f"pager-{task_queue}-{digest}"


def statements_workflow_id(incident_id: str) -> str:
    return f"statements-{incident_id}"


def incident_of_message(message_id: str) -> str:
    """``20261123-k7qz-m3`` belongs to incident ``20261123-k7qz``."""
    incident_id, _, number = message_id.rpartition("-m")
    if not incident_id or not number.isdigit():
        raise ValueError(f"{message_id!r} is not a statement id")
    return incident_id


def confirm_workflow_id(subscriber_id: str) -> str:
    return f"confirm-{subscriber_id}"


def maintenance_workflow_id(maintenance_id: str) -> str:
    return f"maintenance-{maintenance_id}"


def review_workflow_id(incident_id: str) -> str:
    return f"review-{incident_id}"


def action_workflow_id(action_id: str) -> str:
    return f"action-{action_id}"


def drill_workflow_id(run_id: str) -> str:
    return f"drill-{run_id}"


def mint_incident_id(now: datetime) -> str:
    """``20261123-k7qzm4``: the day it was declared and six characters hard to misread. Six
    of 31 make a collision between 1,000 declarations of one day about 1 in 1,800 (four
    made it about 2 in 5); a collision is retried with a new id."""
    suffix = "".join(secrets.choice(ID_ALPHABET) for _ in range(6))
    return f"{now:%Y%m%d}-{suffix}"


def whatif_workflow_id(run_id: str) -> str:
    """A what-if run's id (``whatif-…``) names its workflow as it is."""
    return run_id


def handoff_workflow_id(schedule: str) -> str:
    return f"oncall-{schedule}"


def heartbeat_workflow_id(name: str) -> str:
    """One workflow per heartbeat monitor: a beat signals it, starting it if need be."""
    return f"heartbeat-{name}"
