"""Bare Temporal, the baseline every figure is set beside: a minimal workflow with one update
and one signal, run by its own worker process on the same dev server as tocsin.

    python -m bench.baseline --address 127.0.0.1:7233 --task-queue bench-bare
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

TASK_QUEUE = "bench-bare"


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


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareWorkflow],
        graceful_shutdown_timeout=timedelta(seconds=2),
    )
    async with worker:
        print("baseline worker ready", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue))


if __name__ == "__main__":
    main()
