"""Where the bundled playbooks are, and the error every playbook file reports with."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent


class PlaybookError(Exception):
    """A playbook directory cannot be used. ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
