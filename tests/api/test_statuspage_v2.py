"""The Statuspage v2 public API as existing clients read it: a real Statuspage reader from
PyPI (``statuspage-prometheus-exporter``, which polls a page's ``/api/v2/summary.json``) over
real HTTP, and every endpoint checked against Statuspage's documented fields and values.
Only published statements appear; drills never; no token."""

from __future__ import annotations

import asyncio
import importlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adapters.clock import utcnow
from tests.api.messaging import Messaging, declare
from tests.api.test_maintenance import schedule
from tests.api.test_status_page import publish

ENDPOINTS = {
    "summary.json": ("page", "status", "components", "incidents", "scheduled_maintenances"),
    "status.json": ("page", "status"),
    "components.json": ("page", "components"),
    "incidents.json": ("page", "incidents"),
    "incidents/unresolved.json": ("page", "incidents"),
    "scheduled-maintenances.json": ("page", "scheduled_maintenances"),
    "scheduled-maintenances/upcoming.json": ("page", "scheduled_maintenances"),
    "scheduled-maintenances/active.json": ("page", "scheduled_maintenances"),
}

# Statuspage's public API v2 as its documentation describes each object: the fields a client
# may rely on and the values they take. Written from that documentation, not from tocsin.
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"anyOf": [_TIME, {"type": "null"}]}
_COMPONENT = {
    "type": "object",
    "required": ["id", "name", "status", "position", "description", "group_id", "created_at",
                 "updated_at", "page_id", "showcase", "only_show_if_degraded", "group"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "status": {"enum": ["operational", "degraded_performance", "partial_outage",
                            "major_outage", "under_maintenance"]},
        "position": {"type": "integer"},
        "description": {"type": ["string", "null"]},
        "group_id": {"type": ["string", "null"]},
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}  # fmt: skip
_UPDATE = {
    "type": "object",
    "required": ["id", "status", "body", "incident_id", "created_at", "updated_at", "display_at"],
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": ["investigating", "identified", "monitoring", "resolved",
                            "postmortem", "scheduled", "in_progress", "verifying", "completed"]},
        "body": {"type": "string"},
        "created_at": _TIME,
        "display_at": _TIME_OR_NULL,
    },
}  # fmt: skip
_INCIDENT = {
    "type": "object",
    "required": ["id", "name", "status", "impact", "created_at", "updated_at", "monitoring_at",
                 "resolved_at", "shortlink", "incident_updates", "components", "page_id"],
    "properties": {
        "status": {"enum": ["investigating", "identified", "monitoring", "resolved",
                            "postmortem"]},
        "impact": {"enum": ["none", "minor", "major", "critical"]},
        "created_at": _TIME,
        "updated_at": _TIME,
        "monitoring_at": _TIME_OR_NULL,
        "resolved_at": _TIME_OR_NULL,
        "shortlink": {"type": "string", "format": "uri"},
        "incident_updates": {"type": "array", "items": _UPDATE},
        "components": {"type": "array", "items": _COMPONENT},
    },
}  # fmt: skip
_MAINTENANCE = {
    **_INCIDENT,
    "required": [*_INCIDENT["required"], "scheduled_for", "scheduled_until"],
    "properties": {
        **_INCIDENT["properties"],  # type: ignore[dict-item]
        "status": {"enum": ["scheduled", "in_progress", "verifying", "completed"]},
        "impact": {"enum": ["none", "minor", "major", "critical", "maintenance"]},
        "scheduled_for": _TIME,
        "scheduled_until": _TIME,
    },
}
SCHEMA = {
    "type": "object",
    "properties": {
        "page": {
            "type": "object",
            "required": ["id", "name", "url", "time_zone", "updated_at"],
            "properties": {"url": {"type": "string", "format": "uri"}, "updated_at": _TIME},
        },
        "status": {
            "type": "object",
            "required": ["indicator", "description"],
            "properties": {"indicator": {"enum": ["none", "minor", "major", "critical"]}},
        },
        "components": {"type": "array", "items": _COMPONENT},
        "incidents": {"type": "array", "items": _INCIDENT},
        "scheduled_maintenances": {"type": "array", "items": _MAINTENANCE},
    },
}


async def _page(m: Messaging) -> dict[str, dict[str, Any]]:
    """A published incident on checkout, a drill, an unpublished one, a window on now for
    support-chat and one next week."""
    real = await declare(m, title="Checkout failing")
    drill = await declare(m, title="DRILL payments exercise", drill=True)
    await declare(m, title="Search is slow", level="B", service="support-chat")
    await publish(m, real["id"], "Card payments are failing; we are on it.")
    await publish(m, drill["id"], "Drill statement, never public.")
    engine_now = await m.stack.env.get_current_time()
    now = min(utcnow(), engine_now)
    on = await schedule(
        m.api, ["support-chat"], now - timedelta(minutes=1), now + timedelta(hours=3)
    )
    soon = await schedule(
        m.api, ["checkout"], now + timedelta(days=7), now + timedelta(days=7, hours=1)
    )
    return {"real": real, "drill": drill, "on": on, "soon": soon}


async def test_every_endpoint_answers_statuspage_fields_without_a_token(
    messaging: Messaging,
) -> None:
    made = await _page(messaging)
    answers = {}
    for path, keys in ENDPOINTS.items():
        response = await messaging.public.get(f"/api/v2/{path}")
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        assert tuple(body) == keys, path
        jsonschema.validate(body, SCHEMA, format_checker=jsonschema.FormatChecker())
        answers[path] = body

    summary = answers["summary.json"]
    assert summary["page"]["time_zone"] == "Etc/UTC"
    assert summary["page"]["url"] == "http://tocsin.test/status"
    statuses = {c["id"]: c["status"] for c in summary["components"]}
    assert statuses["checkout"] == "major_outage"
    assert statuses["support-chat"] == "under_maintenance"
    # One component down among several is a partial outage of the page.
    assert summary["status"]["indicator"] == "major"
    (incident,) = summary["incidents"]
    assert incident["id"] == made["real"]["id"]
    assert incident["impact"] == "critical"
    assert incident["status"] == "investigating"
    assert [c["id"] for c in incident["components"]] == ["checkout"]
    assert incident["incident_updates"][0]["body"] == "Card payments are failing; we are on it."
    assert incident["shortlink"] == f"http://tocsin.test/status#{incident['id']}"
    shown = json.dumps(answers)
    assert made["drill"]["id"] not in shown
    assert "DRILL" not in shown
    assert "Search is slow" not in shown  # never published
    assert [i["id"] for i in answers["incidents/unresolved.json"]["incidents"]] == [incident["id"]]

    def ids(path: str) -> list[str]:
        return [w["id"] for w in answers[path]["scheduled_maintenances"]]

    assert ids("scheduled-maintenances/active.json") == [made["on"]["id"]]
    assert ids("scheduled-maintenances/upcoming.json") == [made["soon"]["id"]]
    assert ids("summary.json") == [made["on"]["id"], made["soon"]["id"]]
    active = answers["scheduled-maintenances/active.json"]["scheduled_maintenances"][0]
    assert active["status"] == "in_progress"
    assert active["impact"] == "maintenance"
    assert [u["status"] for u in active["incident_updates"]] == ["in_progress", "scheduled"]


async def test_a_cancelled_window_leaves_and_a_page_revalidates_with_its_etag(
    messaging: Messaging,
) -> None:
    made = await _page(messaging)
    first = await messaging.public.get("/api/v2/scheduled-maintenances.json")
    again = await messaging.public.get(
        "/api/v2/scheduled-maintenances.json", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304

    await messaging.api.post(f"/api/v1/maintenances/{made['soon']['id']}/cancel", json={})

    after = await messaging.public.get(
        "/api/v2/scheduled-maintenances.json", headers={"If-None-Match": first.headers["etag"]}
    )
    assert after.status_code == 200
    assert [w["id"] for w in after.json()["scheduled_maintenances"]] == [made["on"]["id"]]


async def test_a_real_statuspage_client_reads_the_summary(
    messaging: Messaging, served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await _page(messaging)
    url = f"{served}/api/v2/summary.json"
    services = tmp_path / "services.json"
    services.write_text(json.dumps({"tocsin": {"type": "status_page", "url": url}}))
    monkeypatch.setenv("SERVICES_JSON_PATH", str(services))
    monkeypatch.chdir(tmp_path)  # its response cache is written under ./cache
    checker = importlib.import_module("statuspage_prometheus_exporter.service_checker")

    result = await asyncio.to_thread(
        checker.check_status_page_service, "tocsin", {"type": "status_page", "url": url}
    )

    assert result["success"], result
    assert result["raw_status"] == "critical"
    (incident,) = result["incident_metadata"]
    assert incident["id"] == made["real"]["id"]
    assert incident["name"] == "Checkout failing"
    assert incident["impact"] == "critical"
    assert incident["affected_components"] == ["Checkout and payments"]
    windows = {w["id"]: w for w in result["maintenance_metadata"]}
    assert set(windows) == {made["on"]["id"], made["soon"]["id"]}
    assert windows[made["on"]["id"]]["status"] == "in_progress"
    assert windows[made["on"]["id"]]["affected_components"] == ["Support chat"]
    components = {c["name"]: c["status"] for c in result["component_metadata"]}
    assert components["Checkout and payments"] == "major_outage"
    assert components["Support chat"] == "under_maintenance"


async def test_an_unknown_v2_path_is_a_404(messaging: Messaging) -> None:
    response = await messaging.public.get("/api/v2/pages.json")

    assert response.status_code == 404
