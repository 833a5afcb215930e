"""Real Alertmanager notifications (captured from Prometheus 2.42 and Alertmanager 0.25; see
``tests/fixtures/alertmanager/README.md``) and variations of them for tests."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from alerts.models import WebhookPayload

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "alertmanager"
INTAKE_TOKEN = "intake-token-0123456789"
INTAKE_AUTH = {"Authorization": f"Bearer {INTAKE_TOKEN}"}
WEBHOOK = "/api/v1/alerts/alertmanager"


def raw(name: str) -> dict[str, Any]:
    """A fixture as the JSON object Alertmanager posted (a fresh copy each call)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def payload(name: str) -> WebhookPayload:
    return WebhookPayload.model_validate(raw(name))


def starting_at(data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The same notification with its alerts starting at ``at`` (a new occurrence)."""
    data = copy.deepcopy(data)
    for alert in data["alerts"]:
        alert["startsAt"] = at.isoformat()
    return data


def with_alert(data: dict[str, Any], fingerprint: str, **labels: str) -> dict[str, Any]:
    """The notification with one more alert, a copy of its first with other labels."""
    data = copy.deepcopy(data)
    alert = copy.deepcopy(data["alerts"][0])
    alert["fingerprint"] = fingerprint
    alert["labels"].update(labels)
    data["alerts"].append(alert)
    return data


def storm(data: dict[str, Any], count: int) -> dict[str, Any]:
    """``count`` distinct firing alerts in the notification's group, as in a real storm."""
    data = copy.deepcopy(data)
    template = data["alerts"][0]
    alerts = []
    for index in range(count):
        alert = copy.deepcopy(template)
        alert["fingerprint"] = f"{index:016x}"
        alert["labels"]["instance"] = f"10.0.{index // 256}.{index % 256}:9100"
        alerts.append(alert)
    data["alerts"] = alerts
    return data
