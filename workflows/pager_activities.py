"""The pager's side effect: one direct message (a page or a bundle) to one person.

Every page in it is recorded as sent by its own key, so a retried delivery, or a page handed
over twice, reaches the person once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import activity

from domain.notify import FAILED, Notifier, PermanentFailure
from workflows.models import DeliverInput, DeliverResult

if TYPE_CHECKING:
    from adapters.records import RecordsStore


class PagerActivities:
    def __init__(self, records: RecordsStore, notifier: Notifier) -> None:
        self._records = records
        self._notifier = notifier

    @activity.defn(name="deliver_pages")
    async def deliver(self, input: DeliverInput) -> DeliverResult:
        recipient, delivery = input.recipient, input.delivery
        pages = [p for p in delivery.pages if not await self._records.notification_sent(p.key)]
        if not pages:
            return DeliverResult()
        outcome: str | None = None
        external_id: str | None = None
        try:
            if len(pages) == 1:
                external_id = await self._notifier.send(pages[0])
            else:
                external_id = await self._notifier.send_bundle(recipient, pages, delivery.key)
        except PermanentFailure as exc:
            outcome = exc.reason
        for page in pages:
            await self._records.record_notification(
                page.key,
                incident_id=page.incident.id,
                kind=page.kind.value if outcome is None else f"{FAILED}:{outcome}",
                recipient=recipient.person.name,
                external_id=external_id,
            )
        return DeliverResult(failure=outcome)
