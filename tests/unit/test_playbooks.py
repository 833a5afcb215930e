from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.models import Function, IncidentType, Level, Role, Tier
from playbooks.base import DEFAULT_DIR, PlaybookError
from playbooks.loader import (
    coverage_warnings,
    load_playbooks,
    load_roster,
    validate_directory,
)
from testkit.oncall import shipped_schedules, with_people
from tocsin.cli import app


@pytest.fixture
def playbook_dir(tmp_path: Path) -> Path:
    """A copy of the default playbook directory that a test may break."""
    target = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    # The first occurrence: the level's own fields come before its customer policy.
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _single_problem(directory: Path) -> str:
    problems = validate_directory(directory)
    assert len(problems) == 1, problems
    return problems[0]


def test_default_directory_is_valid_and_encodes_the_process_windows() -> None:
    assert validate_directory(DEFAULT_DIR) == []
    playbooks = load_playbooks()
    windows = {level: playbooks.for_level(level).response_window for level in Level}
    assert windows == {
        Level.A: timedelta(minutes=15),
        Level.B: timedelta(minutes=30),
        Level.C: timedelta(minutes=60),
    }
    matrix = playbooks.matrix
    assert matrix.functions(IncidentType.SERVICE_OUTAGE, Role.LEAD) == [Function.TECHNICAL_SUPPORT]
    assert matrix.functions(IncidentType.DATA_LEAK, Role.LEAD) == [Function.CUSTOMER_SERVICE]
    assert matrix.functions(IncidentType.MAJOR_PRODUCT_INCIDENT, Role.LEAD) == [Function.BRAND_PR]
    roster = load_roster()
    assert all(roster.people(function, Tier.PRIMARY) for function in Function)


def test_escalation_targets_accept_bare_tiers_and_named_functions() -> None:
    step = load_playbooks().for_level(Level.A).escalation[1]
    assert [target.describe() for target in step.page] == [
        "lead function manager",
        "leadership primary",
    ]


def test_broken_yaml_names_file_and_line(playbook_dir: Path) -> None:
    (playbook_dir / "level-b.yaml").write_text("level: B\nname: [unclosed\n", encoding="utf-8")
    problem = _single_problem(playbook_dir)
    assert problem.startswith(f"{playbook_dir / 'level-b.yaml'}: not valid YAML at line ")


def test_misspelt_field_is_named_with_its_file(playbook_dir: Path) -> None:
    _edit(playbook_dir / "level-a.yaml", "update_every: 30m", "update_every: 30m\nupdate_evry: 1h")
    problem = _single_problem(playbook_dir)
    assert problem == (
        f"{playbook_dir / 'level-a.yaml'}: update_evry: Extra inputs are not permitted"
    )


def test_bad_duration_names_the_nested_field(playbook_dir: Path) -> None:
    _edit(playbook_dir / "level-c.yaml", "repeat_every: 15m", "repeat_every: often")
    problem = _single_problem(playbook_dir)
    assert problem.startswith(f"{playbook_dir / 'level-c.yaml'}: on_breach.repeat_every: ")
    assert "'often' is not a duration" in problem


def test_escalation_step_outside_the_window_is_refused(playbook_dir: Path) -> None:
    _edit(playbook_dir / "level-a.yaml", "after: 10m", "after: 20m")
    problem = _single_problem(playbook_dir)
    assert problem.startswith(f"{playbook_dir / 'level-a.yaml'}: ")
    assert "escalation[1].after (20m) must be inside the response window (15m)" in problem


def test_unsorted_escalation_steps_are_refused(playbook_dir: Path) -> None:
    _edit(playbook_dir / "level-b.yaml", "after: 20m", "after: 5m")
    problem = _single_problem(playbook_dir)
    assert problem.startswith(f"{playbook_dir / 'level-b.yaml'}: ")
    assert "escalation[1].after (5m) comes before the previous step (10m)" in problem


def test_missing_level_file_is_reported(playbook_dir: Path) -> None:
    (playbook_dir / "level-c.yaml").unlink()
    assert _single_problem(playbook_dir) == f"{playbook_dir / 'level-c.yaml'}: file is missing"


def test_level_file_describing_another_level_is_refused(playbook_dir: Path) -> None:
    _edit(playbook_dir / "level-b.yaml", "level: B", "level: C")
    assert _single_problem(playbook_dir) == (
        f"{playbook_dir / 'level-b.yaml'}: level: expected B, found C"
    )


def test_roster_function_without_primary_is_named(playbook_dir: Path) -> None:
    _edit(
        playbook_dir / "roster.yaml",
        "  leadership:\n    primary:\n      - {name: Jo Mbeki, slack_user_id: U0LEAD001, "
        "email: jo@example.com}\n",
        "  leadership:\n",
    )
    problem = _single_problem(playbook_dir)
    assert problem.startswith(f"{playbook_dir / 'roster.yaml'}: ")
    assert "functions.leadership.primary: nobody is on it" in problem


def test_matrix_type_without_a_lead_is_refused(playbook_dir: Path) -> None:
    _edit(playbook_dir / "matrix.yaml", "brand_pr: lead", "brand_pr: support")
    problem = _single_problem(playbook_dir)
    assert problem.startswith(f"{playbook_dir / 'matrix.yaml'}: ")
    assert "major_product_incident: no function leads this type" in problem


def test_every_problem_is_reported_at_once(playbook_dir: Path) -> None:
    (playbook_dir / "matrix.yaml").unlink()
    _edit(playbook_dir / "level-a.yaml", "response_window: 15m", "response_window: 0s")
    _edit(playbook_dir / "roster.yaml", "slack_user_id: U0TECH001", "slack_user_id: nobody")
    problems = validate_directory(playbook_dir)
    files = sorted(Path(problem.split(": ", 1)[0]).name for problem in problems)
    assert files == ["level-a.yaml", "matrix.yaml", "roster.yaml"]


def test_load_playbooks_raises_with_the_problems(playbook_dir: Path) -> None:
    (playbook_dir / "level-a.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(playbook_dir)
    assert caught.value.problems == [
        f"{playbook_dir / 'level-a.yaml'}: expected a mapping at the top level"
    ]


def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert validate_directory(missing)[0] == f"{missing}: not a directory"


def _with_slack_access(directory: Path, section: str) -> None:
    roster = directory / "roster.yaml"
    roster.write_text(roster.read_text(encoding="utf-8") + section, encoding="utf-8")


def test_slack_access_gives_listed_people_their_roles_and_others_the_default(
    playbook_dir: Path,
) -> None:
    _with_slack_access(
        playbook_dir,
        "slack_access:\n  default: [viewer]\n  people:\n"
        "    Ada Okafor: [responder]\n    U0PR00001: [responder, comms]\n",
    )
    access = load_roster(playbook_dir).slack_access

    assert [r.value for r in access.roles_of("Ada Okafor", "U0TECH001")] == ["responder"]
    assert [r.value for r in access.roles_of("Gil Ramos", "U0PR00001")] == ["responder", "comms"]
    assert [r.value for r in access.roles_of(None, "U0STRANGER")] == ["viewer"]


def test_slack_access_naming_nobody_in_the_roster_is_refused(playbook_dir: Path) -> None:
    _with_slack_access(playbook_dir, "slack_access:\n  people:\n    Ada Okafr: [lead]\n")
    problem = _single_problem(playbook_dir)
    assert "slack_access.people.Ada Okafr: neither a person in this roster" in problem


def test_admin_is_not_a_slack_role(playbook_dir: Path) -> None:
    _with_slack_access(playbook_dir, "slack_access:\n  default: [admin]\n")
    assert "admin is an API token's role, not Slack's" in _single_problem(playbook_dir)


ADA = "{name: Ada Okafor, slack_user_id: U0TECH001, email: ada@example.com}"
SCHEDULE = """\
schedules:
  support:
    time_zone: Europe/Berlin
    rotations:
      - name: weekly
        start: 2026-11-30T09:00
        shift: 1w
        people: [Ada Okafor, Ben Lindqvist]
"""


def _with_schedule(directory: Path, text: str = SCHEDULE) -> None:
    (directory / "schedules.yaml").write_text(text + shipped_schedules(directory), encoding="utf-8")
    _edit(
        directory / "roster.yaml",
        "    primary:\n      - " + ADA + "\n",
        "    primary: {schedule: support}\n",
    )
    roster = directory / "roster.yaml"
    roster.write_text(
        with_people(roster.read_text(encoding="utf-8"), "people:\n  - " + ADA + "\n"),
        encoding="utf-8",
    )


def test_a_tier_may_name_a_schedule_and_tiers_may_name_listed_people(playbook_dir: Path) -> None:
    _with_schedule(playbook_dir)
    _edit(
        playbook_dir / "roster.yaml",
        "    manager:\n      - {name: Chen Wei, slack_user_id: U0TECH003, email: chen@example.com}",
        "    manager: [Ada Okafor]",
    )
    assert validate_directory(playbook_dir) == []
    roster = load_roster(playbook_dir)
    assert roster.schedule_of(Function.TECHNICAL_SUPPORT, Tier.PRIMARY) == "support"
    assert [p.email for p in roster.people(Function.TECHNICAL_SUPPORT, Tier.MANAGER)] == [
        "ada@example.com"
    ]
    assert roster.schedules["support"].rotations[0].people == ["Ada Okafor", "Ben Lindqvist"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("Ben Lindqvist]", "Zed Unknown]",
         "schedules.support.rotations[0].people[1]: unknown person 'Zed Unknown'"),
        ("Europe/Berlin", "Europe/Berlinn",
         "schedules.support.time_zone: 'Europe/Berlinn' is not a known time zone"),
        ("shift: 1w", "shift: 5w",
         "schedules.support.rotations[0].shift: 35d is out of range: a shift is 30m to 4w"),
        ("[Ada Okafor, Ben Lindqvist]", "[]",
         "schedules.support.rotations[0].people: an empty rotation"),
    ],
)  # fmt: skip
def test_schedule_problems_name_the_file_and_the_field(
    playbook_dir: Path, old: str, new: str, expected: str
) -> None:
    _with_schedule(playbook_dir, SCHEDULE.replace(old, new))
    problem = _single_problem(playbook_dir)
    assert problem.startswith(f"{playbook_dir / 'schedules.yaml'}: ")
    assert expected in problem


def test_a_tier_naming_no_schedule_or_no_person_is_refused(playbook_dir: Path) -> None:
    _with_schedule(playbook_dir)
    _edit(playbook_dir / "roster.yaml", "{schedule: support}", "{schedule: suport}")
    problem = _single_problem(playbook_dir)
    assert problem == (
        f"{playbook_dir / 'roster.yaml'}: functions.technical_support.primary.schedule: "
        "no schedule 'suport' in schedules.yaml"
    )
    _edit(playbook_dir / "roster.yaml", "{schedule: suport}", "[Ada Okafr]")
    problem = _single_problem(playbook_dir)
    assert "functions.technical_support.primary[0]: 'Ada Okafr' is not in the roster's people" in (
        problem
    )


def test_validate_warns_of_every_span_a_paged_tier_has_nobody_on_call(
    playbook_dir: Path,
) -> None:
    weekdays = SCHEDULE.replace(
        "        people: [Ada Okafor, Ben Lindqvist]\n",
        "        people: [Ada Okafor, Ben Lindqvist]\n"
        '        only: {days: [mon, tue, wed, thu, fri], from: "08:00", to: "20:00"}\n',
    )
    _with_schedule(playbook_dir, weekdays)
    assert validate_directory(playbook_dir) == []
    friday_noon = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
    warnings = coverage_warnings(playbook_dir, friday_noon, timedelta(days=4))
    where = f"{playbook_dir / 'schedules.yaml'}: schedules.support: nobody on call from "
    tail = " (Europe/Berlin), when technical_support.primary is paged"
    assert warnings == [
        f"{where}2026-12-04 20:00 until 2026-12-07 08:00{tail}",
        f"{where}2026-12-07 20:00 until 2026-12-08 08:00{tail}",
    ]
    result = CliRunner().invoke(app, ["playbooks", "validate", str(playbook_dir)])
    assert result.exit_code == 0, result.output
    assert f"  warning: {where}" in result.output
