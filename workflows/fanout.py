"""Telling every subscriber one thing: an e-mail to each confirmed address, a signed call to
each webhook endpoint. Each (announcement, channel, target) is a delivery with its own record:
a retried activity skips what was delivered, tries again what failed for a reason worth
retrying, and gives up on what never will (a 410, a refused address, a bounced mailbox).

Statements and maintenance announcements both fan out through here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from adapters.email import Mailer
from adapters.webhooks import UnsafeUrl, WebhookSender
from domain.notify import PermanentFailure
from domain.statements import Channel, Delivery, DeliveryStatus

if TYPE_CHECKING:
    from adapters.records import RecordsStore

log = logging.getLogger(__name__)

# A delivery that keeps failing for a reason worth retrying is given up after this many
# tries (with the activity's backoff, about an hour); the failure stays in ``deliveries``.
MAX_ATTEMPTS = 12


class DeliveriesPending(Exception):
    """Some deliveries failed for now; the activity retries them with backoff."""


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


class Fanout:
    def __init__(
        self,
        records: RecordsStore,
        mailer: Mailer,
        webhooks: WebhookSender,
        public_url: str,
    ) -> None:
        self._records = records
        self._mailer = mailer
        self._webhooks = webhooks
        self.public_url = public_url.rstrip("/")

    async def attempt(self, key: str, channel: Channel, target: str) -> Delivery | None:
        """The delivery to (re)try now, or None when it is settled already."""
        known = await self._records.statements.delivery(key, channel.value, target)
        if known is not None and known.status is not DeliveryStatus.PENDING:
            return None
        if known is not None and known.attempts >= MAX_ATTEMPTS:
            return None
        return known or Delivery(message_id=key, channel=channel, target=target)

    async def settle(
        self, delivery: Delivery, outcome: DeliveryStatus, error: str | None = None
    ) -> None:
        attempts = delivery.attempts + 1
        status = outcome
        if outcome is DeliveryStatus.PENDING and attempts >= MAX_ATTEMPTS:
            status = DeliveryStatus.FAILED
        await self._records.statements.record_delivery(
            delivery.model_copy(
                update={
                    "status": status,
                    "attempts": attempts,
                    "at": datetime.now(UTC),
                    "error": error,
                }
            )
        )

    async def email(self, key: str, letter: Callable[[str], Letter]) -> bool:
        """Mail every confirmed subscriber the letter made for their unsubscribe link; True
        when some are still to be tried again."""
        pending = False
        for subscriber in await self._records.statements.list_subscribers(
            status="active", kind="email"
        ):
            assert subscriber.email is not None
            delivery = await self.attempt(key, Channel.EMAIL, subscriber.email)
            if delivery is None:
                continue
            token = await self._records.statements.unsubscribe_token(subscriber.id)
            unsubscribe = f"{self.public_url}/status/unsubscribe?token={token}"
            made = letter(unsubscribe)
            headers = {
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
            try:
                await self._mailer.send(subscriber.email, made.subject, made.body, headers)
                await self.settle(delivery, DeliveryStatus.DELIVERED)
            except PermanentFailure as exc:
                await self.settle(delivery, DeliveryStatus.FAILED, exc.reason)
            except Exception as exc:
                log.warning("e-mail to a subscriber failed for now: %s", type(exc).__name__)
                await self.settle(delivery, DeliveryStatus.PENDING, type(exc).__name__)
                pending = True
        return pending

    async def webhooks(self, key: str, payload: dict[str, Any]) -> bool:
        """Call every active endpoint with ``payload``, signed; True when some are still to
        be tried again. An endpoint answering 410 is disabled for good."""
        pending = False
        for subscriber in await self._records.statements.list_subscribers(
            status="active", kind="webhook"
        ):
            assert subscriber.webhook_url is not None
            delivery = await self.attempt(key, Channel.WEBHOOK, subscriber.webhook_url)
            if delivery is None:
                continue
            secret = await self._records.statements.webhook_secret(subscriber.id)
            if secret is None:
                await self.settle(delivery, DeliveryStatus.FAILED, "no signing secret")
                continue
            try:
                # The same webhook-id on every retry, so the receiver can drop duplicates;
                # signed at each attempt, as receivers refuse an old timestamp.
                sent = await self._webhooks.send(
                    subscriber.webhook_url,
                    secret,
                    f"{key}.{subscriber.id}",
                    payload,
                    datetime.now(UTC),
                )
            except UnsafeUrl as exc:
                await self.settle(delivery, DeliveryStatus.FAILED, str(exc))
                continue
            except httpx.HTTPError as exc:
                await self.settle(delivery, DeliveryStatus.PENDING, type(exc).__name__)
                pending = True
                continue
            if sent.delivered:
                await self.settle(delivery, DeliveryStatus.DELIVERED)
            elif sent.gone:
                await self._records.statements.disable_subscriber(
                    subscriber.id, "the endpoint answered 410 Gone"
                )
                await self.settle(delivery, DeliveryStatus.FAILED, "410 Gone: endpoint disabled")
            else:
                await self.settle(delivery, DeliveryStatus.PENDING, f"HTTP {sent.status_code}")
                pending = True
        return pending
