"""The pager's side effect: one direct message (a page or a bundle) to one person.

Every page in it is recorded as sent by its own key, so a retried delivery, or a page handed
over twice, reaches the person once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from domain.notify import Notifier
from workflows.outbox import Outbox
from workflows.pager.models import DeliverInput, DeliverResult

if TYPE_CHECKING:
    from adapters.records import RecordsStore


class PagerActivities:
    def __init__(self, records: RecordsStore, notifier: Notifier) -> None:
        self._outbox = Outbox(records, notifier)

    @activity.defn(name="deliver_pages")
    async def deliver(self, input: DeliverInput) -> DeliverResult:
        delivery = input.delivery
        sent = await self._outbox.send_pages_once(input.recipient, delivery.pages, delivery.key)
        return DeliverResult(failure=sent.failure if sent is not None else None)
