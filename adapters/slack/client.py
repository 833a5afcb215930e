"""The Slack Web API as tocsin uses it: the real ``slack_sdk`` async client with retry
handlers, a pause between messages to one channel, and request metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.config import SlackConfig

log = logging.getLogger(__name__)

# One registry for the process: the worker serves it on its metrics port, the API on /metrics.
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "tocsin_slack_requests",
    "Slack Web API calls, by method and outcome (ok, an error code, http_<status>).",
    ["method", "outcome"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "tocsin_slack_rate_limited",
    "Slack answers of 429 (rate limited); each was retried after its Retry-After.",
    registry=REGISTRY,
)

# Writes that Slack paces per channel (about one message per second).
# (channel, interval) → seconds to wait for this channel's next turn, the turn reserved.
Pacer = Callable[[str, float], Awaitable[float]]
_PACED = {"chat.postMessage", "chat.update", "chat.postEphemeral"}
# Seconds a call may take, connecting included.
_TIMEOUT = 10

# How many channels' next turns this process keeps before it forgets those already due.
_PACED_CHANNELS = 1000


class _CountingRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        RATE_LIMITED.inc()
        await super().prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )


def retry_handlers() -> list[AsyncRetryHandler]:
    """Only a 429 is retried inside a call: Slack did nothing and says when to come back.

    A 5xx or a dropped connection may come after Slack has posted the message, so retrying
    the call could post it twice; those fail the activity instead, whose retry looks for the
    message first (see ``SlackNotifier.post_once``)."""
    return [_CountingRateLimitHandler(max_retry_count=5)]


class SlackApi:
    def __init__(
        self,
        token: str,
        base_url: str = "https://slack.com/api/",
        min_interval: float = 1.0,
        pacer: Pacer | None = None,
    ) -> None:
        if not base_url.endswith("/"):
            base_url += "/"
        self.client = AsyncWebClient(
            token=token, base_url=base_url, retry_handlers=retry_handlers(), timeout=_TIMEOUT
        )
        # Without a session of its own the SDK opens one, and a new connection, per call.
        self._session: aiohttp.ClientSession | None = None
        self._min_interval = min_interval
        # Shared by every worker process (the records database), else this process's own.
        self._pacer = pacer
        self._next_post: dict[str, float] = {}
        self._pace_lock = asyncio.Lock()

    @classmethod
    def from_config(cls, config: SlackConfig, pacer: Pacer | None = None) -> SlackApi:
        return cls(
            config.bot_token.get_secret_value(),
            config.api_url,
            config.min_interval_seconds,
            pacer,
        )

    async def call(self, method: str, **kwargs: Any) -> AsyncSlackResponse:
        """``method`` with ``kwargs`` through the SDK's typed wrapper; raises SlackApiError."""
        self._share_session()
        channel = kwargs.get("channel")
        if method in _PACED and isinstance(channel, str):
            await self._pace(channel)
        wrapper = getattr(self.client, method.replace(".", "_"))
        try:
            response: AsyncSlackResponse = await wrapper(**kwargs)
        except SlackApiError as exc:
            REQUESTS.labels(method, _outcome(exc.response)).inc()
            raise
        except Exception:
            REQUESTS.labels(method, "unreachable").inc()
            raise
        REQUESTS.labels(method, "ok").inc()
        return response

    def _share_session(self) -> None:
        """One session for every call, its connections kept open between them; made on first
        use, so on the event loop that makes the calls."""
        if self._session is None or self._session.closed:
            # The SDK's own timeout applies only to the sessions it opens itself.
            timeout = aiohttp.ClientTimeout(total=_TIMEOUT)
            # As many connections as calls at once, as before: aiohttp's default of 100
            # would queue a page's call behind the paperwork's in a storm.
            connector = aiohttp.TCPConnector(limit=0)
            self._session = aiohttp.ClientSession(timeout=timeout, connector=connector)
            self.client.session = self._session

    async def aclose(self) -> None:
        """Close the shared session, if one was opened; a later call opens another."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _pace(self, channel: str) -> None:
        if self._min_interval <= 0:
            return
        if self._pacer is not None:
            wait = await self._pacer(channel, self._min_interval)
            if wait > 0:
                await asyncio.sleep(wait)
            return
        loop = asyncio.get_running_loop()
        async with self._pace_lock:
            now = loop.time()
            at = max(now, self._next_post.get(channel, now))
            self._next_post[channel] = at + self._min_interval
            if len(self._next_post) > _PACED_CHANNELS:
                # A channel whose turn has come holds nothing back: forget it.
                self._next_post = {c: t for c, t in self._next_post.items() if t > now}
        if at > now:
            await asyncio.sleep(at - now)


def _outcome(response: Any) -> str:
    status = getattr(response, "status_code", 200)
    if status != 200:
        return f"http_{status}"
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error", "error"))
    return "error"


def error_code(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error", ""))
    return ""
