"""One implementation of the rules: the scenario of a recorded incident, run by the rehearsal
runner under the playbooks that incident pinned, produces the timeline its history recorded."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.catalog import load_catalog
from domain.models import Declaration, Level
from domain.playbook import PlaybookSet
from domain.statements import STATEMENT_SEQ
from playbooks.base import DEFAULT_DIR
from tocsin.binaries import temporal_test_server
from workflows.playtest.cases import Action
from workflows.playtest.runner import Scenario
from workflows.playtest.stage import stage
from workflows.playtest.verdict import LATENESS

HISTORIES = Path(__file__).parent / "histories"


def _decoded(payloads: dict[str, Any]) -> list[Any]:
    return [json.loads(base64.b64decode(p["data"])) for p in payloads.get("payloads", [])]


def _at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))


def _action(name: str, arg: dict[str, Any], at: timedelta) -> Action | None:
    if name == "current":
        return None  # the declaration's own read
    by = arg["by"]["name"]
    match name:
        case "acknowledge":
            return Action(at=at, by=by, ack=True)
        case "change_level":
            return Action(at=at, by=by, level=Level(arg["level"]))
        case "post_update":
            return Action(at=at, by=by, update=arg["text"])
        case "mitigate":
            return Action(at=at, by=by, mitigate=True)
        case "resolve":
            return Action(at=at, by=by, resolve=True)
    raise AssertionError(f"an update this test does not know: {name}")


def recorded(name: str) -> tuple[Scenario, PlaybookSet, list[tuple[timedelta, str, str | None]]]:
    """The scenario a history was recorded from, its pinned playbooks and the incident's
    timeline as its activities were handed it: (offset, kind, actor) in order."""
    events = json.loads((HISTORIES / f"{name}.json").read_text())["events"]
    start = _at(events[0])
    started = _decoded(events[0]["workflowExecutionStartedEventAttributes"]["input"])[0]
    actions: list[Action] = []
    timeline: list[dict[str, Any]] = []
    for event in events:
        if event["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            update = event["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]
            args = _decoded(update["input"].get("args", {}))
            action = _action(update["input"]["name"], args[0] if args else {}, _at(event) - start)
            if action is not None:
                actions.append(action)
        elif event["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            for arg in _decoded(event["activityTaskScheduledEventAttributes"]["input"]):
                timeline += arg.get("events", [])
    declaration = Declaration.model_validate(
        {key: started[key] for key in Declaration.model_fields if key in started}
    )
    scenario = Scenario(
        title=name,
        declaration=declaration,
        payload=None,
        actions=actions,
        horizon=max(a.at for a in actions),
    )
    outcome = [
        (datetime.fromisoformat(e["at"]) - start, e["kind"], e.get("actor"))
        for e in sorted(timeline, key=lambda e: e["seq"])
        if e["seq"] < STATEMENT_SEQ
    ]
    return scenario, PlaybookSet.model_validate(started["playbooks"]), outcome


@pytest.mark.parametrize(
    "name",
    ["breached_and_repaged.effects-in-one-activity", "full_lifecycle.effects-in-one-activity"],
)
async def test_a_recorded_incident_rehearsed_under_its_own_playbooks_has_its_recorded_timeline(
    name: str,
) -> None:
    scenario, pinned, expected = recorded(name)

    async with (
        stage(temporal_test_server(), load_catalog()) as on,
        on.under(DEFAULT_DIR, pinned) as rehearsal,
    ):
        outcome = await rehearsal.run(scenario)
        events = await on.store.timeline(outcome.incident.id)

    start = outcome.incident.declared_at
    got = [(e.at - start, e.kind.value, e.actor) for e in events if e.seq < STATEMENT_SEQ]
    assert [(kind, actor) for _, kind, actor in got] == [(k, a) for _, k, a in expected]
    for (at, kind, _), (recorded_at, _, _) in zip(got, expected, strict=True):
        assert abs(at - recorded_at) <= LATENESS, (kind, at, recorded_at)
    assert outcome.refused == []
