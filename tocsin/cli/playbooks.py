"""``tocsin playbooks validate``: check a playbook directory before it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from domain.durations import format_duration
from domain.models import Level
from tocsin.cli.base import app
from tocsin.settings import Settings

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
    from playbooks.loader import load_playbooks, validate_directory

    base = directory if directory is not None else Settings().playbooks_dir
    problems = validate_directory(base)
    if problems:
        typer.echo(f"{base}: {len(problems)} problem(s)", err=True)
        for problem in problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)
    playbook_set = load_playbooks(base)
    typer.echo(f"{base}: OK")
    for level in Level:
        playbook = playbook_set.for_level(level)
        steps = ", ".join(format_duration(step.after) for step in playbook.escalation) or "none"
        typer.echo(
            f"  level {level}: {playbook.name}: acknowledge within "
            f"{format_duration(playbook.response_window)}; escalation at {steps}; "
            f"re-page every {format_duration(playbook.on_breach.repeat_every)} after a breach"
        )


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
