"""Replaying recorded histories catches a change to workflow code that would break incidents
already running (a non-deterministic change not guarded by ``workflow.patched``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.announcements.workflow import ConfirmSubscriptionWorkflow, MaintenanceWorkflow
from workflows.connect import data_converter
from workflows.drills.models import DrillInput
from workflows.drills.workflow import DrillWorkflow
from workflows.heartbeats.workflow import HeartbeatWorkflow
from workflows.incident.workflow import IncidentWorkflow
from workflows.oncall.workflow import HandoffWorkflow
from workflows.pager.workflow import PagerWorkflow
from workflows.reviews.workflow import ActionItemWorkflow, ReviewWorkflow
from workflows.statements.workflow import StatementsWorkflow
from workflows.worker import sandbox_runner, workflow_runner

HISTORIES = Path(__file__).parent / "histories"


def replayer(*, strict: bool = True) -> Replayer:
    """The strict sandbox by default: a replay that reaches the clock or I/O fails."""
    return Replayer(
        workflows=[
            IncidentWorkflow,
            PagerWorkflow,
            StatementsWorkflow,
            ConfirmSubscriptionWorkflow,
            MaintenanceWorkflow,
            ReviewWorkflow,
            ActionItemWorkflow,
            DrillWorkflow,
            HandoffWorkflow,
            HeartbeatWorkflow,
        ],
        data_converter=data_converter,
        workflow_runner=sandbox_runner() if strict else workflow_runner(),
    )


def committed_histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def test_committed_histories_exist() -> None:
    assert committed_histories(), "record them: python -m tests.workflows.record_histories"


@pytest.mark.parametrize("path", committed_histories(), ids=lambda p: p.stem)
async def test_committed_histories_replay_on_current_code(path: Path) -> None:
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    history = WorkflowHistory.from_json(path.stem, text)

    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)

    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


async def test_committed_histories_replay_as_the_worker_runs_them() -> None:
    """The worker runs workflows outside the sandbox (ADR 0023): the same histories replay
    there too."""
    failures = []
    for path in committed_histories():
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        history = WorkflowHistory.from_json(path.stem, text)
        result = await replayer(strict=False).replay_workflow(
            history, raise_on_replay_failure=False
        )
        if result.replay_failure is not None:
            failures.append(f"{path.name}: {result.replay_failure}")
    assert failures == []


@workflow.defn(name="DrillWorkflow", sandboxed=False)
class UnpatchedDrillWorkflow:
    """The drill workflow with one change not behind ``workflow.patched``: a timer before its
    first activity. Histories recorded before it cannot replay on it."""

    @workflow.run
    async def run(self, input: DrillInput) -> None:
        await workflow.sleep(timedelta(seconds=1))
        await workflow.execute_activity(
            "begin_drill", input.run, start_to_close_timeout=timedelta(minutes=1)
        )


async def test_a_workflow_change_without_a_patch_fails_the_replay() -> None:
    path = HISTORIES / "drill_routine_answered.json"
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    history = WorkflowHistory.from_json(path.stem, text)
    unpatched = Replayer(workflows=[UnpatchedDrillWorkflow], data_converter=data_converter)

    result = await unpatched.replay_workflow(history, raise_on_replay_failure=False)

    assert result.replay_failure is not None
    assert type(result.replay_failure).__name__ == "NondeterminismError"
    assert "Nondeterminism error" in str(result.replay_failure)
