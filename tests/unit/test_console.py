"""The console notifier of ``tocsin up``: each line stamped when it is written."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from adapters.console import ConsoleNotifier
from domain.models import (
    EventKind,
    Function,
    Incident,
    IncidentType,
    Level,
    NotificationKind,
    Person,
    Recipient,
    Role,
    Tier,
    TimelineEvent,
)
from domain.notify import Notification

PAGED_AT = datetime(2026, 12, 4, 14, 0, 5, tzinfo=UTC)
ADA = Recipient(
    person=Person(name="Ada Okafor"),
    function=Function.TECHNICAL_SUPPORT,
    tier=Tier.PRIMARY,
    role=Role.LEAD,
)


def _page(incident_id: str, at: datetime) -> Notification:
    incident = Incident(
        id=incident_id,
        title="Checkout failing",
        level=Level.A,
        type=IncidentType.SERVICE_OUTAGE,
        declared_at=at,
        declared_by="monitor",
        ack_deadline=at + timedelta(minutes=15),
        response_window_seconds=900,
    )
    event = TimelineEvent(
        incident_id=incident_id, seq=2, at=at, kind=EventKind.PAGED, text="Paged Ada"
    )
    return Notification(
        key=f"{incident_id}/page",
        kind=NotificationKind.PAGE,
        incident=incident,
        event=event,
        recipient=ADA,
        text="PAGE ...",
    )


async def test_a_bundle_is_stamped_when_it_is_sent_not_when_its_pages_were_held() -> None:
    stream = io.StringIO()
    sent_at = PAGED_AT + timedelta(seconds=30)  # the bundle window closed
    console = ConsoleNotifier(stream=stream, clock=lambda: sent_at)
    pages = [_page("20261204-vr45pa", PAGED_AT), _page("20261204-pnr5kw", PAGED_AT)]

    await console.send_bundle(ADA, pages, "bundle/x/2")

    first, *_, last = stream.getvalue().splitlines()
    assert first.startswith("2026-12-04 14:00:35Z BUNDLE ")
    assert last.strip() == "acknowledge all: tocsin ack 20261204-vr45pa 20261204-pnr5kw"
