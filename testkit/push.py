"""A loopback receiver for Apprise's ``json://`` scheme: what a push service would get.

Apprise posts ``{"version", "title", "message", "type"}`` as JSON; the receiver keeps each
one and answers 200, or the status it is told to fail with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from testkit.processes import free_port


@dataclass
class PushReceiver:
    base: str
    pushes: list[dict[str, Any]] = field(default_factory=list)
    # While set, every push is answered with this status (a service that is down).
    failing: int | None = None
    refused: int = 0

    def url(self, path: str = "push") -> str:
        """The Apprise URL of this receiver (``json://host:port/path``)."""
        return f"json://{self.base}/{path}"


@asynccontextmanager
async def push_receiver() -> AsyncIterator[PushReceiver]:
    port = free_port()
    receiver = PushReceiver(f"127.0.0.1:{port}")

    async def receive(request: web.Request) -> web.Response:
        if receiver.failing is not None:
            receiver.refused += 1
            return web.Response(status=receiver.failing)
        receiver.pushes.append(await request.json())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/{path}", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield receiver
    finally:
        await runner.cleanup()
