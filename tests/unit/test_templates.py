"""Message templates: a mistake names the file, the line and the variable, and is found by
``tocsin playbooks validate`` before any customer could see it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.models import IncidentType
from domain.statements import Stage
from playbooks.base import DEFAULT_DIR, PlaybookError
from playbooks.templates import load_templates, validate_templates
from tocsin.cli import app


@pytest.fixture
def playbooks(tmp_path: Path) -> Path:
    target = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def edit(playbooks: Path, name: str, text: str) -> Path:
    path = playbooks / "messages" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_templates_are_valid_and_render_every_stage() -> None:
    templates = load_templates()
    values = {
        "title": "Checkout failing",
        "service": "checkout",
        "impact": "all customers",
        "started": "09:24 UTC",
        "next_update": "09:54 UTC",
        "incident_url": "https://status.example.com/status#x",
        "level": "A",
    }
    for kind in IncidentType:
        for stage in Stage:
            text = templates.render(kind, stage, values)
            assert text, (kind, stage)
            assert "{{" not in text
    assert "09:54 UTC" in templates.render(None, Stage.INVESTIGATING, values)


def test_an_unknown_variable_names_the_file_line_and_variable(playbooks: Path) -> None:
    path = edit(
        playbooks, "service_outage/identified.txt", "We found it.\nAffected: {{ servcie }}.\n"
    )

    (problem,) = validate_templates(playbooks)

    assert problem.startswith(f"{path}:2: unknown variable 'servcie'")
    assert "service" in problem.split("known:")[1]


def test_a_syntax_error_names_the_file_and_line(playbooks: Path) -> None:
    path = edit(playbooks, "data_leak/resolved.txt", "Line one.\nLine two {{ service\n")

    (problem,) = validate_templates(playbooks)

    assert problem.startswith(f"{path}:2: ")


def test_a_missing_stage_is_named(playbooks: Path) -> None:
    (playbooks / "messages" / "major_product_incident" / "monitoring.txt").unlink()

    (problem,) = validate_templates(playbooks)

    assert "major_product_incident/monitoring.txt: file is missing" in problem


def test_the_worker_refuses_broken_templates_and_validate_reports_them(playbooks: Path) -> None:
    edit(playbooks, "holding.txt", "We are aware of {{ nope }}.")

    with pytest.raises(PlaybookError, match="unknown variable 'nope'"):
        load_templates(playbooks)
    result = CliRunner().invoke(app, ["playbooks", "validate", str(playbooks)])
    assert result.exit_code == 1
    assert "holding.txt:1: unknown variable 'nope'" in result.output
