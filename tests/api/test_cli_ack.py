"""The commands a page prints, run as printed against the real API on loopback: the console
notifier of ``tocsin up`` writes the pages, the CLI runs the line a person would copy."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import shlex
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

from adapters.console import ConsoleNotifier
from domain.models import Recipient, Status
from domain.notify import Notification
from testkit.waiting import eventually
from tests.api.conftest import AUTH, TOKEN, TrackedService, api_config, build_app, serving
from tests.conftest import RecordingNotifier, Stack, open_stack
from tocsin.cli import app
from workflows.ids import workflow_id

WINDOW = timedelta(seconds=30)  # the bundled roster's bundle_window
ADA = "Ada Okafor"  # technical support primary in the bundled roster: leads service outages


class ConsoleRecording(RecordingNotifier):
    """What the tests look at, and the console's lines as ``tocsin up`` prints them."""

    def __init__(self) -> None:
        super().__init__()
        self.stream = io.StringIO()
        self.console = ConsoleNotifier(stream=self.stream)

    async def send(self, notification: Notification) -> str | None:
        await self.console.send(notification)
        return await super().send(notification)

    async def send_bundle(
        self, recipient: Recipient, pages: list[Notification], key: str
    ) -> str | None:
        await self.console.send_bundle(recipient, pages, key)
        return await super().send_bundle(recipient, pages, key)

    def commands(self, pattern: str) -> list[str]:
        """The commands the console printed, as ``pattern``'s group finds them in a line."""
        lines = self.stream.getvalue().splitlines()
        return [m.group(1) for line in lines if (m := re.search(pattern, line.strip()))]


@pytest.fixture
async def console_stack(ts_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async for stack in open_stack(ts_env, tmp_path, notifier=ConsoleRecording()):
        yield stack


@pytest.fixture
async def served(console_stack: Stack, tmp_path: Path) -> AsyncIterator[str]:
    declared: list[str] = []
    config = api_config(tmp_path, task_queue=console_stack.task_queue)
    application = build_app(config, console_stack.store, TrackedService(console_stack, declared))
    try:
        async with serving(application) as url:
            yield url
    finally:
        for incident_id in declared:
            handle = console_stack.client.get_workflow_handle(workflow_id(incident_id))
            with contextlib.suppress(RPCError):  # already completed
                await handle.terminate()


async def run_printed(served: str, command: str) -> Result:
    """``command`` exactly as printed, with the shared options a terminal would give."""
    program, *args = shlex.split(command)
    assert program == "tocsin"
    return await asyncio.to_thread(
        CliRunner().invoke, app, ["--api-url", served, "--token", TOKEN, *args]
    )


async def test_the_ack_commands_pages_print_acknowledge_as_printed(
    console_stack: Stack, served: str
) -> None:
    notifier = console_stack.notifier
    assert isinstance(notifier, ConsoleRecording)
    async with httpx.AsyncClient(base_url=served, headers=AUTH) as http:
        ids = [await _declare(http, f"Service {n} down") for n in range(3)]
        # The first page goes at once; the two after it wait for Ada's bundle window.
        await eventually(lambda: len(notifier.messages_to(ADA)) == 1)
        await console_stack.env.sleep(WINDOW + timedelta(seconds=1))
        await eventually(lambda: len(notifier.messages_to(ADA)) == 2)
        # Which page went alone is whichever reached Ada first, not always the first declared.
        ((alone,), _) = notifier.messages_to(ADA)
        bundled_ids = [i for i in ids if i != alone.incident.id]
        (ack_all, *_) = notifier.commands(r"acknowledge all: (tocsin ack .+)$")
        ack_one = notifier.commands(rf"acknowledge: (tocsin ack {alone.incident.id})$")[0]
        listed = shlex.split(ack_all)[2:]
        assert sorted(listed) == sorted(bundled_ids)

        bundled = await run_printed(served, ack_all)
        single = await run_printed(served, ack_one)

        assert bundled.exit_code == 0, bundled.output
        assert [line.split()[:2] for line in bundled.stdout.splitlines()] == [
            [incident_id, "acknowledged"] for incident_id in listed
        ]
        assert single.exit_code == 0, single.output
        for incident_id in ids:
            answer = (await http.get(f"/api/v1/incidents/{incident_id}")).json()
            assert answer["status"] == Status.ACKNOWLEDGED.value

        again = await run_printed(served, ack_all)  # each refused now, on its own line
        assert again.exit_code == 1
        assert [line.split()[:2] for line in again.stderr.splitlines()] == [
            [incident_id, "refused:"] for incident_id in listed
        ]


async def _declare(http: httpx.AsyncClient, title: str) -> str:
    body = {"title": title, "level": "A", "type": "service_outage", "by": "monitor"}
    response = await http.post("/api/v1/incidents", json=body)
    assert response.status_code == 201, response.text
    incident_id: str = response.json()["id"]
    return incident_id
