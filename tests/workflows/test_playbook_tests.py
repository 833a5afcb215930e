"""``tocsin playbooks test``: escalation cases as data, run through the real incident workflow
on the time-skipping server; and the refusals that come before anything runs. The shipped
cases are run, as CI runs them, by the README's command (test_readme_playbook_tests)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner

from playbooks.base import DEFAULT_DIR
from tocsin.cli import app

runner = CliRunner()

WRONG_STEP = """
cases:
  - name: the secondary is paged at +4m
    at: 2026-03-03T10:00:00
    time_zone: Europe/Paris
    incident: {level: A, type: service_outage, service: checkout}
    until: +6m
    expect:
      - {at: +0s, paged: Ada Okafor}
      - {at: +4m, paged: Ben Lindqvist}
"""


def test_a_wrong_case_fails_with_both_timelines_side_by_side(tmp_path: Path) -> None:
    (tmp_path / "wrong.yaml").write_text(WRONG_STEP)
    junit = tmp_path / "junit.xml"

    result = runner.invoke(app, ["playbooks", "test", str(tmp_path), "--junit", str(junit)])

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("FAIL  wrong.yaml: the secondary is paged at +4m  (")
    table = [line.rstrip() for line in lines[1:5]]
    assert re.split(r"\s{3,}", table[0].strip()) == ["expected", "actual"]
    assert re.split(r"\s{3,}", table[1].strip()) == [
        "+0s paged Ada Okafor",
        "+0s paged Ada Okafor via slack",
    ]
    assert re.split(r"\s{3,}", table[2].strip()) == ["✗", "+4m paged Ben Lindqvist", "—"]
    assert re.split(r"\s{3,}", table[3].strip()) == ["✗ —", "+5m paged Ben Lindqvist via slack"]
    assert lines[-1].startswith("0 passed, 1 failed in ")
    failure = ET.parse(junit).getroot().find("testcase/failure")  # noqa: S314 - ours
    assert failure is not None
    assert "+5m paged Ben Lindqvist via slack" in (failure.text or "")


@pytest.mark.parametrize(
    ("line", "replacement", "field", "says"),
    [
        (
            "{at: +4m, paged: Ben Lindqvist}",
            "{at: +4m, paged: Ben Lindquist}",
            "expect[1].who",
            "'Ben Lindquist' is not in the roster",
        ),
        ("level: A, type", "level: D, type", "incident.level", "Input should be 'A', 'B' or 'C'"),
        ("type: service_outage", "type: power_cut", "incident.type", "Input should be"),
        (
            "service: checkout",
            "service: chekout",
            "incident.service",
            "'chekout' is not in the catalog",
        ),
    ],
)
def test_a_case_naming_what_does_not_exist_is_refused_before_anything_runs(
    tmp_path: Path, line: str, replacement: str, field: str, says: str
) -> None:
    case = tmp_path / "typo.yaml"
    case.write_text(WRONG_STEP.replace(line, replacement))

    result = runner.invoke(app, ["playbooks", "test", str(tmp_path)])

    assert result.exit_code == 2
    assert "refused before running anything" in result.output
    problem = f"{case}: case 'the secondary is paged at +4m': {field}: "
    assert any(p.strip().startswith(problem) and says in p for p in result.output.splitlines()), (
        result.output
    )
    assert "PASS" not in result.output
    assert "FAIL" not in result.output


def test_an_action_by_someone_outside_the_roster_is_refused(tmp_path: Path) -> None:
    case = WRONG_STEP.replace(
        "    until: +6m\n", "    actions:\n      - {at: +1m, ack: true, by: Zed}\n"
    )
    (tmp_path / "zed.yaml").write_text(case)

    result = runner.invoke(app, ["playbooks", "test", str(tmp_path)])

    assert result.exit_code == 2
    assert "actions[0].by: 'Zed' is not in the roster" in result.output


def test_an_alertmanager_payload_that_is_not_one_is_refused(tmp_path: Path) -> None:
    case = WRONG_STEP.replace(
        "incident: {level: A, type: service_outage, service: checkout}",
        "incident: {alertmanager: down.json}",
    )
    (tmp_path / "alert.yaml").write_text(case)
    (tmp_path / "down.json").write_text('{"receiver": "tocsin", "alerts": "none"}')

    result = runner.invoke(app, ["playbooks", "test", str(tmp_path)])

    assert result.exit_code == 2
    assert "case 'the secondary is paged at +4m': incident.alertmanager: down.json: " in (
        result.output
    )


def test_a_schedule_change_fails_the_night_and_weekend_cases(tmp_path: Path) -> None:
    """The shipped on-call cases look schedules up at their own instant, so handing nights and
    weekends to someone else fails them, naming who was expected and who was paged."""
    directory = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    schedules = directory / "schedules.yaml"
    text = schedules.read_text(encoding="utf-8")
    assert text.count("people: [Lina Duarte]") == 2
    schedules.write_text(text.replace("people: [Lina Duarte]", "people: [Kai Andersen]"))
    cases = directory / "tests" / "on_call.yaml"

    result = runner.invoke(app, ["playbooks", "test", str(cases), "--playbooks", str(directory)])

    assert result.exit_code == 1, result.output
    lines = [line.rstrip() for line in result.output.splitlines()]
    assert lines[0].startswith(
        "FAIL  on_call.yaml: a level-A outage at 02:00 on a Saturday pages whoever holds the "
        "night/weekend shift  ("
    )
    wrong = [re.split(r"\s{3,}", line.strip()) for line in lines if line.lstrip().startswith("✗")]
    assert ["✗", "+15m paged Lina Duarte", "—"] in wrong
    assert ["✗ —", "+15m paged Kai Andersen via slack"] in wrong
    assert "PASS  on_call.yaml: in office hours the breach pages Kai Andersen" in result.output
    assert lines[-1].startswith("1 passed, 3 failed in ")
