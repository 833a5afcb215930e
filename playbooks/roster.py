"""The roster as it is now on disk, read when a page is sent (ADR 0003)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from domain.oncall import Override
from domain.roster import Roster
from domain.rules.oncall import OnCall, roster_at
from playbooks.base import PlaybookError
from playbooks.loader import load_roster

log = logging.getLogger(__name__)


class RosterSource:
    """The roster as it is now on disk. Re-read when the file changes so an on-call swap
    reaches incidents already running; a broken edit keeps the last good roster."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._roster = load_roster(directory)
        self._mtime = self._stat()

    def _stat(self) -> float:
        try:
            return (self._directory / "roster.yaml").stat().st_mtime
        except OSError:
            return self._mtime

    def current(self) -> Roster:
        mtime = self._stat()
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                self._roster = load_roster(self._directory)
                log.info("roster reloaded from %s", self._directory)
            except PlaybookError as exc:
                log.error("roster edit rejected, keeping the previous roster: %s", exc)
        return self._roster

    def instant(self, incident_id: str, at: datetime) -> datetime:
        """The instant whose on-call holders a page of ``incident_id`` sent at ``at`` goes
        to: ``at`` itself, live. A rehearsal, whose server clock cannot be set to the
        instant its case names, shifts it there (``workflows.playtest.runner``)."""
        return at

    def at(self, when: datetime, overrides: Sequence[Override]) -> OnCall:
        """The roster with every schedule's tier held by whoever is on call at ``when``."""
        return roster_at(self.current(), when, overrides)


class ShiftedRoster(RosterSource):
    """The roster on disk, looked up at each incident's own instant: a page sent ``d`` after
    a rehearsed incident was declared goes to whoever holds the tier ``d`` after the instant
    its case (or record) names. Incidents not registered are looked up at ``default``."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._shifts: dict[str, timedelta] = {}
        # For an incident whose id is known only once it is open (an alert group's): the
        # cases run one at a time, so the one being opened is the one looked up.
        self.default = timedelta(0)

    def place(self, incident_id: str, declared_at: datetime, instant: datetime | None) -> None:
        """Look ``incident_id`` up as if declared at ``instant`` (None: at its own time)."""
        if instant is None:
            self._shifts.pop(incident_id, None)
        else:
            self._shifts[incident_id] = instant - declared_at

    def instant(self, incident_id: str, at: datetime) -> datetime:
        return at + self._shifts.get(incident_id, self.default)
