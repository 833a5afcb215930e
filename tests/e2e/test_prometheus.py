"""Alerts from the real Prometheus, through the real Alertmanager, into a real ``tocsin up``.

The rules and the Alertmanager config are the shipped ones with only their timings and
addresses changed (see conftest.py), so this proves what users deploy: a metric going bad opens
an incident with the right level and type, and going good again closes it as the
level's playbook says. The test never posts to the webhook itself; Alertmanager does.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from testkit.stack import TocsinUp, tail
from testkit.waiting import eventually
from tests.e2e.harness import Exporter, Server

pytestmark = pytest.mark.integration

# From a metric change to tocsin: a scrape and an evaluation (1s each), `for:` (1s), Alertmanager's
# group_wait (1s), then a Temporal update. Seconds normally; the margin is for a busy CI machine.
DELIVERY = 60.0


class World:
    """The running pieces, and what the test asks of them."""

    def __init__(
        self, tocsin: TocsinUp, exporter: Exporter, prometheus: Server, alertmanager: Server
    ) -> None:
        self.tocsin = tocsin
        self.exporter = exporter
        self.prometheus = prometheus
        self.alertmanager = alertmanager
        self._last_seen: list[str] = []
        self.api = httpx.AsyncClient(
            base_url=f"{tocsin.api_url}/api/v1",
            headers={"Authorization": f"Bearer {tocsin.api_token()}"},
            timeout=30.0,
        )

    async def prometheus_wired(self) -> bool:
        targets = (await self.prometheus.json("/api/v1/targets"))["data"]["activeTargets"]
        managers = (await self.prometheus.json("/api/v1/alertmanagers"))["data"]
        return [t["health"] for t in targets] == ["up"] and any(
            m["url"].startswith(self.alertmanager.url) for m in managers["activeAlertmanagers"]
        )

    async def incidents(self) -> list[dict[str, Any]]:
        response = await self.api.get("/incidents", params={"limit": 500})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def incidents_of(self, service: str) -> list[dict[str, Any]]:
        return [i for i in await self.incidents() if i.get("service") == service]

    async def incident_of(self, service: str) -> dict[str, Any] | None:
        return next(iter(await self.incidents_of(service)), None)

    async def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        response = await self.api.get(f"/incidents/{incident_id}/timeline")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def with_status(self, service: str, status: str) -> dict[str, Any] | None:
        incident = await self.incident_of(service)
        return incident if incident is not None and incident["status"] == status else None

    async def webhook_deliveries(self) -> float:
        """Notifications Alertmanager delivered to tocsin's webhook (attempts minus failures)."""
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(await self.alertmanager.get("/metrics")):
            for sample in family.samples:
                if sample.labels.get("integration") == "webhook":
                    totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
        return totals.get("alertmanager_notifications_total", 0.0) - totals.get(
            "alertmanager_notifications_failed_total", 0.0
        )

    async def snapshot(self) -> None:
        """Every hop's view, kept for ``report``: so a failure says where the alert stopped."""
        try:
            incidents: object = await self.incidents()
        except (httpx.HTTPError, AssertionError) as error:
            incidents = repr(error)
        notifications = "\n".join(
            line
            for line in (await self.alertmanager.get("/metrics")).splitlines()
            if line.startswith("alertmanager_notification")
            and 'integration="webhook"' in line
            and "latency" not in line
        )
        self._last_seen = [
            f"exporter:\n{self.exporter.render()}",
            f"Prometheus alerts: {await self.prometheus.get('/api/v1/alerts')}",
            f"Alertmanager alerts: {await self.alertmanager.get('/api/v2/alerts')}",
            f"Alertmanager notification metrics:\n{notifications}",
            f"tocsin incidents: {incidents}",
        ]

    def report(self) -> str:
        return "\n".join(
            [
                *self._last_seen,
                tail(self.prometheus.log),
                tail(self.alertmanager.log),
                self.tocsin.report(),
            ]
        )

    async def until(self, check: Any, what: str) -> Any:
        """``eventually``, with every hop's view in the failure report."""
        try:
            return await eventually(check, DELIVERY, what, every=0.2)
        except AssertionError as failure:
            await self.snapshot()
            raise AssertionError(f"{failure}\n{self.report()}") from None


@pytest.fixture
async def world(
    tocsin: TocsinUp, exporter: Exporter, prometheus: Server, alertmanager: Server
) -> AsyncIterator[World]:
    await tocsin.wait_until_up()
    opened = World(tocsin, exporter, prometheus, alertmanager)
    # Prometheus hands new scrape targets and Alertmanagers to its managers at most every 5s:
    # wait for both, so the deadlines below time the alert path and not Prometheus's start.
    await opened.until(
        opened.prometheus_wired, "Prometheus scraping the exporter and knowing Alertmanager"
    )
    try:
        yield opened
    finally:
        await opened.api.aclose()


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _mentions(timeline: list[dict[str, Any]], word: str) -> bool:
    pattern = re.compile(rf"\b{re.escape(word)}\b")
    return any(pattern.search(text) for text in _strings(timeline))


async def test_alerts_open_incidents_and_clearing_them_mitigates_or_resolves(
    world: World,
) -> None:
    assert await world.incidents() == []

    world.exporter.set("checkout_success_ratio", 0.5)
    for channel in ("web", "app"):
        world.exporter.set("support_chat_up", 0, channel=channel)

    checkout = await world.until(
        lambda: world.incident_of("checkout"), "an incident for CheckoutSuccessRatioLow"
    )
    assert checkout["level"] == "A"  # the rule's `level: A` label
    assert checkout["type"] == "service_outage"
    assert checkout["source"] == "alertmanager"
    assert checkout["status"] == "triggered"

    chat = await world.until(
        lambda: world.incident_of("support-chat"), "an incident for SupportChatDown"
    )
    # No level label: graded by score from the service catalog, which makes support chat a C.
    assert chat["level"] == "C"
    assert chat["type"] == "service_outage"
    assert chat["source"] == "alertmanager"
    assert chat["status"] == "triggered"

    # Both channels' alerts belong to the one group, so to the one incident.
    async def both_channels() -> bool:
        timeline = await world.timeline(chat["id"])
        return all(_mentions(timeline, c) for c in ("web", "app"))

    await world.until(both_channels, "both support chat channels on the incident's timeline")

    world.exporter.set("checkout_success_ratio", 0.99)
    for channel in ("web", "app"):
        world.exporter.set("support_chat_up", 1, channel=channel)

    # Level A is mitigated, not resolved: a person confirms the fix (on_alerts_cleared).
    await world.until(
        lambda: world.with_status("checkout", "mitigated"),
        "the checkout incident mitigated once its alert cleared",
    )
    await world.until(
        lambda: world.with_status("support-chat", "resolved"),
        "the support chat incident resolved once both alerts cleared",
    )

    # One incident per group, however many notifications Alertmanager sent for it.
    assert [i["id"] for i in await world.incidents_of("checkout")] == [checkout["id"]]
    assert [i["id"] for i in await world.incidents_of("support-chat")] == [chat["id"]]
    assert {i["source"] for i in await world.incidents()} == {"alertmanager"}
    # Firing and resolved for each group, all accepted: Alertmanager, not the test, delivered.
    assert await world.webhook_deliveries() >= 4
    await _show(world)


async def _show(world: World) -> None:
    """With ``pytest -s``: what a responder sees of the incidents real Alertmanager opened."""
    for incident in await world.incidents():
        fields = ("id", "title", "level", "type", "status", "source", "service")
        print(" ".join(f"{name}={incident[name]}" for name in fields))
        grading = incident.get("grading") or {}
        print(f"  grading: rule={grading.get('rule')} score={grading.get('score')}")
        for event in await world.timeline(incident["id"]):
            print(f"  {event['seq']:>3} {event['kind']:<16} {event['text']}")
