"""A tocsin stack whose notifier is the real Slack adapter talking to the fake Slack, and the
API wired to it with a signing secret, plus helpers that sign requests as Slack does."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from adapters.records import RecordsStore
from adapters.slack.client import SlackApi
from adapters.slack.config import SlackConfig
from adapters.slack.notifier import SlackNotifier
from api.app import create_app
from api.deps import Runtime
from domain.models import Function, Level
from domain.playbook import SlackChannels
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_playbooks
from playbooks.roster import RosterSource
from testkit.fake_slack import FakeSlack, serve_fake_slack
from testkit.records import migrated_sqlite
from tests.api.conftest import api_config
from tests.conftest import outbound
from workflows.incident.client import IncidentService
from workflows.worker import Workers, build_worker

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
API_TOKEN = "api-token-for-slack-tests"
BOT_TOKEN = "xoxb-test-token"
ADA = "U0TECH001"  # technical support primary in the bundled roster
DARA = "U0CUST001"  # customer service primary
BEN = "U0TECH002"  # technical support secondary


def _no_worker() -> Workers:
    raise RuntimeError("this stack was built without a worker")


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A fresh fake Slack per test, served on a free loopback port.

    Fails the test at teardown if the fake itself broke while answering (a bug in the fake,
    answered to the client as HTTP 500 ``fake_slack_internal_error``)."""
    async with serve_fake_slack() as fake:
        yield fake
    if fake.internal_errors:
        pytest.fail("the fake Slack failed:\n" + "\n".join(fake.internal_errors))


class FlakyRefs:
    """The records store, able to fail the next write of a Slack message's ts: the worker
    dying between Slack's answer and the activity recording it."""

    def __init__(self, store: RecordsStore) -> None:
        self._store = store
        self.fail_next_ts = 0

    async def get_ref(self, key: str, *, incident_id: str | None = None) -> str | None:
        return await self._store.get_ref(key, incident_id=incident_id)

    async def set_ref(self, key: str, value: str, *, incident_id: str) -> None:
        if self.fail_next_ts and key.startswith("slack:msg:") and value != "pending":
            self.fail_next_ts -= 1
            raise ConnectionError("worker lost before recording the message")
        await self._store.set_ref(key, value, incident_id=incident_id)

    async def set_ref_if_absent(self, key: str, value: str, *, incident_id: str) -> str | None:
        return await self._store.set_ref_if_absent(key, value, incident_id=incident_id)

    async def claim(self, name: str, holder: str, seconds: float) -> bool:
        return await self._store.claim(name, holder, seconds)

    async def release(self, name: str, holder: str) -> None:
        await self._store.release(name, holder)

    async def flush(self) -> None:
        await self._store.flush()


@dataclass
class SlackStack:
    env: WorkflowEnvironment
    fake: FakeSlack
    store: RecordsStore
    refs: FlakyRefs
    service: IncidentService
    app: FastAPI
    task_queue: str
    announce: str
    brand_pr: str
    new_worker: Callable[[], Workers] = field(default=lambda: _no_worker())
    worker: Workers | None = None

    async def start_worker(self) -> None:
        self.worker = self.new_worker()
        await self.worker.__aenter__()

    async def stop_worker(self) -> None:
        """Like a worker process dying: nothing handles the task queue until the next one."""
        if self.worker is not None:
            worker, self.worker = self.worker, None
            await worker.__aexit__(None, None, None)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://tocsin.test"
        )


def signed(body: bytes, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    """Headers Slack sends: v0 HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the secret."""
    timestamp = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def interaction(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def button(
    action_id: str,
    incident_id: str,
    user: str,
    channel: str | None = None,
    response_url: str | None = None,
) -> bytes:
    """A button press; Slack sends a response_url with it, for private answers."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "name": "someone"},
        "trigger_id": f"trigger-{uuid.uuid4().hex[:8]}",
        "actions": [{"action_id": action_id, "value": incident_id, "type": "button"}],
    }
    if channel:
        payload["channel"] = {"id": channel}
    if response_url:
        payload["response_url"] = response_url
    return interaction(payload)


# Set per test by the ``slack`` fixtures, so that commands carry the fake's response_urls.
HOOKS = {"url": "https://hooks.slack.test/"}


def command(
    text: str,
    channel: str,
    user: str = ADA,
    user_name: str = "ada",
    response_url: str = "commands/1",
) -> bytes:
    return urlencode(
        {
            "command": "/incident",
            "text": text,
            "user_id": user,
            "user_name": user_name,
            "channel_id": channel,
            "trigger_id": f"trigger-{uuid.uuid4().hex[:8]}",
            "response_url": HOOKS["url"] + response_url,
        }
    ).encode()


async def post_signed(stack: SlackStack, path: str, body: bytes) -> httpx.Response:
    async with stack.http() as http:
        return await http.post(path, content=body, headers=signed(body))


async def open_slack_stack(
    env: WorkflowEnvironment, fake: FakeSlack, tmp_path: Path, roster_dir: Path = DEFAULT_DIR
) -> AsyncIterator[SlackStack]:
    url = await migrated_sqlite(tmp_path / "records.db")
    store = RecordsStore.from_url(url)
    refs = FlakyRefs(store)
    announce = fake.add_channel("incidents")
    brand_pr = fake.add_channel("brand-pr", bot_is_member=False)
    channels = SlackChannels(
        announce={level: "#incidents" for level in Level},
        functions={Function.BRAND_PR: brand_pr},
    )
    task_queue = f"tocsin-slack-{uuid.uuid4()}"
    playbooks = load_playbooks(DEFAULT_DIR)
    notifier = SlackNotifier(SlackApi(BOT_TOKEN, fake.base_url, min_interval=0.0), refs, channels)
    api_slack = SlackApi(BOT_TOKEN, fake.base_url, min_interval=0.0)
    roster = RosterSource(roster_dir)
    config = api_config(
        tmp_path,
        api_token=SecretStr(API_TOKEN),
        task_queue=task_queue,
        slack=SlackConfig(SecretStr(BOT_TOKEN), fake.base_url, min_interval_seconds=0.0),
        slack_signing_secret=SecretStr(SIGNING_SECRET),
        slack_hooks_url=fake.hooks_url,
    )
    service = IncidentService(env.client, task_queue, playbooks)
    app = create_app(config)
    app.state.runtime = Runtime(
        store=store,
        service=service,
        slack=api_slack,
        roster=RosterSource(roster_dir),
    )
    HOOKS["url"] = fake.hooks_url
    stack = SlackStack(env, fake, store, refs, service, app, task_queue, announce, brand_pr)
    stack.new_worker = lambda: build_worker(
        env.client, task_queue, store, notifier, roster, outbound(tmp_path)
    )
    try:
        await stack.start_worker()
        yield stack
    finally:
        await stack.stop_worker()
        await notifier.aclose()
        await api_slack.aclose()
        await store.close()


@pytest.fixture
async def slack(
    ts_env: WorkflowEnvironment, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[SlackStack]:
    async for stack in open_slack_stack(ts_env, fake_slack, tmp_path):
        yield stack


@pytest.fixture
async def dev_slack(
    dev_env: WorkflowEnvironment, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[SlackStack]:
    async for stack in open_slack_stack(dev_env, fake_slack, tmp_path):
        yield stack
