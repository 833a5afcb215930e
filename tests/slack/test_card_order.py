"""Two workers updating one incident's card at once: the updates take turns (a lease in the
records), so the card always ends in the latest state however the calls interleave."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.records import RecordsStore, migrate
from adapters.slack import layout
from adapters.slack.client import SlackApi
from adapters.slack.notifier import SlackNotifier
from domain.models import Incident, IncidentType, Level, Status
from domain.playbook import SlackChannels
from testkit.fake_slack import FakeSlack
from tests.slack.conftest import BOT_TOKEN

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def snapshot(version: int) -> Incident:
    return Incident(
        id="20261123-card",
        title=f"Checkout failing (update {version})",
        level=Level.B,
        type=IncidentType.SERVICE_OUTAGE,
        status=Status.ACKNOWLEDGED if version > 5 else Status.TRIGGERED,
        declared_at=T0,
        declared_by="Alice",
        ack_deadline=T0 + timedelta(minutes=30),
        response_window_seconds=1800,
        version=version,
    )


async def test_card_updates_from_two_workers_never_overlap_and_end_on_the_newest(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await migrate(url)
    store = RecordsStore.from_url(url)
    workers = [
        SlackNotifier(SlackApi(BOT_TOKEN, fake_slack.base_url, 0.0), store, SlackChannels())
        for _ in range(2)
    ]
    channel = fake_slack.add_channel("inc-20261123-card")
    await workers[0].upsert_card(snapshot(1), channel)
    fake_slack.slow("chat.update", 0.05)
    versions = list(range(2, 21))
    random.Random(7).shuffle(versions)

    try:
        await asyncio.gather(
            *(workers[n % 2].upsert_card(snapshot(v), channel) for n, v in enumerate(versions))
        )
    finally:
        for worker in workers:
            await worker.aclose()
        await store.close()

    assert fake_slack.max_in_flight["chat.update"] == 1
    (card,) = fake_slack.messages(channel)
    assert card["text"] == layout.card(snapshot(20))[0]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    # Nothing of the incident stays behind in a worker once its updates are done.
    assert [len(worker._locks) for worker in workers] == [0, 0]
