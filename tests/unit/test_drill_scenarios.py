"""Drill scenarios as data: the shipped three validate; a bad file is refused with its name
and the field; scoring is a pure function of what happened."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.drills import (
    Classification,
    DrillKind,
    DrillRun,
    score,
)
from domain.models import Incident, IncidentType, Level, Source, Status
from playbooks.base import DEFAULT_DIR, PlaybookError
from playbooks.loader import load_playbooks, load_scenarios
from tocsin.cli import app

runner = CliRunner()
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_the_shipped_scenarios_are_the_process_three() -> None:
    scenarios = load_scenarios()

    assert {name: s.kind for name, s in scenarios.items()} == {
        "comprehensive": DrillKind.COMPREHENSIVE,
        "integrated": DrillKind.INTEGRATED,
        "routine": DrillKind.ROUTINE,
    }
    routine = scenarios["routine"].targets
    assert (routine.recovery_ratio, routine.recovery_target) == (0.9, timedelta(minutes=60))
    assert scenarios["comprehensive"].targets.joint_response == timedelta(minutes=120)
    integrated = scenarios["integrated"].targets
    assert (integrated.reputation_recovery, integrated.collaboration) == (0.85, 8.5)
    assert all(s.targets.classification_accuracy == 0.95 for s in scenarios.values())


@pytest.fixture
def playbooks(tmp_path: Path) -> Path:
    copy = tmp_path / "playbooks"
    shutil.copytree(DEFAULT_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return copy


def test_a_level_outside_a_b_c_names_the_file_and_the_field(playbooks: Path) -> None:
    path = playbooks / "drills" / "routine.yaml"
    path.write_text(path.read_text().replace("expect: {level: B", "expect: {level: D"))

    with pytest.raises(PlaybookError) as raised:
        load_scenarios(playbooks)

    (problem,) = raised.value.problems
    assert problem.startswith(f"{path}: steps[0].expect.level: ")
    assert "'A', 'B' or 'C'" in problem


def test_a_step_after_the_drills_end_names_the_file_and_the_step(playbooks: Path) -> None:
    path = playbooks / "drills" / "integrated.yaml"
    path.write_text(path.read_text().replace("  - at: 10m", "  - at: 4h"))

    result = runner.invoke(app, ["playbooks", "validate", str(playbooks)])

    assert result.exit_code == 1
    assert f"{path}: " in result.stderr
    assert "steps[1].at (4h) is not before the drill's end (3h)" in result.stderr


def test_a_scenario_named_unlike_its_file_is_refused(playbooks: Path) -> None:
    path = playbooks / "drills" / "routine.yaml"
    path.rename(playbooks / "drills" / "monthly.yaml")

    with pytest.raises(PlaybookError, match="name: 'routine' does not match the file name"):
        load_scenarios(playbooks)


def _incident(
    declared: datetime,
    acked: datetime | None = None,
    resolved: datetime | None = None,
    resolved_by: str | None = None,
) -> Incident:
    return Incident(
        id="20261201-d1",
        title="Checkout",
        level=Level.B,
        type=IncidentType.SERVICE_OUTAGE,
        source=Source.ALERTMANAGER,
        status=Status.RESOLVED if resolved else Status.TRIGGERED,
        declared_at=declared,
        declared_by="drill routine",
        ack_deadline=declared + timedelta(minutes=30),
        response_window_seconds=1800,
        acknowledged_at=acked,
        acknowledged_by="Ada Okafor" if acked else None,
        resolved_at=resolved,
        resolved_by=resolved_by,
        drill=True,
    )


def test_recovery_counts_who_recovered_not_the_drills_end() -> None:
    scenario = load_scenarios()["routine"]
    run = DrillRun(
        id="routine-20261201-100000",
        scenario="routine",
        kind=DrillKind.ROUTINE,
        started_at=T0,
        ends_at=T0 + timedelta(hours=2),
        started_by="Jo",
        incidents={0: "20261201-d1"},
    )
    windows = {lv: p.response_window for lv, p in load_playbooks().levels.items()}
    right = Classification(
        incident_id="20261201-d1", by="Ada", level=Level.B, type=IncidentType.SERVICE_OUTAGE, at=T0
    )

    def scored(incident: Incident) -> dict[str, tuple[float | None, bool]]:
        found = score(scenario, run, {0: incident}, [right], {}, {}, windows)
        return {s.target: (s.value, s.met) for s in found}

    at_54 = scored(_incident(T0, T0, T0 + timedelta(minutes=54), "Ada Okafor"))
    assert at_54["recovery"] == (54 * 60, True)  # exactly 90% of 60 minutes
    assert at_54["classification_accuracy"] == (1.0, True)
    at_55 = scored(_incident(T0, T0, T0 + timedelta(minutes=55), "Ada Okafor"))
    assert at_55["recovery"] == (55 * 60, False)
    closed = scored(_incident(T0, None, T0 + timedelta(hours=2), "tocsin"))
    assert closed["recovery"] == (None, False)
    assert closed["step_1_acknowledged"] == (None, False)
