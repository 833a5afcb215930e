"""An effects batch's records (issue 22): held back until the next write that cannot wait,
read back by the batch itself at once, seen by other processes only once committed, and
committed at the end even when the batch fails."""

from __future__ import annotations

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import Connection

from adapters.records import RecordsStore, migrate
from adapters.records.engine import create_engine
from domain.models import EventKind
from domain.oncall import ONCALL_SEQ
from tests.records.builders import T0, event, incident


async def _write_a_batch(store: RecordsStore) -> None:
    await store.apply(incident("inc-1"), [event("inc-1", 1)])
    await store.note_event_once(
        "inc-1/1/page/ana/oncall",
        incident_id="inc-1",
        base=ONCALL_SEQ,
        kind=EventKind.ON_CALL,
        text="Ana reached for technical primary",
        at=T0,
    )
    await store.set_ref("slack:msg:inc-1/1/status", "pending", incident_id="inc-1")


async def test_a_batch_reads_its_own_writes_and_others_see_them_once_flushed(
    store: RecordsStore, database_url: str
) -> None:
    # A second store on the same database stands for another process (the API, a worker).
    other = RecordsStore.from_url(database_url)
    try:
        async with store.batch():
            await _write_a_batch(store)
            await store.record_notification(
                "inc-1/1/status", incident_id="inc-1", kind="status", recipient="#incident"
            )
            assert await store.get_ref("slack:msg:inc-1/1/status") == "pending"
            assert await store.notification_sent("inc-1/1/status")
            assert await other.get_incident("inc-1") is None
            assert not await other.notification_sent("inc-1/1/status")

            await store.flush()  # what every send does first
            assert await other.get_incident("inc-1") is not None
            assert sorted(e.seq for e in await other.timeline("inc-1")) == [1, ONCALL_SEQ + 1]
            assert await other.get_ref("slack:msg:inc-1/1/status") == "pending"

            await store.set_ref(
                "slack:msg:inc-1/1/status", "1700000000.000100", incident_id="inc-1"
            )
            assert await other.get_ref("slack:msg:inc-1/1/status") == "pending"
        assert await other.get_ref("slack:msg:inc-1/1/status") == "1700000000.000100"
    finally:
        await other.close()


async def test_a_lease_is_let_go_only_after_what_was_held_back_before_it(
    store: RecordsStore, database_url: str
) -> None:
    # The card's record must be in before another worker may take its turn on the card.
    other = RecordsStore.from_url(database_url)
    try:
        async with store.batch():
            assert await store.claim("slack:card:inc-1", "w1", 30)
            await store.apply(incident("inc-1"), [])
            await store.set_ref("slack:inc-1/card", "1700000000.000100|1", incident_id="inc-1")
            await store.release("slack:card:inc-1", "w1")
            assert await other.claim("slack:card:inc-1", "w2", 30)
            assert await other.get_ref("slack:inc-1/card") == "1700000000.000100|1"
    finally:
        await other.close()


async def _fail_in_a_batch(store: RecordsStore) -> None:
    async with store.batch():
        await _write_a_batch(store)
        await store.record_notification(
            "inc-1/1/status", incident_id="inc-1", kind="status", recipient="#incident"
        )
        raise ConnectionError("Slack went away")


async def test_a_failed_batch_still_records_what_it_did(store: RecordsStore) -> None:
    with pytest.raises(ConnectionError):
        await _fail_in_a_batch(store)

    assert await store.get_incident("inc-1") is not None
    assert await store.notification_sent("inc-1/1/status")
    assert len(await store.timeline("inc-1")) == 2


async def test_outside_a_batch_every_write_is_committed_at_once(
    store: RecordsStore, database_url: str
) -> None:
    other = RecordsStore.from_url(database_url)
    try:
        await _write_a_batch(store)
        assert await other.get_incident("inc-1") is not None
        assert await other.get_ref("slack:msg:inc-1/1/status") == "pending"
    finally:
        await other.close()


# ------------------------------------------------------------- what a batch was sent before


async def _record_sent(store: RecordsStore, key: str, ts: str) -> None:
    """A message sent as the Slack notifier records it: its pending mark, then the outbox's
    record and the message's ts."""
    assert await store.set_ref_if_absent(f"slack:msg:{key}", "pending", incident_id="inc-1") is None
    await store.record_notification(key, incident_id="inc-1", kind="status", recipient="#incident")
    await store.set_ref(f"slack:msg:{key}", ts, incident_id="inc-1")


async def test_a_batch_reads_an_incidents_records_once_and_answers_its_checks_from_them(
    database_url: str,
) -> None:
    await migrate(database_url)
    engine = create_engine(database_url)
    store = RecordsStore(engine)
    other = RecordsStore.from_url(database_url)
    reads: list[str] = []

    @sqlalchemy_event.listens_for(engine.sync_engine, "begin")
    def _count(conn: Connection) -> None:
        if not conn.get_execution_options().get("tocsin_write"):
            reads.append("read")

    try:
        # Sent by another process (an earlier attempt, another worker) before the batch.
        await _record_sent(other, "inc-1/1/declared", "1700000000.000100")
        await other.set_ref("slack:inc-1/channel", "C0INC1", incident_id="inc-1")
        async with store.batch():
            assert await store.notification_sent("inc-1/1/declared", incident_id="inc-1")
            assert not await store.notification_sent("inc-1/1/status", incident_id="inc-1")
            assert (
                await store.get_ref("slack:msg:inc-1/1/declared", incident_id="inc-1")
                == "1700000000.000100"
            )
            assert await store.get_ref("slack:inc-1/channel", incident_id="inc-1") == "C0INC1"
            assert await store.get_ref("slack:inc-1/card", incident_id="inc-1") is None
            await _record_sent(store, "inc-1/1/status", "1700000000.000200")
            assert await store.notification_sent("inc-1/1/status", incident_id="inc-1")
            assert (
                await store.get_ref("slack:msg:inc-1/1/status", incident_id="inc-1")
                == "1700000000.000200"
            )
            assert reads == ["read"]
            # Another incident's checks read its own records, once.
            assert not await store.notification_sent("inc-2/1/declared", incident_id="inc-2")
            assert not await store.notification_sent("inc-2/1/status", incident_id="inc-2")
            assert reads == ["read", "read"]
        assert await other.notification_sent("inc-1/1/status")
    finally:
        await other.close()
        await store.close()


async def test_a_message_marked_by_another_process_during_a_batch_is_not_marked_again(
    store: RecordsStore, database_url: str
) -> None:
    # The batch's read predates the other's post; the mark, committed before a post leaves,
    # is where that is found, so the message is not posted twice.
    other = RecordsStore.from_url(database_url)
    try:
        async with store.batch():
            assert await store.get_ref("slack:msg:inc-1/1/status", incident_id="inc-1") is None
            await _record_sent(other, "inc-1/1/status", "1700000000.000100")
            assert (
                await store.set_ref_if_absent(
                    "slack:msg:inc-1/1/status", "pending", incident_id="inc-1"
                )
                == "1700000000.000100"
            )
            assert (
                await store.get_ref("slack:msg:inc-1/1/status", incident_id="inc-1")
                == "1700000000.000100"
            )
        assert await other.get_ref("slack:msg:inc-1/1/status") == "1700000000.000100"
    finally:
        await other.close()


async def test_a_mark_is_committed_with_what_the_batch_held_back_before_it(
    store: RecordsStore, database_url: str
) -> None:
    other = RecordsStore.from_url(database_url)
    try:
        async with store.batch():
            await store.apply(incident("inc-1"), [event("inc-1", 1)])
            await store.set_ref_if_absent(
                "slack:msg:inc-1/1/status", "pending", incident_id="inc-1"
            )
            assert await other.get_incident("inc-1") is not None
            assert await other.get_ref("slack:msg:inc-1/1/status") == "pending"
    finally:
        await other.close()


async def _send_two_then_fail(store: RecordsStore) -> None:
    async with store.batch():
        for n, key in enumerate(["inc-1/1/declared", "inc-1/1/status"]):
            assert not await store.notification_sent(key, incident_id="inc-1")
            await _record_sent(store, key, f"1700000000.00010{n}")
        await store.set_ref_if_absent("slack:msg:inc-1/1/notice", "pending", incident_id="inc-1")
        raise ConnectionError("Slack went away during the third post")


async def test_a_retried_batch_finds_every_earlier_send_recorded(store: RecordsStore) -> None:
    with pytest.raises(ConnectionError):
        await _send_two_then_fail(store)

    async with store.batch():
        assert await store.notification_sent("inc-1/1/declared", incident_id="inc-1")
        assert await store.notification_sent("inc-1/1/status", incident_id="inc-1")
        assert (
            await store.get_ref("slack:msg:inc-1/1/status", incident_id="inc-1")
            == "1700000000.000101"
        )
        # The third post's outcome is unknown: its retry looks in Slack first (ADR 0008).
        assert await store.get_ref("slack:msg:inc-1/1/notice", incident_id="inc-1") == "pending"
        assert not await store.notification_sent("inc-1/1/notice", incident_id="inc-1")
