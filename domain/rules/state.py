"""What an incident's workflow carries across continue-as-new."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from domain.models import Actor, Incident


class IncidentState(BaseModel):
    incident: Incident
    seq: int = 0
    level_since: AwareDatetime
    next_step: int = 0
    # The next of the current level's partner steps (LevelPlaybook.partners) to fire.
    next_partner_step: int = 0
    next_repage_at: AwareDatetime | None = None
    next_reminder_at: AwareDatetime | None = None
    # Alert incidents: fingerprint -> "<status>@<startsAt>", the last delivery seen of each
    # alert, kept compact because storms bring thousands.
    alerts: dict[str, str] = Field(default_factory=dict)
    reopen_until: AwareDatetime | None = None
    opening_reported: bool = False
    mitigated_by_alerts: bool = False
    # When the lead is next asked to confirm an incident its alerts cleared before anyone
    # acknowledged; None when nobody is asked (incidents begun before the patch).
    next_confirm_at: AwareDatetime | None = None
    # Who acknowledged: the incident's owner from then on, reminded of status updates.
    owner: Actor | None = None
