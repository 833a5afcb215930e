"""YAML documents (playbooks, rosters, schedules, playbook tests), parsed by libyaml.

PyYAML's pure-Python parser was a tenth of the CPU of every test that builds a worker and a
large share of a what-if's: the playbook set alone is a dozen files, read again for every
candidate. libyaml ships in PyYAML's wheels; the pure parser stays as the fallback for a
build without it. Both resolve types the same way (the resolver is PyYAML's own), and both
raise ``yaml.YAMLError`` with a ``problem_mark``."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str) -> Any:
    """What ``yaml.safe_load`` returns, faster."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
