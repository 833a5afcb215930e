"""Side effects of the announcement workflows: the sign-up confirmation mail, maintenance
records and their announcements to every subscriber."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.clock import utcnow
from adapters.email import Mailer
from domain.actions import IncidentActions
from domain.statements import Maintenance
from workflows.announcements.models import (
    AnnounceInput,
    ConfirmSubscriptionInput,
    ReleaseAlertsInput,
)
from workflows.fanout import DeliveriesPending, Fanout, Letter

if TYPE_CHECKING:
    from adapters.records import RecordsStore

_WHEN = "%a %d %b %Y %H:%M UTC"

_SUBJECT = {
    "scheduled": "Scheduled maintenance: {title}",
    "started": "Maintenance in progress: {title}",
    "rescheduled": "Maintenance rescheduled: {title}",
    "completed": "Maintenance completed: {title}",
    "cancelled": "Maintenance cancelled: {title}",
}
_OPENING = {
    "scheduled": "We have scheduled maintenance from {starts} to {ends}.",
    "started": "The maintenance scheduled from {starts} to {ends} has begun.",
    "rescheduled": "The maintenance is now scheduled from {starts} to {ends}.",
    "completed": "The maintenance scheduled from {starts} to {ends} is completed.",
    "cancelled": "The maintenance scheduled from {starts} to {ends} is cancelled.",
}


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime(_WHEN)


class AnnouncementActivities:
    def __init__(
        self,
        records: RecordsStore,
        mailer: Mailer,
        fanout: Fanout,
        incidents: IncidentActions | None = None,
    ) -> None:
        self._records = records
        self._mailer = mailer
        self._fanout = fanout
        # The alert intake, for what a window held back; None where no catalog is loaded.
        self._incidents = incidents

    @activity.defn(name="send_confirmation")
    async def send_confirmation(self, input: ConfirmSubscriptionInput) -> None:
        """The double opt-in mail. Nothing is sent to an address already confirmed or gone
        (it unsubscribed, or an operator removed it) by the time this runs."""
        subscriber = await self._records.statements.subscriber(input.subscriber_id)
        if subscriber is None or subscriber.status != "pending" or subscriber.email is None:
            return
        base = self._fanout.public_url
        confirm = f"{base}/status/confirm?token={input.token}"
        body = (
            "Somebody, hopefully you, asked to be told by e-mail when our service has an\n"
            "incident or scheduled maintenance.\n\n"
            f"Confirm the subscription: {confirm}\n\n"
            "If it was not you, ignore this mail: nothing is sent until the link is followed.\n"
            f"Status page: {base}/status\n"
        )
        await self._mailer.send(
            subscriber.email,
            "Confirm your subscription to status updates",
            body,
            {"Auto-Submitted": "auto-generated"},
        )

    @activity.defn(name="record_maintenance")
    async def record_maintenance(self, maintenance: Maintenance) -> None:
        await self._records.statements.save_maintenance(maintenance)

    @activity.defn(name="announce_maintenance")
    async def announce_maintenance(self, input: AnnounceInput) -> None:
        m, kind = input.maintenance, input.kind
        # A window moves more than once; each move is news of its own.
        key = f"{m.id}/{kind}/{m.version}" if kind == "rescheduled" else f"{m.id}/{kind}"
        values = {"title": m.title, "starts": _when(m.starts_at), "ends": _when(m.ends_at)}
        opening = _OPENING[kind].format(**values)
        components = ", ".join(m.components) or "no customer-facing component"
        subject = _SUBJECT[kind].format(**values)

        def letter(unsubscribe: str) -> Letter:
            return Letter(
                subject=subject,
                body=(
                    f"{opening}\nAffected: {components}\n\n{m.body}\n\n"
                    f"Status page: {self._fanout.public_url}/status\n"
                    f"Unsubscribe: {unsubscribe}\n"
                ),
            )

        payload: dict[str, Any] = {
            "type": f"maintenance.{kind}",
            "timestamp": input.at.isoformat(),
            "data": {
                "maintenance": {
                    "id": m.id,
                    "name": m.title,
                    "body": m.body,
                    "components": m.components,
                    "scheduled_for": m.starts_at.isoformat(),
                    "scheduled_until": m.ends_at.isoformat(),
                    "status": m.status.value,
                }
            },
        }
        emails = await self._fanout.email(key, letter)
        hooks = await self._fanout.webhooks(key, payload)
        if emails or hooks:
            raise DeliveriesPending(f"maintenance {m.id}: some subscribers were not reached yet")

    @activity.defn(name="release_alerts")
    async def release_alerts(self, input: ReleaseAlertsInput) -> None:
        """A group held back by the window, through the intake as if it came now: it opens
        its incident and pages as usual if it still fires. Running it twice is harmless:
        the incident of a group takes an alert it already has as a duplicate."""
        if self._incidents is None:
            raise ApplicationError(
                "the worker has no service catalog to grade held alerts with",
                non_retryable=True,
            )
        await self._incidents.raise_alerts(input.payload, utcnow())
