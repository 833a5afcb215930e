"""Overrides and calendar-feed secrets in the records, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.records import RecordsStore

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def test_an_override_is_kept_listed_and_removed_once(store: RecordsStore) -> None:
    made = await store.oncall.add_override(
        "support", "Ben Lindqvist", NOW, NOW + timedelta(hours=8), "Chen Wei", "Ada is ill", NOW
    )
    other = await store.oncall.add_override(
        "nights", "Ada Okafor", NOW, NOW + timedelta(hours=1), "Chen Wei", None, NOW
    )
    assert (made.person, made.start, made.end, made.by, made.reason) == (
        "Ben Lindqvist", NOW, NOW + timedelta(hours=8), "Chen Wei", "Ada is ill"
    )  # fmt: skip
    assert await store.oncall.overrides("support") == [made]
    assert await store.oncall.overrides(ending_after=NOW + timedelta(hours=2)) == [made]
    assert not await store.oncall.remove_override("support", other.id, "Chen Wei", NOW)
    assert await store.oncall.remove_override("support", made.id, "Chen Wei", NOW)
    assert not await store.oncall.remove_override("support", made.id, "Chen Wei", NOW)
    assert await store.oncall.overrides() == [other]


async def test_a_feed_secret_works_until_replaced_or_revoked(store: RecordsStore) -> None:
    first = await store.oncall.new_feed_secret("support", "admin", NOW)
    assert await store.oncall.feed_allows("support", first)
    assert not await store.oncall.feed_allows("nights", first)
    second = await store.oncall.new_feed_secret("support", "admin", NOW)
    assert not await store.oncall.feed_allows("support", first)
    assert await store.oncall.feed_allows("support", second)
    assert await store.oncall.revoke_feed("support")
    assert not await store.oncall.feed_allows("support", second)
