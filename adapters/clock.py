"""The wall clock, for the edges only: workflow code reads ``workflow.now()`` and the domain
takes its instants as arguments (ruff's TID251 bans the clock there)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
