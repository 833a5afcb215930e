"""Webhooks to subscribers, signed as the Standard Webhooks specification says (the
``standardwebhooks`` package: ``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64>``), and never to the machine's own network unless allowed.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret


def new_secret() -> str:
    """A signing secret, shown once to whoever registers the endpoint."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class UnsafeUrl(ValueError):
    """A URL tocsin will not call: not http(s), unresolvable, or on a private network."""


async def check_url(url: str, *, allow_private: bool) -> None:
    """Raise ``UnsafeUrl`` unless ``url`` is http(s) and, unless ``allow_private``, every
    address its host resolves to is public. Checked when the endpoint is registered and again
    before each delivery, since a name can be pointed elsewhere in between."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise UnsafeUrl("must not carry credentials; the signature authenticates tocsin")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        raise UnsafeUrl(f"host {parts.hostname} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise UnsafeUrl(
                f"host {parts.hostname} is on a private, loopback or reserved network "
                f"({address}); set TOCSIN_WEBHOOK_ALLOW_PRIVATE=true to allow it"
            )


@dataclass(frozen=True)
class Sent:
    status_code: int

    @property
    def delivered(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """410: the receiver asks never to be called again."""
        return self.status_code == 410


class WebhookSender:
    def __init__(self, *, allow_private: bool = False, timeout: float = 10.0) -> None:
        self._allow_private = allow_private
        self._timeout = timeout
        # Opened at the first send: loading the CA bundle costs tens of milliseconds, and most
        # workers (and every test's) never call a webhook.
        self._client: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # Redirects are not followed: a redirect could lead to a private address.
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def send(
        self, url: str, secret: str, message_id: str, payload: dict[str, Any], at: datetime
    ) -> Sent:
        """POST ``payload``, signed; raises ``UnsafeUrl`` or ``httpx.HTTPError`` (retry)."""
        await check_url(url, allow_private=self._allow_private)
        body = json.dumps(payload, separators=(",", ":"), default=str)
        signature = Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body)
        response = await self._http.post(
            url,
            content=body.encode(),
            headers={
                "content-type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": signature,
                "user-agent": "tocsin",
            },
        )
        return Sent(response.status_code)
