"""A playbook directory with an external partner, for tests and examples (ADR 0027)."""

from __future__ import annotations

import shutil
from pathlib import Path

from playbooks.base import DEFAULT_DIR

# Written among the functions, as roster.yaml holds it: a partner is no function of ours.
PARTNER = """\
  cloudhost:
    partner: true
    respond_within: 30m
    contacts:
      - {name: CloudHost NOC, email: noc@cloudhost.example}
      - {name: CloudHost duty manager, slack_user_id: U0CLOUD01, email: duty@cloudhost.example}
"""

# Level A service outages call the hosting provider in at once.
STEP = """\
partners:
  - partner: cloudhost
    after: 0s
    types: [service_outage]
"""


def partner_playbooks(target: Path) -> Path:
    """A copy of the bundled playbooks in ``target`` whose roster has the ``cloudhost``
    partner and whose level A engages it at declaration for a service outage."""
    shutil.copytree(DEFAULT_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    roster = target / "roster.yaml"
    text = roster.read_text(encoding="utf-8")
    anchor = "  leadership:\n"
    assert anchor in text, "the bundled roster changed; update testkit.partners"
    roster.write_text(text.replace(anchor, PARTNER + anchor, 1), encoding="utf-8")
    level_a = target / "level-a.yaml"
    level_a.write_text(level_a.read_text(encoding="utf-8") + STEP, encoding="utf-8")
    return target
