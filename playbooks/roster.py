"""The roster as it is now on disk, read when a page is sent (ADR 0003)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from domain.oncall import Override
from domain.playbook import Roster
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

    def at(self, when: datetime, overrides: Sequence[Override]) -> OnCall:
        """The roster with every schedule's tier held by whoever is on call at ``when``."""
        return roster_at(self.current(), when, overrides)
