"""The customer-messaging stack for API tests: a real SMTP server (``aiosmtpd``) on loopback
receives the mail, a webhook receiver verifies each call's signature with
``standardwebhooks``, and the time-skipping server runs the statements workflows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from adapters.email import SmtpConfig, SmtpMailer
from api.config import ApiConfig
from testkit.mail import Inbox, smtp_server
from testkit.waiting import eventually
from testkit.webhooks import Endpoint, Receiver, webhook_receiver
from tests.api.conftest import (
    AUTH,
    TrackedService,
    api_config,
    build_app,
    http_client,
    serving,
)
from tests.conftest import Stack, open_stack, outbound


@dataclass
class Messaging:
    stack: Stack
    api: httpx.AsyncClient
    public: httpx.AsyncClient
    inbox: Inbox
    hooks: Receiver
    declared: list[str]
    app: FastAPI


@pytest.fixture
async def messaging(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Messaging]:
    with smtp_server() as smtp:
        mailer = SmtpMailer(SmtpConfig(host=smtp.host, port=smtp.port, starttls=False))
        async with webhook_receiver(
            ok=Endpoint(), flaky=Endpoint(answers=[500, 500, 200]), gone=Endpoint(answers=[410])
        ) as hooks:
            async for stack in open_stack(
                ts_env, tmp_path, outbound_to=outbound(tmp_path, mailer=mailer)
            ):
                config: ApiConfig = api_config(
                    tmp_path,
                    task_queue=stack.task_queue,
                    public_url="http://tocsin.test",
                    webhook_allow_private=True,
                )
                declared: list[str] = []
                app = build_app(config, stack.store, TrackedService(stack, declared))
                async with http_client(app, AUTH) as api, http_client(app) as public:
                    yield Messaging(stack, api, public, smtp.inbox, hooks, declared, app)


async def subscribe_webhook(m: Messaging, path: str) -> dict[str, Any]:
    response = await m.api.post(
        "/api/v1/subscribers", json={"webhook_url": m.hooks.url(path), "by": "Gil Ramos"}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    m.hooks.endpoints[path].secret = created["secret"]
    return created


async def declare(m: Messaging, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Checkout failing",
        "level": "A",
        "type": "service_outage",
        "service": "checkout",
        "by": "Alice",
        **overrides,
    }
    response = await m.api.post("/api/v1/incidents", json=body)
    assert response.status_code == 201, response.text
    incident: dict[str, Any] = response.json()
    return incident


async def first_draft(m: Messaging, incident_id: str) -> dict[str, Any]:
    async def drafted() -> dict[str, Any] | None:
        items = (await m.api.get(f"/api/v1/incidents/{incident_id}/messages")).json()["items"]
        return items[0] if items else None

    return await eventually(drafted)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
async def served(messaging: Messaging) -> AsyncIterator[str]:
    """The messaging stack's app on a real loopback port, for a real browser."""
    async with serving(messaging.app) as url:
        yield url
