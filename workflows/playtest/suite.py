"""Run a directory of cases, one after another on one time-skipping server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from alerts.catalog import Catalog
from domain.models import Actor, Declaration
from domain.playbook import PlaybookSet
from workflows.playtest.cases import DeclaredIncident, LoadedCase
from workflows.playtest.runner import Scenario
from workflows.playtest.stage import stage
from workflows.playtest.verdict import Verdict, judge

TESTER = Actor(name="playbook test")


def scenario_of(loaded: LoadedCase) -> Scenario:
    case = loaded.case
    declaration = None
    if isinstance(case.incident, DeclaredIncident):
        declaration = Declaration(
            title=case.incident.title or case.name,
            level=case.incident.level,
            type=case.incident.type,
            service=case.incident.service,
            declared_by=TESTER,
        )
    return Scenario(
        title=case.name,
        declaration=declaration,
        payload=loaded.payload,
        actions=case.actions,
        horizon=case.horizon,
        at=case.instant,
    )


async def run_cases(
    cases: list[LoadedCase],
    test_server: Path,
    playbooks_dir: Path,
    playbooks: PlaybookSet,
    catalog: Catalog,
    report: Callable[[Verdict], None],
) -> list[Verdict]:
    verdicts: list[Verdict] = []
    async with stage(test_server, catalog) as on, on.under(playbooks_dir, playbooks) as rehearsal:
        for loaded in cases:
            began = time.perf_counter()
            try:
                outcome = await rehearsal.run(scenario_of(loaded))
                verdict = judge(loaded, outcome.happened)
                verdict.refused = outcome.refused
            except Exception as exc:  # one broken case must not hide the others' results
                verdict = Verdict(loaded, error=f"{type(exc).__name__}: {exc}")
            verdict.seconds = time.perf_counter() - began
            verdicts.append(verdict)
            report(verdict)
    return verdicts
