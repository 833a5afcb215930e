"""What the command centre shows beside the API's fields: the next escalation step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from api.schemas.incidents import IncidentOut
from domain.durations import format_duration
from domain.models import Status
from domain.playbook import PageTarget, PlaybookSet


@dataclass(frozen=True)
class NextStep:
    at: datetime | None
    text: str


def _who(page: list[PageTarget]) -> str:
    return ", ".join(target.describe() for target in page)


def next_step(incident: IncidentOut, playbooks: PlaybookSet, now: datetime) -> NextStep | None:
    """What the incident's process does next while nobody acknowledges it, by the playbooks in
    force now (an incident keeps the ones pinned when it started: they differ only after an
    edit of the playbook directory)."""
    if incident.acknowledged_at is not None or incident.status in (
        Status.MITIGATED,
        Status.RESOLVED,
    ):
        return None
    playbook = playbooks.for_level(incident.level)
    breach = playbook.on_breach
    if incident.window_breached:
        every = format_duration(breach.repeat_every)
        return NextStep(None, f"re-pages {_who(breach.page)} every {every} until acknowledged")
    # The deadline is the response window after the level took effect; so are the steps.
    since = incident.ack_deadline - timedelta(seconds=incident.response_window_seconds)
    steps = playbook.escalation
    for index, step in enumerate(steps):
        at = since + step.after
        if at >= incident.ack_deadline:
            break
        if at > now:
            return NextStep(at, f"step {index + 1} of {len(steps)} pages {_who(step.page)}")
    return NextStep(incident.ack_deadline, f"the window ends; the breach pages {_who(breach.page)}")
