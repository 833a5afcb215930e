"""Acknowledge links: the page changes nothing (mail scanners follow links), the button
acknowledges as the person paged, a tampered token is refused, and a resolved incident's
link has expired."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from adapters.acklinks import AckLinks
from api.config import ApiConfig
from domain.models import Actor, Declaration, IncidentType, Level, Status
from tests.api.conftest import BASE_URL, api_config, recorded
from tests.conftest import Stack

SECRET = SecretStr("ack-links-secret-for-api-tests")
ADA = "Ada Okafor"


@pytest.fixture
def config(tmp_path: Path, stack: Stack) -> ApiConfig:
    return api_config(
        tmp_path,
        task_queue=stack.task_queue,
        temporal_address=stack.client.service_client.config.target_host,
        ack_secret=SECRET,
        public_url=BASE_URL,
    )


async def _open(stack: Stack) -> str:
    incident = await stack.service.declare(
        Declaration(
            title="Checkout failing",
            level=Level.A,
            type=IncidentType.SERVICE_OUTAGE,
            declared_by=Actor(name="Alice"),
        )
    )
    await recorded(stack.store, incident.id)
    return incident.id


async def test_the_link_shows_the_incident_and_only_the_press_acknowledges(
    stack: Stack, anonymous: httpx.AsyncClient
) -> None:
    incident_id = await _open(stack)
    link = AckLinks(SECRET, BASE_URL).link(incident_id, ADA)

    shown = await anonymous.get(link)
    assert shown.status_code == 200
    assert "Checkout failing" in shown.text
    assert f"Acknowledge as {ADA}" in shown.text
    assert f'action="{link}"' in shown.text
    assert (await stack.service.current(incident_id)).status is Status.TRIGGERED

    pressed = await anonymous.post(link)
    assert pressed.status_code == 200
    assert f"Acknowledged by {ADA} at " in pressed.text
    incident = await stack.service.current(incident_id)
    assert incident.status is Status.ACKNOWLEDGED
    assert incident.acknowledged_by == ADA

    again = await anonymous.post(link)
    assert again.status_code == 200
    assert f"Already acknowledged by {ADA}" in again.text


async def test_a_tampered_link_is_refused_and_changes_nothing(
    stack: Stack, anonymous: httpx.AsyncClient
) -> None:
    incident_id = await _open(stack)
    token = AckLinks(SECRET, BASE_URL).token(incident_id, ADA)
    forged = AckLinks(SecretStr("another secret"), BASE_URL).token(incident_id, ADA)
    for bad in (token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"), forged):
        for method in ("GET", "POST"):
            answer = await anonymous.request(method, f"{BASE_URL}/ack/{bad}")
            assert answer.status_code == 403
            assert "This link is not valid" in answer.text
    assert (await stack.service.current(incident_id)).status is Status.TRIGGERED


async def test_the_link_expires_when_the_incident_resolves(
    stack: Stack, anonymous: httpx.AsyncClient
) -> None:
    incident_id = await _open(stack)
    link = AckLinks(SECRET, BASE_URL).link(incident_id, ADA)
    await stack.service.resolve(incident_id, Actor(name="Alice"), "fixed")
    await recorded(stack.store, incident_id, Status.RESOLVED)
    for method in ("GET", "POST"):
        answer = await anonymous.request(method, link)
        assert answer.status_code == 410
        assert "This link has expired" in answer.text
