"""The records store on SQLite and PostgreSQL: idempotent, ordered, concurrent-safe writes and
the reads the API serves."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from adapters.records import RecordsStore
from domain.models import (
    Function,
    IncidentType,
    Level,
    NotificationKind,
    PagedPerson,
    Role,
    Status,
    Tier,
)
from testkit.processes import free_port
from tests.records.builders import T0, event, incident


async def test_applying_the_same_events_twice_keeps_one_copy_in_seq_order(
    store: RecordsStore,
) -> None:
    snapshot = incident("inc-1")
    events = [event("inc-1", 3), event("inc-1", 1), event("inc-1", 2)]

    await store.apply(snapshot, events)
    await store.apply(snapshot, events)
    await store.apply(snapshot, [event("inc-1", 2), event("inc-1", 4)])

    timeline = await store.timeline("inc-1")
    assert [e.seq for e in timeline] == [1, 2, 3, 4]
    assert timeline[0] == event("inc-1", 1)


async def test_a_retried_event_does_not_replace_the_stored_one(store: RecordsStore) -> None:
    await store.apply(incident("inc-1"), [event("inc-1", 1)])
    rewritten = event("inc-1", 1).model_copy(update={"text": "different"})

    await store.apply(incident("inc-1"), [rewritten])

    assert [e.text for e in await store.timeline("inc-1")] == ["update 1"]


async def test_a_newer_snapshot_replaces_the_stored_one(store: RecordsStore) -> None:
    await store.apply(incident("inc-1", version=1), [])
    acked = incident("inc-1", version=2, ack_after=120, title="renamed")

    await store.apply(acked, [])

    assert await store.get_incident("inc-1") == acked


async def test_an_older_snapshot_never_overwrites_a_newer_one(store: RecordsStore) -> None:
    newer = incident("inc-1", version=5, ack_after=60, status=Status.RESOLVED)
    await store.apply(newer, [event("inc-1", 1)])

    await store.apply(incident("inc-1", version=4, status=Status.TRIGGERED), [event("inc-1", 2)])
    await store.apply(incident("inc-1", version=5, title="same version, later write"), [])

    assert await store.get_incident("inc-1") == newer
    # The events of a late snapshot are still new information and are kept.
    assert [e.seq for e in await store.timeline("inc-1")] == [1, 2]


async def test_twenty_concurrent_applies_from_two_stores_neither_fail_nor_duplicate(
    store: RecordsStore, database_url: str
) -> None:
    # A second store on the same database stands for another worker process.
    other = RecordsStore.from_url(database_url)
    calls = [
        (incident("inc-1", version=v, title=f"v{v}"), [event("inc-1", s) for s in range(1, v + 1)])
        for v in range(1, 21)
    ]
    random.Random(7).shuffle(calls)
    try:
        # A lock-ordering mistake shows as a hang; make it a failure instead.
        async with asyncio.timeout(60):
            await asyncio.gather(
                *(
                    (store if i % 2 else other).apply(snapshot, events)
                    for i, (snapshot, events) in enumerate(calls)
                )
            )
    finally:
        await other.close()

    stored = await store.get_incident("inc-1")
    assert stored is not None
    assert (stored.version, stored.title) == (20, "v20")
    assert [e.seq for e in await store.timeline("inc-1")] == list(range(1, 21))


async def test_events_of_another_incident_are_refused_and_nothing_is_written(
    store: RecordsStore,
) -> None:
    with pytest.raises(ValueError, match="inc-2"):
        await store.apply(incident("inc-1"), [event("inc-1", 1), event("inc-2", 1)])

    assert await store.get_incident("inc-1") is None
    assert await store.timeline("inc-1") == []


async def test_times_come_back_timezone_aware_in_utc_at_the_same_instant(
    store: RecordsStore,
) -> None:
    paris = timezone(timedelta(hours=1))
    declared = datetime(2026, 3, 1, 13, 30, 15, 123456, tzinfo=paris)
    paged = PagedPerson(
        name="ana",
        function=Function.TECHNICAL_SUPPORT,
        tier=Tier.PRIMARY,
        role=Role.LEAD,
        kind=NotificationKind.PAGE,
        at=declared,
    )
    snapshot = incident("inc-1", declared_at=declared, ack_after=90.5, paged=[paged])

    await store.apply(snapshot, [event("inc-1", 1, at=declared)])

    stored = await store.get_incident("inc-1")
    assert stored is not None
    for value in (stored.declared_at, stored.ack_deadline, stored.acknowledged_at):
        assert value is not None
        assert value.utcoffset() == timedelta(0)
    assert stored.declared_at == declared
    assert stored.declared_at.hour == 12
    assert stored.acknowledged_at == declared + timedelta(seconds=90.5)
    assert stored.paged == [paged]
    [stored_event] = await store.timeline("inc-1")
    assert stored_event.at == declared
    assert stored_event.at.utcoffset() == timedelta(0)


async def test_listing_is_newest_first_by_instant_whatever_the_offset(
    store: RecordsStore,
) -> None:
    # 12:30 at +02:00 is 10:30 UTC: earlier than 11:00 UTC although its wall clock reads later.
    await store.apply(
        incident(
            "east", declared_at=datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
        ),
        [],
    )
    await store.apply(incident("utc", declared_at=datetime(2026, 3, 1, 11, 0, tzinfo=UTC)), [])

    assert [i.id for i in await store.list_incidents()] == ["utc", "east"]


@pytest.fixture
async def five_incidents(store: RecordsStore) -> RecordsStore:
    hour = timedelta(hours=1)
    for snapshot in (
        incident("i1", level=Level.A, declared_at=T0),
        incident("i2", level=Level.B, declared_at=T0 + hour, ack_after=60),
        incident(
            "i3",
            level=Level.A,
            declared_at=T0 + 2 * hour,
            drill=True,
            ack_after=30,
            status=Status.RESOLVED,
        ),
        incident(
            "i4",
            level=Level.C,
            type=IncidentType.DATA_LEAK,
            declared_at=T0 + 3 * hour,
            ack_after=10,
            status=Status.MITIGATED,
        ),
        incident("i5", level=Level.A, declared_at=T0 + 4 * hour, ack_after=5),
    ):
        await store.apply(snapshot, [])
    return store


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["i5", "i4", "i3", "i2", "i1"]),
        ({"status": [Status.TRIGGERED, Status.ACKNOWLEDGED]}, ["i5", "i2", "i1"]),
        ({"status": []}, []),
        ({"level": Level.A}, ["i5", "i3", "i1"]),
        ({"drill": True}, ["i3"]),
        ({"drill": False}, ["i5", "i4", "i2", "i1"]),
        ({"level": Level.A, "status": [Status.ACKNOWLEDGED]}, ["i5"]),
        ({"level": Level.B, "drill": True}, []),
    ],
)
async def test_list_and_count_apply_the_same_filters(
    five_incidents: RecordsStore, filters: dict[str, object], expected: list[str]
) -> None:
    listed = await five_incidents.list_incidents(**filters)  # type: ignore[arg-type]
    counted = await five_incidents.count_incidents(**filters)  # type: ignore[arg-type]

    assert [i.id for i in listed] == expected
    assert counted == len(expected)


async def test_list_pages_with_limit_and_offset(five_incidents: RecordsStore) -> None:
    pages = [
        [i.id for i in await five_incidents.list_incidents(limit=2, offset=offset)]
        for offset in (0, 2, 4, 6)
    ]

    assert pages == [["i5", "i4"], ["i3", "i2"], ["i1"], []]


async def test_unknown_incident_has_no_record_and_an_empty_timeline(store: RecordsStore) -> None:
    assert await store.get_incident("nope") is None
    assert await store.timeline("nope") == []


async def test_recording_a_notification_twice_keeps_the_first_record(store: RecordsStore) -> None:
    key = "inc-1/3/technical_support/primary"
    assert not await store.notification_sent(key)

    await store.record_notification(
        key, incident_id="inc-1", kind="page", recipient="ana", external_id="1700000000.000100"
    )
    await store.record_notification(
        key, incident_id="inc-1", kind="page", recipient="ana", external_id="1700000000.999999"
    )

    assert await store.notification_sent(key)
    assert await store.get_notification_external_id(key) == "1700000000.000100"


async def test_notification_without_external_id_is_sent_but_has_none(store: RecordsStore) -> None:
    await store.record_notification("inc-1/1", incident_id="inc-1", kind="notice", recipient="all")

    assert await store.notification_sent("inc-1/1")
    assert await store.get_notification_external_id("inc-1/1") is None
    assert await store.get_notification_external_id("inc-1/2") is None
    assert not await store.notification_sent("inc-1/2")


async def test_ping_answers_when_the_database_is_up(store: RecordsStore) -> None:
    await store.ping()


def _closed_port() -> int:
    return free_port()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_ping_raises_when_the_database_cannot_be_reached(
    backend: str, tmp_path: Path
) -> None:
    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'records.db'}"
        if backend == "sqlite"
        else f"postgresql+asyncpg://tocsin@127.0.0.1:{_closed_port()}/records"
    )
    store = RecordsStore.from_url(url)
    try:
        with pytest.raises((OSError, SQLAlchemyError)):
            await store.ping()
    finally:
        await store.close()


async def test_two_worker_processes_take_turns_on_one_slack_channel(
    store: RecordsStore, database_url: str
) -> None:
    # A second store stands for another worker process (ADR 0022): between them, one turn
    # per interval on a channel, whoever asks.
    other = RecordsStore.from_url(database_url)
    try:
        waits = await asyncio.gather(
            *((store if i % 2 else other).reserve_turn("C1", 1.0) for i in range(6))
        )
        elsewhere = await other.reserve_turn("C2", 1.0)
    finally:
        await other.close()

    turns = sorted(waits)
    assert turns[0] < 0.5
    assert all(0.5 < later - earlier < 1.5 for earlier, later in itertools.pairwise(turns))
    assert elsewhere < 0.5  # another channel has its own turns
