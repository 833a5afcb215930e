"""Replaying recorded histories catches a change to workflow code that would break incidents
already running (a non-deterministic change not guarded by ``workflow.patched``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.announcements import ConfirmSubscriptionWorkflow, MaintenanceWorkflow
from workflows.drills import DrillWorkflow
from workflows.incident import IncidentWorkflow
from workflows.pager import PagerWorkflow
from workflows.reviews import ActionItemWorkflow, ReviewWorkflow
from workflows.statements import StatementsWorkflow
from workflows.worker import sandbox_runner

HISTORIES = Path(__file__).parent / "histories"


def replayer() -> Replayer:
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
        ],
        data_converter=pydantic_data_converter,
        workflow_runner=sandbox_runner(),
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
