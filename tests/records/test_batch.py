"""An effects batch's records (issue 22): held back until the next write that cannot wait,
read back by the batch itself at once, seen by other processes only once committed, and
committed at the end even when the batch fails."""

from __future__ import annotations

import pytest

from adapters.records import RecordsStore
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
