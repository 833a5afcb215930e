"""The pager's side effects: one direct message (a page or a bundle) to one person.

Every page in it is recorded as sent by its own key, so a retried delivery, or a page handed
over twice, reaches the person once. Under notification rules (ADR 0024) each step of a
page has a key of its own, goes by its step's channel, is skipped once the incident is
acknowledged, and a failure is told on the timeline and counted as the page falls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import Counter
from pydantic import SecretStr
from temporalio import activity

from adapters.acklinks import AckLinks
from adapters.clock import utcnow
from adapters.email import Mailer
from adapters.pages import EmailPages, PageText, Pusher, PushPages
from adapters.slack.client import REGISTRY
from domain.models import Channel, EventKind, Recipient, Status
from domain.notify import HANDLING, Notification, Notifier
from domain.rules.notify_rules import Step
from playbooks.roster import RosterSource
from workflows.outbox import Outbox, Sent
from workflows.pager.models import (
    DeliverInput,
    DeliverResult,
    DeliverStepInput,
    DeliverStepResult,
)

if TYPE_CHECKING:
    from adapters.records import RecordsStore

# Timeline lines a pager writes (a step that failed, one sent after the first), numbered
# apart from the incident's own events.
PAGING_SEQ = 400_000

PAGE_FAILURES = Counter(
    "tocsin_page_channel_failures",
    "Page steps a channel did not take (Slack error, SMTP refusal, Apprise failure)",
    ["channel"],
    registry=REGISTRY,
)
PAGE_FALLBACKS = Counter(
    "tocsin_page_fallbacks",
    "Pages moved to the next step of the person's rules at once because a channel failed",
    ["channel", "to"],
    registry=REGISTRY,
)
for _channel in Channel:
    PAGE_FAILURES.labels(_channel.value)


@dataclass(frozen=True)
class PageChannels:
    """What the e-mail and push steps send with."""

    mailer: Mailer
    links: AckLinks | None = None
    pusher: Pusher = field(default_factory=Pusher)


class PagerActivities:
    def __init__(
        self,
        records: RecordsStore,
        notifier: Notifier,
        roster: RosterSource | None = None,
        channels: PageChannels | None = None,
    ) -> None:
        self._records = records
        self._notifier = notifier
        self._outbox = Outbox(records, notifier)
        self._roster = roster
        self._channels = channels

    @activity.defn(name="deliver_pages")
    async def deliver(self, input: DeliverInput) -> DeliverResult:
        delivery = input.delivery
        sent = await self._outbox.send_pages_once(input.recipient, delivery.pages, delivery.key)
        return DeliverResult(failure=sent.failure if sent is not None else None)

    @activity.defn(name="deliver_page_step")
    async def deliver_step(self, input: DeliverStepInput) -> DeliverStepResult:
        delivery = input.delivery
        stopped = [s.page.key for s in delivery.steps if await self._over(s)]
        live = [s for s in delivery.steps if s.page.key not in stopped]
        if not live:
            return DeliverStepResult(stopped=stopped)
        failure = await self._send(input.recipient, delivery.channel, live, delivery.key)
        if failure is not None:
            await self._fell_back(input.recipient, delivery.channel, live, failure)
        else:
            await self._note_sent(input.recipient, delivery.channel, live)
        return DeliverStepResult(failure=failure, stopped=stopped)

    async def _over(self, step: Step) -> bool:
        """A later step of a page goes only while its incident waits for an acknowledgement."""
        if step.index == 0 or not HANDLING[step.page.kind].asks_ack:
            return False
        incident = await self._records.get_incident(step.page.incident.id)
        return incident is not None and incident.status is not Status.TRIGGERED

    async def _send(
        self, recipient: Recipient, channel: Channel, steps: list[Step], key: str
    ) -> str | None:
        """Why the channel did not take the pages, or None once it did. A channel error that
        retrying might cure is raised (Temporal retries) only when no step is left to fall
        back to; otherwise the next step goes now rather than after the retries."""
        pages = [s.page.model_copy(update={"key": s.key}) for s in steps]
        try:
            if channel is Channel.SLACK:
                return _failure(await self._outbox.send_pages_once(recipient, pages, key))
            if channel is Channel.EMAIL:
                notifier: Notifier = EmailPages(self._page_channels().mailer, self._text())
                return _failure(await self._with(notifier, recipient, pages, key))
            return await self._push(recipient, steps, pages, key)
        except Exception:
            if all(s.next is None for s in steps):
                raise
            activity.logger.warning("%s page to %s failed; falling back", channel, _name(recipient))
            return f"{channel.value}_unavailable"

    async def _push(
        self, recipient: Recipient, steps: list[Step], pages: list[Notification], key: str
    ) -> str | None:
        url = self._url(recipient, steps[0].plan.number)
        if url is None:
            return "apprise_url_missing"
        notifier = PushPages(self._page_channels().pusher, url, self._text())
        return _failure(await self._with(notifier, recipient, pages, key))

    async def _with(
        self, notifier: Notifier, recipient: Recipient, pages: list[Notification], key: str
    ) -> Sent | None:
        return await Outbox(self._records, notifier).send_pages_once(recipient, pages, key)

    def _url(self, recipient: Recipient, number: int) -> SecretStr | None:
        """The step's URL from the roster as it is now: no history or record holds it."""
        if self._roster is None:
            return None
        person = self._roster.current().person(recipient.person.name)
        rules = person.rules() if person is not None else ()
        if number > len(rules) or rules[number - 1].channel is not Channel.APPRISE:
            return None
        return rules[number - 1].url

    def _page_channels(self) -> PageChannels:
        if self._channels is None:
            raise RuntimeError("this worker sends pages by Slack only")
        return self._channels

    def _text(self) -> PageText:
        return PageText(self._page_channels().links)

    async def _fell_back(
        self, recipient: Recipient, channel: Channel, steps: Sequence[Step], reason: str
    ) -> None:
        PAGE_FAILURES.labels(channel.value).inc()
        for step in steps:
            following = step.next
            if following is None:
                continue  # the incident records a page that reached nobody (its signal)
            PAGE_FALLBACKS.labels(channel.value, following.channel.value).inc()
            await self._records.append_event_once(
                f"{step.key}/{channel.value}/failed",
                incident_id=step.page.incident.id,
                base=PAGING_SEQ,
                kind=EventKind.NOTIFICATION_FAILED,
                text=f"{channel.value} page to {_name(recipient)} failed ({reason}); "
                f"falling back to {following.channel.value} at once",
                at=utcnow(),
                actor="tocsin",
                data={
                    "person": _name(recipient),
                    "recipient": _name(recipient),
                    "channel": channel.value,
                    "reason": reason,
                    "step": step.plan.number,
                    "fallback": following.channel.value,
                },
            )

    async def _note_sent(self, recipient: Recipient, channel: Channel, steps: list[Step]) -> None:
        for step in steps:
            if step.index == 0:
                continue  # the first step is the page the timeline already shows
            await self._records.append_event_once(
                f"{step.key}/{channel.value}/sent",
                incident_id=step.page.incident.id,
                base=PAGING_SEQ,
                kind=EventKind.PAGED,
                text=f"{_name(recipient)} paged by {channel.value} "
                f"(step {step.plan.number} of their rules)",
                at=utcnow(),
                actor="tocsin",
                data={"person": _name(recipient), "channel": channel.value,
                      "step": step.plan.number},
            )  # fmt: skip


def _failure(sent: Sent | None) -> str | None:
    return sent.failure if sent is not None else None


def _name(recipient: Recipient) -> str:
    return recipient.person.name
