"""Who is behind a Slack request, and whether the roster lets them do it from Slack."""

from __future__ import annotations

from collections.abc import Callable

from domain.access import Permission, describe, permits
from domain.models import Actor
from domain.roster import Roster


class People:
    def __init__(self, roster: Callable[[], Roster] | None) -> None:
        self._roster = roster

    def actor(self, user_id: str, fallback_name: str | None) -> Actor:
        """The roster's name for a Slack user; someone not in the roster still acts, under
        their Slack name, and the timeline keeps their Slack ID."""
        if self._roster is not None:
            for person in self._roster().everyone():
                if person.slack_user_id == user_id:
                    return Actor(name=person.name, slack_user_id=user_id)
        return Actor(name=fallback_name or user_id, slack_user_id=user_id)

    def refusal(self, by: Actor, permission: Permission) -> str | None:
        """Why ``by`` may not do this from Slack (the roster's ``slack_access``), or None."""
        if self._roster is None or by.slack_user_id is None:
            return None
        roles = self._roster().slack_access.roles_of(by.name, by.slack_user_id)
        if permits(roles, permission):
            return None
        held = ", ".join(r.value for r in roles) or "none"
        return (
            f"Not done: you ({by.name}) may not {describe(permission)} from Slack; the roster "
            f"gives you the role {held}. Ask someone who may, or have slack_access in "
            "roster.yaml changed."
        )
