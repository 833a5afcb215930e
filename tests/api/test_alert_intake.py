"""``POST /api/v1/alerts/alertmanager`` as Alertmanager calls it, with the real payloads it
sends: auth by its own token, validation before anything starts, deduplication under
concurrency, the size cap, and the intake metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shlex
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.service import RPCError, RPCStatusCode

from alerts.models import WebhookPayload
from api.config import ApiConfig
from domain.models import Level, NotificationKind, Status
from testkit.waiting import eventually
from tests.alert_payloads import INTAKE_AUTH, INTAKE_TOKEN, WEBHOOK, raw, storm
from tests.api.conftest import AUTH, TOKEN, api_config, build_app, http_client, recorded
from tests.conftest import Stack
from workflows.ids import alert_group_workflow_id, workflow_id
from workflows.incident.client import IncidentService

MIB = 1024 * 1024


@pytest.fixture
def config(tmp_path: Path, stack: Stack) -> ApiConfig:
    return api_config(tmp_path, intake_token=SecretStr(INTAKE_TOKEN), task_queue=stack.task_queue)


@pytest.fixture
async def opened(stack: Stack) -> AsyncIterator[set[str]]:
    """Incident ids a test opened through the webhook; terminated afterwards so the
    time-skipping server keeps skipping."""
    ids: set[str] = set()
    yield ids
    for incident_id in ids:
        with contextlib.suppress(RPCError):
            await stack.client.get_workflow_handle(workflow_id(incident_id)).terminate()


@pytest.fixture
def app(config: ApiConfig, stack: Stack) -> FastAPI:
    service = IncidentService(stack.client, stack.task_queue, stack.playbooks)
    return build_app(config, stack.store, service)


@pytest.fixture
async def alertmanager(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app, {**INTAKE_AUTH, "User-Agent": "Alertmanager/0.25.0"}) as http:
        yield http


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app, AUTH) as http:
        yield http


async def post(http: httpx.AsyncClient, body: dict[str, Any], opened: set[str]) -> dict[str, Any]:
    """A delivery answered with what it did to the incident (``?wait=true``)."""
    response = await http.post(WEBHOOK, json=body, params={"wait": "true"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    for group in result["groups"]:
        if group["incident_id"]:
            opened.add(group["incident_id"])
    return result


async def assert_nothing_started(stack: Stack, body: dict[str, Any]) -> None:
    """No workflow for the group and no record: a request that had started its incident
    would have done so before answering."""
    group = WebhookPayload.model_validate(
        raw("checkout-firing")
        | {"groupKey": body.get("groupKey", raw("checkout-firing")["groupKey"])}
    ).group_id
    handle = stack.client.get_workflow_handle(alert_group_workflow_id(group))
    with pytest.raises(RPCError) as exc:
        await handle.describe()
    assert exc.value.status == RPCStatusCode.NOT_FOUND
    assert await stack.store.count_incidents() == 0
    assert stack.notifier.sent == []


async def test_a_firing_notification_opens_an_incident_and_says_so(
    alertmanager: httpx.AsyncClient, api: httpx.AsyncClient, stack: Stack, opened: set[str]
) -> None:
    result = await post(alertmanager, raw("checkout-firing"), opened)

    (group,) = result["groups"]
    assert group["outcome"] == "opened"
    assert group["level"] == "A"
    assert group["status"] == "triggered"
    assert group["receiver"] == "tocsin"
    assert group["group_key"] == '{}:{alertname="CheckoutSuccessRatioLow", service="checkout"}'
    assert group["new_firing"] == 1
    assert group["grading"]["rule"] == "label"
    incident_id = group["incident_id"]
    shown = (await api.get(f"/api/v1/incidents/{incident_id}")).json()
    assert shown["source"] == "alertmanager"
    assert shown["grading"]["factors"][0]["name"] == "affected_users"
    await eventually(lambda: bool(stack.notifier.of_kind(NotificationKind.PAGE, incident_id)))
    # People act on it like on any other incident.
    acked = await api.post(f"/api/v1/incidents/{incident_id}/ack", json={"by": "Bob"})
    assert acked.status_code == 200
    assert acked.json()["acknowledged_by"] == "Bob"


async def test_redelivery_joins_and_resolution_applies_the_playbook(
    alertmanager: httpx.AsyncClient, stack: Stack, opened: set[str]
) -> None:
    first = (await post(alertmanager, raw("support-chat-firing"), opened))["groups"][0]
    again = (await post(alertmanager, raw("support-chat-firing"), opened))["groups"][0]
    cleared = (await post(alertmanager, raw("support-chat-resolved"), opened))["groups"][0]

    assert (first["outcome"], first["level"]) == ("opened", "C")
    assert first["grading"]["rule"] == "score"
    assert (again["outcome"], again["duplicates"]) == ("duplicate", 2)
    assert again["incident_id"] == cleared["incident_id"] == first["incident_id"]
    assert (cleared["outcome"], cleared["new_resolved"]) == ("joined", 2)
    assert cleared["status"] == "resolved"  # level C: on_alerts_cleared is resolved
    await recorded(stack.store, first["incident_id"], Status.RESOLVED)


async def test_fifty_identical_notifications_at_once_open_exactly_one_incident(
    alertmanager: httpx.AsyncClient, stack: Stack, opened: set[str]
) -> None:
    results = await asyncio.gather(
        *(post(alertmanager, raw("checkout-firing"), opened) for _ in range(50))
    )

    groups = [r["groups"][0] for r in results]
    assert len({g["incident_id"] for g in groups}) == 1
    assert sorted(g["outcome"] for g in groups) == ["duplicate"] * 49 + ["opened"]
    (incident_id,) = opened
    await recorded(stack.store, incident_id)
    assert await stack.store.count_incidents() == 1


async def test_only_resolved_alerts_for_an_unknown_group_are_ignored(
    alertmanager: httpx.AsyncClient, stack: Stack, opened: set[str]
) -> None:
    result = await post(alertmanager, raw("checkout-resolved"), opened)

    assert result["groups"][0]["outcome"] == "ignored"
    assert result["groups"][0]["incident_id"] is None
    await assert_nothing_started(stack, raw("checkout-resolved"))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}"},  # the API token is not the intake token
        {"Authorization": f"Basic {INTAKE_TOKEN}"},
    ],
    ids=["missing", "wrong", "api-token", "not-bearer"],
)
async def test_without_the_intake_token_it_is_401_and_nothing_starts(
    app: FastAPI, stack: Stack, headers: dict[str, str]
) -> None:
    async with http_client(app, headers) as http:
        response = await http.post(WEBHOOK, json=raw("checkout-firing"))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert INTAKE_TOKEN not in response.text
    await assert_nothing_started(stack, raw("checkout-firing"))


async def test_the_intake_token_does_not_open_the_incidents_api(app: FastAPI) -> None:
    async with http_client(app, INTAKE_AUTH) as http:
        response = await http.get("/api/v1/incidents")

    assert response.status_code == 401


async def test_without_a_configured_intake_token_it_says_so(tmp_path: Path, stack: Stack) -> None:
    service = IncidentService(stack.client, stack.task_queue, stack.playbooks)
    app = build_app(api_config(tmp_path), stack.store, service)
    async with http_client(app, INTAKE_AUTH) as http:
        response = await http.post(WEBHOOK, json=raw("checkout-firing"))

    assert response.status_code == 401
    assert "TOCSIN_INTAKE_TOKEN" in response.json()["detail"]


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def _alert_status(data: dict[str, Any], status: str) -> dict[str, Any]:
    data["alerts"][0]["status"] = status
    return data


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b'{"version": "4", "groupKey": ', "body"),
        (json.dumps({**raw("checkout-firing"), "version": "3"}).encode(), "version"),
        (json.dumps(_without(raw("checkout-firing"), "groupKey")).encode(), "groupKey"),
        (json.dumps({**raw("checkout-firing"), "status": "pending"}).encode(), "status"),
        (json.dumps(_alert_status(raw("checkout-firing"), "pending")).encode(), "alerts"),
        (json.dumps({**raw("checkout-firing"), "alerts": []}).encode(), "alerts"),
        (b"\xff\xfe not json", "body"),
    ],
    ids=[
        "malformed-json",
        "wrong-version",
        "missing-groupKey",
        "unknown-status",
        "unknown-alert-status",
        "no-alerts",
        "not-utf8",
    ],
)
async def test_invalid_payload_is_422_naming_the_field_and_nothing_starts(
    alertmanager: httpx.AsyncClient, stack: Stack, content: bytes, field: str
) -> None:
    response = await alertmanager.post(
        WEBHOOK, content=content, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text
    locations = [error["loc"] for error in response.json()["detail"]]
    assert any(field in loc for loc in locations), locations
    await assert_nothing_started(stack, raw("checkout-firing"))


async def test_body_over_the_two_mib_cap_is_413_with_a_way_out(
    alertmanager: httpx.AsyncClient, stack: Stack
) -> None:
    # Ten thousand alerts as Alertmanager really sends them weigh about 5.5 MB.
    body = storm(raw("checkout-firing"), 10_000)

    response = await alertmanager.post(WEBHOOK, json=body)

    assert response.status_code == 413
    assert "max_alerts" in response.json()["detail"]
    await assert_nothing_started(stack, body)


async def test_the_people_api_keeps_its_smaller_cap(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/incidents",
        json={"title": "x", "level": "C", "type": "service_outage", "description": "x" * MIB},
    )

    assert response.status_code == 413


async def test_a_storm_of_ten_thousand_alerts_is_accepted_and_handled(
    config: ApiConfig, stack: Stack, opened: set[str]
) -> None:
    # What is checked is that all of it is taken and counted, not how fast: on a machine busy
    # with other tests the workflow may need longer than the API's usual bounds for 10,000,
    # the intake route's own (8 s) as well as the engine calls'.
    config = replace(config, intake_max_body_bytes=8 * MIB, intake_timeout_seconds=120)
    service = IncidentService(stack.client, stack.task_queue, stack.playbooks, call_timeout=120)
    app = build_app(config, stack.store, service)
    body = storm(raw("checkout-firing"), 10_000)

    async with http_client(app, INTAKE_AUTH) as http:
        group = (await post(http, body, opened))["groups"][0]
        again = (await post(http, body, opened))["groups"][0]

    assert (group["outcome"], group["new_firing"]) == ("opened", 10_000)
    assert (again["outcome"], again["duplicates"]) == ("duplicate", 10_000)


async def test_metrics_count_alerts_received_and_deduplicated_notifications(
    alertmanager: httpx.AsyncClient, api: httpx.AsyncClient, opened: set[str]
) -> None:
    await post(alertmanager, raw("support-chat-firing"), opened)
    await post(alertmanager, raw("support-chat-firing"), opened)
    await post(alertmanager, raw("support-chat-resolved"), opened)

    text = (await api.get("/metrics")).text

    assert 'tocsin_alerts_received_total{status="firing"} 4.0' in text
    assert 'tocsin_alerts_received_total{status="resolved"} 2.0' in text
    assert "tocsin_alert_notifications_deduplicated_total 1.0" in text
    assert "tocsin_alert_notifications_accepted_total 0.0" in text


# ------------------------------------------------------------- answered once stored (default)


async def test_by_default_a_delivery_is_answered_202_once_stored_and_then_opens(
    alertmanager: httpx.AsyncClient, stack: Stack, opened: set[str]
) -> None:
    response = await alertmanager.post(WEBHOOK, json=raw("checkout-firing"))

    assert response.status_code == 202, response.text
    (group,) = response.json()["groups"]
    assert group["outcome"] == "accepted"
    assert group["alerts"] == 1
    assert group["workflow_id"].startswith("alerts-")

    async def one_incident() -> list[Any]:
        return await stack.store.list_incidents()

    (incident,) = await eventually(one_incident)
    opened.add(incident.id)
    assert incident.level is Level.A
    await eventually(lambda: stack.notifier.of_kind(NotificationKind.PAGE, incident.id))


async def test_by_default_fifty_identical_deliveries_at_once_open_exactly_one_incident(
    alertmanager: httpx.AsyncClient, stack: Stack, opened: set[str]
) -> None:
    body = raw("checkout-firing")

    responses = await asyncio.gather(*(alertmanager.post(WEBHOOK, json=body) for _ in range(50)))

    assert {r.status_code for r in responses} == {202}
    (incident,) = await eventually(lambda: stack.store.list_incidents())
    opened.add(incident.id)
    await eventually(lambda: stack.notifier.of_kind(NotificationKind.PAGE, incident.id))
    assert len(await stack.store.list_incidents()) == 1
    assert len(stack.notifier.of_kind(NotificationKind.PAGE)) == 1


async def test_by_default_resolved_alerts_of_no_incident_are_ignored(
    alertmanager: httpx.AsyncClient, stack: Stack
) -> None:
    response = await alertmanager.post(WEBHOOK, json=raw("checkout-resolved"))

    assert response.status_code == 202
    assert response.json()["groups"][0]["outcome"] == "ignored"
    await assert_nothing_started(stack, raw("checkout-resolved"))
    metrics = (await alertmanager.get("/metrics")).text
    assert "tocsin_alert_notifications_accepted_total 1.0" in metrics


ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_webhook_examples() -> list[tuple[str, dict[str, Any] | None]]:
    """The README's webhook commands, in order, each with the answer the README shows after
    it (a ``json`` block), if any."""
    blocks = re.findall(r"```(sh|json)\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    examples: list[tuple[str, dict[str, Any] | None]] = []
    for kind, text in blocks:
        if kind == "sh" and "/api/v1/alerts/alertmanager" in text:
            examples.append((text, None))
        elif kind == "json" and examples and examples[-1][1] is None and '"groups"' in text:
            examples[-1] = (examples[-1][0], json.loads(text))
    return examples


async def run_curl(http: httpx.AsyncClient, command: str) -> httpx.Response:
    """A README curl command against the app: its URL's path and query, its body file."""
    args = shlex.split(command.replace("\\\n", " "))
    url = urlsplit(next(a for a in args if a.startswith("http")))
    body = (ROOT / args[args.index("-d") + 1].removeprefix("@")).read_bytes()
    return await http.post(
        f"{url.path}?{url.query}" if url.query else url.path,
        content=body,
        headers={"Content-Type": "application/json"},
    )


async def test_the_readme_webhook_commands_answer_what_the_readme_says(
    alertmanager: httpx.AsyncClient, stack: Stack, opened: set[str]
) -> None:
    (accepted_cmd, shown), (waiting_cmd, _) = readme_webhook_examples()

    accepted = await run_curl(alertmanager, accepted_cmd)
    waited = await run_curl(alertmanager, waiting_cmd)

    assert accepted.status_code == 202
    assert shown is not None
    (group,) = accepted.json()["groups"]
    (shown_group,) = shown["groups"]
    assert set(group) == set(shown_group)
    assert group == shown_group  # the group's workflow id is derived from its key
    assert group["outcome"] == "accepted"
    assert waited.status_code == 200
    (incident,) = waited.json()["groups"]
    opened.add(incident["incident_id"])
    assert incident["outcome"] in {"opened", "duplicate"}
    assert {"incident_id", "level", "status", "grading"} <= set(incident)
    assert await recorded(stack.store, incident["incident_id"])
