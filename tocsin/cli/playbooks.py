"""``tocsin playbooks validate``: check a playbook directory before it runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from domain.durations import format_duration
from domain.models import Level
from tocsin.cli.base import app
from tocsin.settings import Settings

if TYPE_CHECKING:
    from domain.whatif import WhatIfReport

playbooks_app = typer.Typer(help="Check playbook directories.", no_args_is_help=True)
app.add_typer(playbooks_app, name="playbooks")


@playbooks_app.command("validate")
def playbooks_validate(
    directory: Annotated[
        Path | None,
        typer.Argument(help="playbook directory [TOCSIN_PLAYBOOKS_DIR or the built-in one]"),
    ] = None,
) -> None:
    """Check a playbook directory: the level files, the matrix and the roster."""
    from playbooks.loader import (
        coverage_warnings,
        load_playbooks,
        load_roster,
        validate_directory,
    )

    base = directory if directory is not None else Settings().playbooks_dir
    problems = validate_directory(base)
    if problems:
        typer.echo(f"{base}: {len(problems)} problem(s)", err=True)
        for problem in problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)
    playbook_set = load_playbooks(base)
    roster = load_roster(base)
    typer.echo(f"{base}: OK")
    for warning in coverage_warnings(base, datetime.now(UTC)):
        typer.echo(f"  warning: {warning}", err=True)
    for level in Level:
        playbook = playbook_set.for_level(level)
        steps = ", ".join(format_duration(step.after) for step in playbook.escalation) or "none"
        typer.echo(
            f"  level {level}: {playbook.name}: acknowledge within "
            f"{format_duration(playbook.response_window)}; escalation at {steps}; "
            f"re-page every {format_duration(playbook.on_breach.repeat_every)} after a breach"
        )
    for person in roster.everyone():
        if person.notify:
            steps = "; ".join(step.describe() for step in person.notify)
            typer.echo(f"  {person.name} is paged by: {steps}")


@playbooks_app.command("test")
def playbooks_test(
    directory: Annotated[
        Path | None,
        typer.Argument(help="a case file or a directory of them [PLAYBOOKS/tests]"),
    ] = None,
    playbooks: Annotated[
        Path | None,
        typer.Option(help="playbook directory [TOCSIN_PLAYBOOKS_DIR or the built-in one]"),
    ] = None,
    junit: Annotated[Path | None, typer.Option(help="write JUnit XML here")] = None,
) -> None:
    """Run escalation test cases through the real incident workflow on a time-skipping
    Temporal server: who is paged, engaged and informed when, breaches, deadlines."""
    import asyncio
    import time

    from alerts.catalog import load_catalog
    from playbooks.base import PlaybookError
    from playbooks.loader import load_playbooks, load_roster
    from tocsin.binaries import temporal_test_server
    from workflows.playtest.cases import CaseError, load_cases
    from workflows.playtest.suite import run_cases
    from workflows.playtest.verdict import Verdict, junit_xml, side_by_side, summary_line

    base = playbooks if playbooks is not None else Settings().playbooks_dir
    cases_dir = directory if directory is not None else base / "tests"
    try:
        playbook_set = load_playbooks(base)
        cases = load_cases(cases_dir, playbook_set, load_roster(base), load_catalog())
    except (PlaybookError, CaseError) as exc:
        typer.echo(f"refused before running anything: {len(exc.problems)} problem(s)", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from None

    def report(verdict: Verdict) -> None:
        typer.echo(summary_line(verdict))
        if verdict.error is not None:
            typer.echo(f"    {verdict.error}")
        elif not verdict.passed:
            for line in side_by_side(verdict):
                typer.echo(line)

    began = time.perf_counter()
    verdicts = asyncio.run(
        run_cases(cases, temporal_test_server(), base, playbook_set, load_catalog(), report)
    )
    seconds = time.perf_counter() - began
    failed = sum(1 for v in verdicts if not v.passed)
    typer.echo(f"{len(verdicts) - failed} passed, {failed} failed in {seconds:.1f}s")
    if junit is not None:
        junit.write_bytes(junit_xml(verdicts, seconds))
    if failed:
        raise typer.Exit(1)


@playbooks_app.command("what-if")
def playbooks_what_if(
    candidate: Annotated[
        Path, typer.Option("--playbooks", help="the candidate playbook directory")
    ],
    since: Annotated[datetime, typer.Option(help="replay incidents declared from then (UTC)")],
    until: Annotated[datetime | None, typer.Option(help="…and before then (UTC)")] = None,
    level: Annotated[Level | None, typer.Option(help="only incidents of this level")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="also write the report: FILE.json or FILE.md"),
    ] = None,
) -> None:
    """Replay recorded incidents under the playbooks in force and under candidate ones, on a
    time-skipping Temporal server, and compare who would have been paged, breaches, load."""
    import asyncio

    from adapters.records import RecordsStore
    from alerts.catalog import load_catalog
    from domain.whatif import WhatIfRequest
    from playbooks.loader import load_playbooks, validate_directory
    from tocsin.binaries import temporal_test_server
    from workflows.playtest.timers import StalledClock
    from workflows.playtest.whatif import NoIncidents, what_if
    from workflows.playtest.whatif_report import markdown, table

    if out is not None and out.suffix not in (".json", ".md"):
        raise typer.BadParameter("the report is written as .json or .md", param_hint="--out")
    problems = validate_directory(candidate)
    if problems:
        typer.echo(f"{candidate}: refused before replaying anything: {len(problems)} problem(s)")
        for problem in problems:
            typer.echo(f"  {problem}")
        raise typer.Exit(2)
    settings = Settings()
    request = WhatIfRequest(since=_utc(since), until=_utc(until) if until else None, level=level)

    async def replay() -> WhatIfReport:
        store = RecordsStore.from_url(settings.resolved_database_url())
        try:
            return await what_if(
                store,
                request,
                (settings.playbooks_dir, load_playbooks(settings.playbooks_dir)),
                (candidate, load_playbooks(candidate)),
                temporal_test_server(),
                load_catalog(),
            )
        finally:
            await store.close()

    try:
        report = asyncio.run(replay())
    except NoIncidents as exc:
        typer.echo(f"nothing to replay: {exc}")
        raise typer.Exit(1) from None
    except StalledClock as exc:
        typer.echo(f"what-if stopped: {exc}")
        raise typer.Exit(1) from None
    typer.echo(table(report))
    if out is not None:
        text = report.model_dump_json(indent=2) if out.suffix == ".json" else markdown(report)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"report written to {out}")


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
