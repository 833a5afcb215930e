"""Alerts from the real Prometheus, through the real Alertmanager, into a real ``tocsin up``.

The rules and the Alertmanager config are the shipped ones with only their timings and
addresses changed (see conftest.py), so this proves what users deploy: a metric going bad opens
an incident with the right level and type, and going good again closes it as the
level's playbook says. The test never posts to the webhook itself; Alertmanager does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import Exporter, Server, TocsinUp, eventually, tail

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
        self.api = httpx.Client(
            base_url=f"{tocsin.api_url}/api/v1",
            headers={"Authorization": f"Bearer {tocsin.api_token()}"},
            timeout=30.0,
        )

    def prometheus_wired(self) -> bool:
        targets = self.prometheus.json("/api/v1/targets")["data"]["activeTargets"]
        managers = self.prometheus.json("/api/v1/alertmanagers")["data"]
        return [t["health"] for t in targets] == ["up"] and any(
            m["url"].startswith(self.alertmanager.url) for m in managers["activeAlertmanagers"]
        )

    def incidents(self) -> list[dict[str, Any]]:
        response = self.api.get("/incidents", params={"limit": 500})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def incidents_of(self, service: str) -> list[dict[str, Any]]:
        return [i for i in self.incidents() if i.get("service") == service]

    def incident_of(self, service: str) -> dict[str, Any] | None:
        return next(iter(self.incidents_of(service)), None)

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        response = self.api.get(f"/incidents/{incident_id}/timeline")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def with_status(self, service: str, status: str) -> dict[str, Any] | None:
        incident = self.incident_of(service)
        return incident if incident is not None and incident["status"] == status else None

    def webhook_deliveries(self) -> float:
        """Notifications Alertmanager delivered to tocsin's webhook (attempts minus failures)."""
        totals: dict[str, float] = {}
        for family in text_string_to_metric_families(self.alertmanager.get("/metrics")):
            for sample in family.samples:
                if sample.labels.get("integration") == "webhook":
                    totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
        return totals.get("alertmanager_notifications_total", 0.0) - totals.get(
            "alertmanager_notifications_failed_total", 0.0
        )

    def report(self) -> str:
        """Every hop's view, so a failure says where the alert stopped."""
        try:
            incidents: object = self.incidents()
        except (httpx.HTTPError, AssertionError) as error:
            incidents = repr(error)
        notifications = "\n".join(
            line
            for line in self.alertmanager.get("/metrics").splitlines()
            if line.startswith("alertmanager_notification")
            and 'integration="webhook"' in line
            and "latency" not in line
        )
        return "\n".join(
            [
                f"exporter:\n{self.exporter.render()}",
                f"Prometheus alerts: {self.prometheus.get('/api/v1/alerts')}",
                f"Alertmanager alerts: {self.alertmanager.get('/api/v2/alerts')}",
                f"Alertmanager notification metrics:\n{notifications}",
                f"tocsin incidents: {incidents}",
                tail(self.prometheus.log),
                tail(self.alertmanager.log),
                self.tocsin.report(),
            ]
        )


@pytest.fixture
def world(
    tocsin: TocsinUp, exporter: Exporter, prometheus: Server, alertmanager: Server
) -> Iterator[World]:
    tocsin.wait_until_up()
    opened = World(tocsin, exporter, prometheus, alertmanager)
    # Prometheus hands new scrape targets and Alertmanagers to its managers at most every 5s:
    # wait for both, so the deadlines below time the alert path and not Prometheus's start.
    eventually(
        opened.prometheus_wired,
        DELIVERY,
        "Prometheus scraping the exporter and knowing Alertmanager",
        opened.report,
    )
    try:
        yield opened
    finally:
        opened.api.close()


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


def test_alerts_open_incidents_and_clearing_them_mitigates_or_resolves(world: World) -> None:
    assert world.incidents() == []

    world.exporter.set("checkout_success_ratio", 0.5)
    for channel in ("web", "app"):
        world.exporter.set("support_chat_up", 0, channel=channel)

    checkout = eventually(
        lambda: world.incident_of("checkout"),
        DELIVERY,
        "an incident for CheckoutSuccessRatioLow",
        world.report,
    )
    assert checkout["level"] == "A", world.report()  # the rule's `level: A` label
    assert checkout["type"] == "service_outage"
    assert checkout["source"] == "alertmanager"
    assert checkout["status"] == "triggered"

    chat = eventually(
        lambda: world.incident_of("support-chat"),
        DELIVERY,
        "an incident for SupportChatDown",
        world.report,
    )
    # No level label: graded by score from the service catalog, which makes support chat a C.
    assert chat["level"] == "C", world.report()
    assert chat["type"] == "service_outage"
    assert chat["source"] == "alertmanager"
    assert chat["status"] == "triggered"
    # Both channels' alerts belong to the one group, so to the one incident.
    eventually(
        lambda: all(_mentions(world.timeline(chat["id"]), c) for c in ("web", "app")),
        DELIVERY,
        "both support chat channels on the incident's timeline",
        lambda: f"timeline: {world.timeline(chat['id'])}\n{world.report()}",
    )

    world.exporter.set("checkout_success_ratio", 0.99)
    for channel in ("web", "app"):
        world.exporter.set("support_chat_up", 1, channel=channel)

    # Level A is mitigated, not resolved: a person confirms the fix (on_alerts_cleared).
    eventually(
        lambda: world.with_status("checkout", "mitigated"),
        DELIVERY,
        "the checkout incident mitigated once its alert cleared",
        world.report,
    )
    eventually(
        lambda: world.with_status("support-chat", "resolved"),
        DELIVERY,
        "the support chat incident resolved once both alerts cleared",
        world.report,
    )

    # One incident per group, however many notifications Alertmanager sent for it.
    assert [i["id"] for i in world.incidents_of("checkout")] == [checkout["id"]]
    assert [i["id"] for i in world.incidents_of("support-chat")] == [chat["id"]]
    assert {i["source"] for i in world.incidents()} == {"alertmanager"}
    # Firing and resolved for each group, all accepted: Alertmanager, not the test, delivered.
    assert world.webhook_deliveries() >= 4, world.report()
    _show(world)


def _show(world: World) -> None:
    """With ``pytest -s``: what a responder sees of the incidents real Alertmanager opened."""
    for incident in world.incidents():
        fields = ("id", "title", "level", "type", "status", "source", "service")
        print(" ".join(f"{name}={incident[name]}" for name in fields))
        grading = incident.get("grading") or {}
        print(f"  grading: rule={grading.get('rule')} score={grading.get('score')}")
        for event in world.timeline(incident["id"]):
            print(f"  {event['seq']:>3} {event['kind']:<16} {event['text']}")
