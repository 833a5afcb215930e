"""External partners on the time-skipping server, through the HTTP API: a level A outage
engages the hosting provider at once; its answer within its own 30m target stops the pages;
silence past it marks it late and pages its next contact; the response report counts
partners apart (``partner_within_target_ratio``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.models import NotificationKind
from testkit.partners import partner_playbooks
from testkit.waiting import eventually
from tests.api.conftest import declaration
from tests.conftest import Stack, open_stack

INCIDENTS = "/api/v1/incidents"
# The partner's contacts in testkit/partners.py, by address.
CONTACTS = {
    "noc@cloudhost.example": "CloudHost NOC",
    "duty@cloudhost.example": "CloudHost duty manager",
}


@pytest.fixture
async def stack(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    """The bundled playbooks with the ``cloudhost`` partner engaged by level A outages."""
    async for opened in open_stack(ts_env, tmp_path, partner_playbooks(tmp_path / "playbooks")):
        opened.extra["outbox"] = tmp_path / "outbox"
        yield opened


def _partner_pages(stack: Stack, incident_id: str) -> list[str]:
    """Who of the partner's contacts was paged for the incident: the NOC has only an e-mail
    address, so its pages are e-mails (the outbox); the duty manager's go to Slack."""
    outbox = stack.extra["outbox"]
    assert isinstance(outbox, Path)
    mails = sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    emailed = [
        CONTACTS[str(mail["To"])]
        for mail in (message_from_bytes(path.read_bytes(), policy=default) for path in mails)
        if str(mail["To"]) in CONTACTS and incident_id in str(mail["Subject"])
    ]
    slacked = [
        n.recipient.person.name
        for n in stack.notifier.sent
        if n.kind is NotificationKind.ENGAGE
        and n.incident.id == incident_id
        and n.recipient is not None
        and n.recipient.partner == "cloudhost"
    ]
    return emailed + slacked


async def _declare(client: httpx.AsyncClient, **overrides: Any) -> str:
    answer = await client.post(INCIDENTS, json=declaration(**overrides))
    assert answer.status_code == 201, answer.text
    incident_id: str = answer.json()["id"]
    return incident_id


async def _timeline(client: httpx.AsyncClient, incident_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get(f"{INCIDENTS}/{incident_id}/timeline")).json()[
        "items"
    ]
    return items


async def test_a_partner_is_paged_and_its_answer_within_target_stops_the_pages(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    incident_id = await _declare(client)
    await eventually(lambda: _partner_pages(stack, incident_id) == ["CloudHost NOC"])
    await stack.env.sleep(timedelta(minutes=12))

    answer = await client.post(
        f"{INCIDENTS}/{incident_id}/partners/cloudhost/ack", json={"by": "CloudHost NOC"}
    )

    assert answer.status_code == 200, answer.text
    [partner] = answer.json()["partners"]
    assert partner["acknowledged_by"] == "CloudHost NOC"
    assert partner["late"] is False
    assert answer.json()["acknowledged_at"] is None  # the partner does not answer for us
    await stack.env.sleep(timedelta(minutes=25))  # past its 30m target
    timeline = await _timeline(client, incident_id)
    kinds = [e["kind"] for e in timeline]
    assert "partner_answered" in kinds
    assert "partner_late" not in kinds
    assert _partner_pages(stack, incident_id) == ["CloudHost NOC"]
    again = await client.post(
        f"{INCIDENTS}/{incident_id}/partners/cloudhost/ack", json={"by": "CloudHost NOC"}
    )
    assert again.status_code == 409
    assert "already acknowledged by CloudHost NOC" in again.json()["detail"]


async def test_a_silent_partner_is_late_and_its_next_contact_is_paged(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    incident_id = await _declare(client)
    await eventually(lambda: _partner_pages(stack, incident_id) == ["CloudHost NOC"])

    await stack.env.sleep(timedelta(minutes=30, seconds=1))

    await eventually(
        lambda: _partner_pages(stack, incident_id) == ["CloudHost NOC", "CloudHost duty manager"]
    )
    incident = (await client.get(f"{INCIDENTS}/{incident_id}")).json()
    assert incident["partners"][0]["late"] is True
    assert incident["partners"][0]["contacts_paged"] == 2
    late = [e for e in await _timeline(client, incident_id) if e["kind"] == "partner_late"]
    assert late[0]["text"] == (
        "Partner cloudhost has not answered within 30m: paging its contact 2"
    )


async def test_a_partner_not_engaged_or_misnamed_is_refused_naming_it(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    # A data leak engages no partner at level A (the step is for outages only).
    incident_id = await _declare(client, type="data_leak")
    url = f"{INCIDENTS}/{incident_id}/partners"

    unknown = await client.post(f"{url}/cloudhost/ack", json={"by": "CloudHost NOC"})
    misspelt = await client.post(f"{url}/Cloud%20Host/ack", json={"by": "CloudHost NOC"})

    assert unknown.status_code == 422
    assert "partner cloudhost is not engaged" in unknown.json()["detail"]
    assert misspelt.status_code == 422
    assert _partner_pages(stack, incident_id) == []


async def test_the_response_report_counts_partners_within_their_own_target(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    prompt = await _declare(client, title="Region down")
    slow = await _declare(client, title="Another region down")
    await stack.env.sleep(timedelta(minutes=5))
    await client.post(f"{INCIDENTS}/{prompt}/partners/cloudhost/ack", json={"by": "NOC"})
    await stack.env.sleep(timedelta(minutes=40))
    await client.post(f"{INCIDENTS}/{slow}/partners/cloudhost/ack", json={"by": "NOC"})

    async def judged() -> dict[str, Any] | None:
        report = (await client.get("/api/v1/reports/response")).json()
        [row] = report["items"]
        return report if row["partner_within_target_ratio"] == 0.5 else None

    report = await eventually(judged, report=lambda: "partners not both recorded")
    assert "own respond_within" in report["definitions"]["partner_within_target_ratio"]
