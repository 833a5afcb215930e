"""The figures the incident JSON adds to the domain model, and the one shape of every list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.app import create_app
from api.schemas.incidents import IncidentOut
from domain.models import Incident, IncidentType, Level, Status
from tests.api.conftest import api_config

DECLARED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def incident(**changes: object) -> Incident:
    base = Incident(
        id="20261123-k7qz",
        title="Checkout is down",
        level=Level.A,
        type=IncidentType.SERVICE_OUTAGE,
        declared_at=DECLARED,
        declared_by="Alice",
        ack_deadline=DECLARED + timedelta(minutes=15),
        response_window_seconds=900,
    )
    return base.model_copy(update=changes)


def test_time_left_counts_down_to_the_deadline() -> None:
    out = IncidentOut.of(incident(), DECLARED + timedelta(minutes=10))

    assert out.time_left_seconds == 5 * 60
    assert out.time_to_ack_seconds is None


def test_time_left_is_negative_once_overdue() -> None:
    out = IncidentOut.of(incident(window_breached=True), DECLARED + timedelta(minutes=17))

    assert out.time_left_seconds == -2 * 60


def test_time_left_is_null_once_acknowledged_and_time_to_ack_is_set() -> None:
    acked = incident(
        status=Status.ACKNOWLEDGED,
        acknowledged_at=DECLARED + timedelta(minutes=4, seconds=30),
        acknowledged_by="Bob",
    )

    out = IncidentOut.of(acked, DECLARED + timedelta(hours=1))

    assert out.time_left_seconds is None
    assert out.time_to_ack_seconds == 270


def test_time_left_is_null_once_resolved() -> None:
    resolved = incident(status=Status.RESOLVED, resolved_at=DECLARED + timedelta(minutes=1))

    out = IncidentOut.of(resolved, DECLARED + timedelta(minutes=2))

    assert out.time_left_seconds is None
    assert out.model_dump(mode="json")["resolved_at"] == "2026-11-23T09:01:00Z"


# ----------------------------------------------------------------------- the list envelope

LISTS = [
    "/api/v1/incidents",
    "/api/v1/incidents/{incident_id}/timeline",
    "/api/v1/incidents/{incident_id}/messages",
    "/api/v1/subscribers",
    "/api/v1/components",
    "/api/v1/maintenances",
    "/api/v1/reviews",
    "/api/v1/actions",
    "/api/v1/reports/response",
    "/api/v1/drills",
    "/api/v1/drills/scenarios",
    "/api/v1/drills/schedules",
    "/api/v1/tokens",
    "/api/v1/audit",
    "/api/v1/oncall",
    "/api/v1/schedules",
    "/api/v1/schedules/{name}/shifts",
    "/api/v1/schedules/{name}/overrides",
]


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return create_app(api_config(tmp_path_factory.mktemp("spec"))).openapi()


def answer(spec: dict[str, Any], path: str) -> dict[str, Any]:
    """The JSON schema of a GET's 200, its reference followed."""
    schema: dict[str, Any] = spec["paths"][path]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    if "$ref" in schema:
        return dict(spec["components"]["schemas"][schema["$ref"].rpartition("/")[2]])
    return schema


@pytest.mark.parametrize("path", LISTS)
def test_every_list_answers_its_items_under_items(spec: dict[str, Any], path: str) -> None:
    schema = answer(spec, path)

    arrays = [k for k, v in schema.get("properties", {}).items() if v.get("type") == "array"]
    assert arrays == ["items"], (path, schema)
    assert "items" in schema["required"]
    if any(p["name"] == "offset" for p in spec["paths"][path]["get"].get("parameters", [])):
        assert schema["properties"]["total"]["type"] == "integer"


def test_no_answer_is_a_bare_array(spec: dict[str, Any]) -> None:
    bare = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, op in operations.items()
        for code, reply in op["responses"].items()
        if code.startswith("2")
        and reply.get("content", {}).get("application/json", {}).get("schema", {}).get("type")
        == "array"
    ]
    assert bare == []
