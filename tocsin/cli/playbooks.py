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
