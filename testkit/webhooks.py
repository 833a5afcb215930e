"""A webhook receiver on loopback that verifies each call's Standard Webhooks signature with
the ``standardwebhooks`` package, as a subscriber's endpoint would, and answers as told."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from testkit.processes import free_port


@dataclass
class Endpoint:
    """One path of the receiver: the statuses to answer in turn (the last one repeats)."""

    answers: list[int] = field(default_factory=lambda: [200])
    secret: str | None = None
    calls: int = 0
    verified: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    bad_signatures: int = 0


@dataclass
class Receiver:
    base_url: str
    endpoints: dict[str, Endpoint]

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"


@asynccontextmanager
async def webhook_receiver(**endpoints: Endpoint) -> AsyncIterator[Receiver]:
    async def receive(request: web.Request) -> web.Response:
        endpoint = endpoints.get(request.match_info["path"])
        if endpoint is None:
            return web.Response(status=404)
        endpoint.calls += 1
        body = await request.read()
        if endpoint.secret is None:
            return web.Response(status=500, text="receiver has no secret")
        try:
            payload = Webhook(endpoint.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            endpoint.bad_signatures += 1
            return web.Response(status=401)
        status = endpoint.answers[min(endpoint.calls - 1, len(endpoint.answers) - 1)]
        if 200 <= status < 300:
            endpoint.verified.append(payload if isinstance(payload, dict) else json.loads(body))
            endpoint.ids.append(request.headers["webhook-id"])
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/{path}", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield Receiver(f"http://127.0.0.1:{port}", endpoints)
    finally:
        await runner.cleanup()
