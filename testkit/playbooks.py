"""Playbook directories for real processes: the bundled matrix, roster and Slack channels with
second-scale windows, so that steps, breaches and re-pages happen within a test."""

from __future__ import annotations

import shutil
from pathlib import Path

from playbooks.base import DEFAULT_DIR

SHORT_LEVELS = {
    "A": """\
level: A
name: Company-wide emergency (test timings)
response_window: 4s
escalation:
  - after: 1s
    page: [secondary]
on_breach:
  page: [manager]
  repeat_every: 2s
update_every: 1h
on_alerts_cleared: mitigated
reopen_within: 2s
""",
    "B": """\
level: B
name: Major service emergency (test timings)
response_window: 8s
escalation:
  - after: 2s
    page: [secondary]
on_breach:
  page: [manager]
  repeat_every: 4s
update_every: 1h
on_alerts_cleared: mitigated
reopen_within: 2s
""",
    "C": """\
level: C
name: Single-channel incident (test timings)
response_window: 20s
escalation:
  - after: 5s
    page: [secondary]
on_breach:
  page: [manager]
  repeat_every: 5s
update_every: 1h
on_alerts_cleared: resolved
reopen_within: 2s
""",
}


def playbook_dir(directory: Path, levels: dict[str, str] | None = None) -> Path:
    """The bundled playbooks in ``directory``, with the level files of ``levels`` (a level
    letter to its YAML) replacing the bundled ones; ``SHORT_LEVELS`` when not given."""
    shutil.copytree(DEFAULT_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for letter, text in (SHORT_LEVELS if levels is None else levels).items():
        (directory / f"level-{letter.lower()}.yaml").write_text(text, encoding="utf-8")
    return directory


def with_bundle_window(directory: Path, window: str) -> Path:
    """The bundled roster in ``directory`` (``playbook_dir``'s copy) with its pages bundled in
    ``window`` instead of 30s; "0s" bundles nothing: a page leaves from its first hop."""
    roster = directory / "roster.yaml"
    text = roster.read_text(encoding="utf-8")
    if "bundle_window: 30s" not in text:
        raise ValueError(f"{roster} does not bundle in the bundled 30s")
    roster.write_text(text.replace("bundle_window: 30s", f"bundle_window: {window}"), "utf-8")
    return directory
