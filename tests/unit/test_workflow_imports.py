"""The worker runs workflows outside the sandbox (ADR 0023), so what a workflow module may
import is checked here instead: every module its code can reach, followed through the
project's own imports, is a pure one. A workflow that imports the clock, randomness, a
network or database client, or the project's adapters fails this test, naming the chain."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("domain", "workflows", "adapters", "alerts", "playbooks", "api", "tocsin")

# What workflow code may reach besides the project's pure modules: the SDK, pydantic, and the
# standard library's deterministic parts.
ALLOWED_THIRD_PARTY = ("temporalio", "pydantic", "pydantic_core", "annotated_types", "yaml")
# The standard library's modules that read the clock, draw random numbers, mint ids or do I/O.
BANNED = (
    "random",
    "secrets",
    "time",
    "uuid",
    "os",
    "socket",
    "ssl",
    "threading",
    "subprocess",
    "multiprocessing",
    "concurrent",
    "asyncio.subprocess",
    "urllib.request",
    "http.client",
    "smtplib",
    "sqlite3",
    "tempfile",
    "shutil",
    "pathlib",
    "io",
)
# First-party packages whose modules do I/O by design: never reachable from workflow code.
BANNED_FIRST_PARTY = ("adapters", "api", "tocsin", "playbooks")
# Modules a workflow module names only for their activities' names and signatures: their code
# runs in the worker's activities, never in the workflow.
BOUNDARY = ".activities"
# Reviewed exceptions: (module, import) → why workflow code never reaches the banned part.
REVIEWED = {
    ("workflows.ids", "secrets"): "mint_incident_id is the API's; workflows use pure helpers",
}


def _source(module: str) -> Path | None:
    base = ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(module: str, tree: ast.Module) -> set[str]:
    """Every module ``tree`` imports at run time (``TYPE_CHECKING`` blocks left out)."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if _under_type_checking(node, parents):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            # ``from workflows import retry`` imports the module workflows.retry.
            for alias in node.names:
                if _source(f"{node.module}.{alias.name}") is not None:
                    found.add(f"{node.module}.{alias.name}")
    return found


def problems(start: str, sources: dict[str, str] | None = None) -> list[str]:
    """Each import reachable from module ``start`` that workflow code must not reach, as the
    chain that leads to it. ``sources`` stands in for files (the test of this test)."""
    sources = sources or {}
    found: list[str] = []
    seen: set[str] = set()
    queue: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
    while queue:
        module, chain = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _source(module)
        text = sources.get(module) or (path.read_text(encoding="utf-8") if path else None)
        if text is None:
            continue
        for name in sorted(imports_of(module, ast.parse(text))):
            top = name.split(".")[0]
            verdict = _verdict(module, name, top)
            if verdict == "banned":
                found.append(" → ".join((*chain, name)))
            elif verdict == "follow":
                queue.append((name, (*chain, name)))
    return found


def _verdict(module: str, name: str, top: str) -> str:
    if (module, name) in REVIEWED:
        return "ok"
    if name.endswith(BOUNDARY):
        return "ok"
    if top in BANNED_FIRST_PARTY:
        return "banned"
    if top in FIRST_PARTY:
        return "follow"
    if name in BANNED or top in BANNED:
        return "banned"
    if top in ALLOWED_THIRD_PARTY or top in sys.stdlib_module_names or top == "__future__":
        return "ok"
    return "banned"  # any other library: network clients, databases, templating…


WORKFLOW_MODULES = sorted(
    f"workflows.{path.parent.name}.workflow" for path in ROOT.glob("workflows/*/workflow.py")
)


def test_every_durable_process_is_checked() -> None:
    assert "workflows.incident.workflow" in WORKFLOW_MODULES
    assert len(WORKFLOW_MODULES) >= 8


@pytest.mark.parametrize("module", WORKFLOW_MODULES)
def test_a_workflow_module_reaches_only_deterministic_code(module: str) -> None:
    assert problems(module) == []


@pytest.mark.parametrize(
    ("line", "culprit"),
    [
        ("import random", "random"),
        ("from time import monotonic", "time"),
        ("import httpx", "httpx"),
        ("from adapters.records import RecordsStore", "adapters.records"),
        ("from workflows.fanout import Fanout", "httpx"),  # through the fan-out's imports
    ],
)
def test_an_import_of_something_non_deterministic_is_caught(line: str, culprit: str) -> None:
    source = f"from temporalio import workflow\n{line}\n"

    found = problems("workflows.fake.workflow", {"workflows.fake.workflow": source})

    assert found, line
    assert all(chain.startswith("workflows.fake.workflow → ") for chain in found)
    assert any(chain.endswith(culprit) for chain in found), found
