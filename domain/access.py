"""Who may do what: roles, what each permits, and who a request acts as.

A token has one role. A token bound to a roster person acts as that person: the ``by`` of a
request is theirs, and a ``by`` naming someone else is refused unless the token may act for
others (an integration's token, or an admin's).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # reads
    RESPONDER = "responder"  # declares, acknowledges, updates, classifies, mitigates, resolves
    LEAD = "lead"  # and changes levels, runs drills, owns reviews
    COMMS = "comms"  # reads, and approves what customers are told
    ADMIN = "admin"  # everything, tokens and subscribers included


class Permission(StrEnum):
    READ = "read"
    RESPOND = "respond"
    LEAD = "lead"
    COMMUNICATE = "communicate"
    # Planned work is the lead's call as much as the comms lead's: both schedule it.
    PLAN_MAINTENANCE = "plan_maintenance"
    ADMINISTER = "administer"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.RESPONDER: frozenset({Permission.READ, Permission.RESPOND}),
    Role.LEAD: frozenset(
        {Permission.READ, Permission.RESPOND, Permission.LEAD, Permission.PLAN_MAINTENANCE}
    ),
    Role.COMMS: frozenset({Permission.READ, Permission.COMMUNICATE, Permission.PLAN_MAINTENANCE}),
    Role.ADMIN: frozenset(Permission),
}


def grants(role: Role) -> frozenset[Permission]:
    return _GRANTS[role]


def permits(roles: list[Role], permission: Permission) -> bool:
    """Whether any of ``roles`` grants ``permission`` (a Slack user may hold several)."""
    return any(permission in _GRANTS[role] for role in roles)


def describe(permission: Permission) -> str:
    """What a permission lets one do, for a refusal."""
    return _WHAT[permission]


class Forbidden(Exception):
    """The token's role may not do this, or it may not act as the person named (403)."""


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: the token's name and role, and the person it is bound to."""

    token: str
    role: Role
    person: str | None = None
    acts_for_others: bool = False

    def may(self, permission: Permission) -> bool:
        return permission in grants(self.role)

    def require(self, permission: Permission) -> None:
        if not self.may(permission):
            raise Forbidden(
                f"the token {self.token!r} has the role {self.role.value}, which may not "
                f"{_WHAT[permission]}"
            )

    def acting(self, by: str | None) -> str:
        """The name a change is recorded under."""
        if self.person is None or self.acts_for_others or self.role is Role.ADMIN:
            if by is None or not by.strip():
                return self.person or self.token
            return by
        if by is not None and by.strip() and by.strip() != self.person:
            raise Forbidden(
                f"the token {self.token!r} acts as {self.person}; it may not act as {by!r}"
            )
        return self.person


_WHAT = {
    Permission.READ: "read",
    Permission.RESPOND: "respond to incidents (declare, acknowledge, update, resolve)",
    Permission.LEAD: "lead (change levels, run drills, write reviews)",
    Permission.COMMUNICATE: "approve what customers are told",
    Permission.PLAN_MAINTENANCE: "schedule, move or cancel planned maintenance",
    Permission.ADMINISTER: "administer tokens and subscribers",
}
