"""Bare Temporal, the baseline every figure is set beside: a minimal workflow with one update
and one signal, a minimal workflow that pages through one activity (a Slack post), and one that
then stays open as an unacknowledged incident does, run by its own worker process on the same
dev server as tocsin.

    python -m bench.baseline --address 127.0.0.1:7233 --task-queue bench-bare \
        --slack-url http://127.0.0.1:PORT/api/ [--cached-workflows 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

TASK_QUEUE = "bench-bare"
PAGES_CHANNEL = "bare-pages"
BOT_TOKEN = "xoxb-test-token"
# How long a BareOpenWorkflow waits: longer than any memory sample is taken after it opens.
OPEN_FOR = timedelta(hours=1)
SDK_CACHED_WORKFLOWS = 1000


@workflow.defn(sandboxed=False)
class BareWorkflow:
    """As little as a workflow can be while accepting what tocsin's accepts."""

    def __init__(self) -> None:
        self._seen = 0
        self._done = False

    @workflow.run
    async def run(self, name: str) -> int:
        await workflow.wait_condition(lambda: self._done)
        return self._seen

    @workflow.update
    def touch(self, value: str) -> int:
        self._seen += 1
        return self._seen

    @workflow.signal
    def poke(self, value: str) -> None:
        self._seen += 1

    @workflow.signal
    def finish(self) -> None:
        self._done = True


@workflow.defn(sandboxed=False)
class BarePagingWorkflow:
    """What the least a page can cost on Temporal: started by a signal (signal-with-start, as
    tocsin's intake starts an incident), one activity that posts the page to Slack."""

    def __init__(self) -> None:
        self._alert: str | None = None

    @workflow.run
    async def run(self, name: str) -> None:
        await workflow.wait_condition(lambda: self._alert is not None)
        await workflow.execute_activity(
            "bare_page", name, start_to_close_timeout=timedelta(seconds=30)
        )

    @workflow.signal
    def alert(self, value: str) -> None:
        self._alert = value


@workflow.defn(sandboxed=False)
class BareOpenWorkflow:
    """An open incident at its least, for the memory baseline: started by a signal, it pages
    through one activity, then waits for an acknowledgement with a timer for its window."""

    def __init__(self) -> None:
        self._alert: str | None = None
        self._acknowledged = False

    @workflow.run
    async def run(self, name: str) -> None:
        await workflow.wait_condition(lambda: self._alert is not None)
        await workflow.execute_activity(
            "bare_page", name, start_to_close_timeout=timedelta(seconds=30)
        )
        with contextlib.suppress(asyncio.TimeoutError):
            await workflow.wait_condition(lambda: self._acknowledged, timeout=OPEN_FOR)

    @workflow.signal
    def alert(self, value: str) -> None:
        self._alert = value

    @workflow.signal
    def acknowledge(self) -> None:
        self._acknowledged = True


class Pager:
    def __init__(self, slack_url: str | None) -> None:
        self._slack = AsyncWebClient(token=BOT_TOKEN, base_url=slack_url) if slack_url else None

    @activity.defn(name="bare_page")
    async def page(self, name: str) -> None:
        if self._slack is None:
            raise RuntimeError("the baseline worker was started without --slack-url")
        await self._slack.chat_postMessage(
            channel=f"#{PAGES_CHANNEL}",
            text=f"page {name}",
            metadata={"event_type": "bare_page", "event_payload": {"key": f"bare/{name}"}},
        )


async def serve(
    address: str, task_queue: str, slack_url: str | None = None, cached: int | None = None
) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareWorkflow, BarePagingWorkflow, BareOpenWorkflow],
        activities=[Pager(slack_url).page],
        graceful_shutdown_timeout=timedelta(seconds=2),
        # The memory baseline gives tocsin's (ADR 0030); otherwise the SDK's default.
        max_cached_workflows=SDK_CACHED_WORKFLOWS if cached is None else cached,
    )
    async with worker:
        print("baseline worker ready", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    parser.add_argument("--slack-url", default=None, help="the fake Slack Web API")
    parser.add_argument("--cached-workflows", type=int, default=None, help="max_cached_workflows")
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue, args.slack_url, args.cached_workflows))


if __name__ == "__main__":
    main()
