"""Authentication before anything else, limits per token, and the audit of every change.

An ASGI middleware, so a request without a valid token is answered 401 before its body is
read or parsed: a malformed body from a stranger tells them nothing about the schema. The
webhook has its own token (the intake token) and is left to its route; the Slack endpoints
and the public status page are outside ``/api/v1``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.exc import SQLAlchemyError

from adapters.clock import utcnow
from adapters.records.tokens import PREFIX, AuditEntry
from api.config import API_PREFIX, ApiConfig
from domain.access import Principal, Role

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

BOOTSTRAP = "bootstrap"
# A revoked token stops working within this long on every API process.
CACHE_SECONDS = 5.0
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Authentication:
    def __init__(self, app: App, *, exempt: tuple[str, ...], exempt_prefix: str = "") -> None:
        self._app = app
        self._exempt = exempt
        # Beats of heartbeat monitors: checked against the intake token by their route.
        self._exempt_prefix = exempt_prefix
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if (
            not path.startswith(API_PREFIX)
            or path in self._exempt
            or _is_feed(path)
            or (self._exempt_prefix and path.startswith(self._exempt_prefix))
        ):
            await self._app(scope, receive, send)
            return
        app = scope["app"]
        config: ApiConfig = app.state.config
        token = _bearer(scope)
        if token is None:
            await _answer(send, 401, "missing bearer token", {"www-authenticate": "Bearer"})
            return
        try:
            principal = await self._principal(app, config, token)
        except (SQLAlchemyError, OSError):
            # OSError: a database that refuses connections fails below SQLAlchemy's errors.
            log.error("the records database did not answer a token lookup")
            await _answer(
                send, 503, "the records database is unavailable; try again shortly",
                {"retry-after": "5"},
            )  # fmt: skip
            return
        if principal is None:
            # The same answer for an unknown, a revoked and a mistyped token.
            await _answer(send, 401, "invalid bearer token", {"www-authenticate": "Bearer"})
            return
        wait = await self._over_limit(config, principal)
        if wait is not None:
            await _answer(
                send, 429, f"too many requests for the token {principal.token!r}; "
                f"try again in {wait}s", {"retry-after": str(wait)},
            )  # fmt: skip
            return
        scope.setdefault("state", {})["principal"] = principal
        method = scope.get("method", "GET")
        if method in _READS:
            await self._app(scope, receive, send)
            return
        answered: list[int] = []

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(int(message["status"]))
            await send(message)

        try:
            await self._app(scope, receive, recording)
        finally:
            await self._audit(app, principal, method, path, answered[0] if answered else 500)

    async def _principal(self, app: Any, config: ApiConfig, token: str) -> Principal | None:
        if not token.startswith(PREFIX):
            return await principal_of(app, config, token)
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        principal = await principal_of(app, config, token)
        if len(self._cache) > 10_000:
            self._cache.clear()  # a flood of random tokens must not grow memory without end
        self._cache[token] = (now + CACHE_SECONDS, principal)
        return principal

    async def _over_limit(self, config: ApiConfig, principal: Principal) -> int | None:
        item = parse(config.rate_limit_per_token)
        if await self._limiter.hit(item, "token", principal.token):
            return None
        stats = await self._limiter.get_window_stats(item, "token", principal.token)
        return max(1, int(stats.reset_time - time.time()))

    async def _audit(
        self, app: Any, principal: Principal, method: str, path: str, status: int
    ) -> None:
        entry = AuditEntry(utcnow(), principal.token, principal.person, method, path, status)
        try:
            async with asyncio.timeout(5):
                await app.state.runtime.store.tokens.audit(entry)
        except (TimeoutError, SQLAlchemyError, OSError):
            # The change itself is recorded where it belongs; only its audit line is lost.
            log.error("audit entry not written: %s %s by %s", method, path, principal.token)


async def principal_of(app: Any, config: ApiConfig, token: str) -> Principal | None:
    """Whom ``token`` stands for: the bootstrap admin, a live named token, else None. The
    console's sessions resolve their token through this too, so a revoked one stops there."""
    if secrets.compare_digest(token.encode(), config.api_token.get_secret_value().encode()):
        return Principal(token=BOOTSTRAP, role=Role.ADMIN, acts_for_others=True)
    if not token.startswith(PREFIX):
        return None
    record = await app.state.runtime.store.tokens.find(token)
    return None if record is None else record.principal()


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text: str = bytes(value).decode("latin-1")
            scheme, _, credentials = text.partition(" ")
            token = credentials.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _is_feed(path: str) -> bool:
    """A schedule's calendar feed: its key is in the URL, checked by the route (ADR 0021)."""
    head, _, tail = path.removeprefix(f"{API_PREFIX}/schedules/").partition("/")
    return path.startswith(f"{API_PREFIX}/schedules/") and bool(head) and tail == "calendar.ics"
