"""A playbook directory whose technical support is on a schedule, for tests and examples."""

from __future__ import annotations

import shutil
from pathlib import Path

from playbooks.base import DEFAULT_DIR

SCHEDULES = """\
# Who holds technical support: a weekly rotation handing over on Mondays at 09:00 in Berlin,
# and on weekday evenings a follow-the-sun layer from New York.
schedules:
  support:
    time_zone: Europe/Berlin
    rotations:
      - name: weekly
        start: 2026-11-30T09:00
        shift: 1w
        people: [Ada Okafor, Ben Lindqvist]
      - name: evenings
        start: 2026-11-30T18:00
        shift: 1d
        people: [Chen Wei]
        only: {days: [mon, tue, wed, thu, fri], from: "18:00", to: "23:00"}
"""

PEOPLE = """\
people:
  - {name: Ada Okafor, slack_user_id: U0TECH001, email: ada@example.com}
  - {name: Ben Lindqvist, slack_user_id: U0TECH002, email: ben@example.com}
  - {name: Chen Wei, slack_user_id: U0TECH003, email: chen@example.com}
"""


def scheduled_playbooks(target: Path) -> Path:
    """A copy of the bundled playbooks in ``target`` where technical support's primary tier
    is the ``support`` schedule and its people are named once at the top."""
    shutil.copytree(DEFAULT_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    schedules = target / "schedules.yaml"
    (target / "schedules.yaml").write_text(SCHEDULES + shipped_schedules(target), encoding="utf-8")
    roster = target / "roster.yaml"
    text = roster.read_text(encoding="utf-8")
    old = (
        "  technical_support:\n    primary:\n"
        "      - {name: Ada Okafor, slack_user_id: U0TECH001, email: ada@example.com}\n"
        "    secondary:\n"
        "      - {name: Ben Lindqvist, slack_user_id: U0TECH002, email: ben@example.com}\n"
        "    manager:\n"
        "      - {name: Chen Wei, slack_user_id: U0TECH003, email: chen@example.com}\n"
    )
    new = (
        "  technical_support:\n    primary: {schedule: support}\n"
        "    secondary: [Ben Lindqvist]\n    manager: [Chen Wei]\n"
    )
    assert old in text, "the bundled roster changed; update testkit.oncall"
    roster.write_text(with_people(text.replace(old, new), PEOPLE), encoding="utf-8")
    assert schedules.exists()
    return target


def shipped_schedules(target: Path) -> str:
    """The schedules already in ``target``'s schedules.yaml, to follow one's own."""
    path = target / "schedules.yaml"
    if not path.exists():
        return ""
    return path.read_text(encoding="utf-8").split("\nschedules:\n", 1)[1]


def with_people(roster: str, people: str) -> str:
    """``roster`` with ``people`` (a ``people:`` list) joined to its own list, if it has one."""
    if "\npeople:\n" not in roster:
        return people + roster
    return roster.replace("\npeople:\n", "\n" + people, 1)
