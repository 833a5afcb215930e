"""Message templates for customers: ``playbooks/messages/<incident type>/<stage>.txt`` and the
pre-approved ``holding.txt``, in Jinja2's syntax with a fixed set of variables.

Templates render in a sandbox with undefined variables as errors, and every problem names the
file, the line and the variable, so a typo is found by ``tocsin playbooks validate`` rather
than in front of customers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from domain.models import IncidentType
from domain.statements import Stage
from playbooks.base import DEFAULT_DIR, PlaybookError

MESSAGES_DIR = "messages"
HOLDING = "holding.txt"
MAX_BODY = 5000

# What a template may use, with what each means (the README lists them too).
VARIABLES: Mapping[str, str] = {
    "title": "the incident's title",
    "service": "the affected service, or 'our service'",
    "impact": "who is affected, in customers' words (from the level)",
    "started": "when the incident was declared, e.g. 09:24 UTC",
    "next_update": "when the next update is due, e.g. 09:54 UTC",
    "incident_url": "the incident's public page (TOCSIN_PUBLIC_URL)",
    "stage": "investigating, identified, monitoring or resolved",
    "level": "A, B or C",
}


def _environment(base: Path) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(base)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text; e-mail and the status page escape on output
        keep_trailing_newline=False,
    )


# Parsing a template only needs the syntax, which every environment here shares.
_SYNTAX = SandboxedEnvironment()


@functools.lru_cache(maxsize=256)
def _unknown_variables(source: str, name: str) -> tuple[tuple[str, int], ...]:
    """Each variable the template uses that is not one of ``VARIABLES``, with its first line.
    Kept by the text: every worker and API checks the same templates when it starts."""
    tree = _SYNTAX.parse(source, name=name)
    unknown = sorted(meta.find_undeclared_variables(tree) - set(VARIABLES))
    return tuple(
        (variable, next((n.lineno for n in tree.find_all(nodes.Name) if n.name == variable), 1))
        for variable in unknown
    )


def _problems(base: Path, name: str) -> list[str]:
    path = base / name
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [f"{path}: cannot be read ({exc.strerror})"]
    try:
        unknown = _unknown_variables(source, name)
    except jinja2.TemplateSyntaxError as exc:
        return [f"{path}:{exc.lineno}: {exc.message}"]
    known = ", ".join(VARIABLES)
    return [
        f"{path}:{line}: unknown variable '{variable}' (known: {known})"
        for variable, line in unknown
    ]


@dataclass(frozen=True)
class Templates:
    base: Path
    _env: SandboxedEnvironment

    def render(self, kind: IncidentType | None, stage: Stage, values: Mapping[str, str]) -> str:
        """The statement for ``kind`` at ``stage``; ``kind`` None renders the holding one."""
        name = HOLDING if kind is None else f"{kind.value}/{stage.value}.txt"
        text = self._env.get_template(name).render(**values, stage=stage.value)
        return text.strip()[:MAX_BODY]


def template_names() -> list[str]:
    return [HOLDING] + [f"{k.value}/{s.value}.txt" for k in IncidentType for s in Stage]


def validate_templates(directory: Path | str | None = None) -> list[str]:
    """Every problem of the message templates: missing files, syntax, unknown variables."""
    base = (Path(directory) if directory is not None else DEFAULT_DIR) / MESSAGES_DIR
    problems: list[str] = []
    for name in template_names():
        if not (base / name).is_file():
            problems.append(f"{base / name}: file is missing")
            continue
        problems.extend(_problems(base, name))
    return problems


def load_templates(directory: Path | str | None = None) -> Templates:
    problems = validate_templates(directory)
    if problems:
        raise PlaybookError(problems)
    base = (Path(directory) if directory is not None else DEFAULT_DIR) / MESSAGES_DIR
    return Templates(base, _environment(base))
