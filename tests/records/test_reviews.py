"""Reviews in the records, on SQLite (FTS5) and PostgreSQL (tsvector): the knowledge base
finds a published review by words of its root cause, ranked; nothing unpublished; the
query's words are only words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.records import RecordsStore
from domain.models import IncidentType, Level
from domain.reviews import KeyTimes, Review, ReviewStatus, review_id
from tests.records.builders import T0, incident


def review(incident_id: str, **fields: object) -> Review:
    values: dict[str, object] = {
        "id": review_id(incident_id),
        "incident_id": incident_id,
        "title": f"incident {incident_id}",
        "level": Level.B,
        "type": IncidentType.SERVICE_OUTAGE,
        "service": "checkout",
        "owner": "Ada Okafor",
        "due_at": T0 + timedelta(days=5),
        "key_times": KeyTimes(declared_at=T0, response_window_seconds=1800),
        "created_at": T0,
        "status": ReviewStatus.PUBLISHED,
        "published_at": T0 + timedelta(days=1),
    }
    values.update(fields)
    return Review.model_validate(values)


@pytest.fixture
async def knowledge(store: RecordsStore) -> RecordsStore:
    for incident_id in ("i1", "i2", "i3", "i4"):
        await store.apply(incident(incident_id), [])
    await store.reviews.save(
        review(
            "i1",
            title="Checkout failing after release",
            root_cause="A feature flag defaulted on during the deploy of release 4512.",
            lessons=["Flags ship off by default"],
        )
    )
    await store.reviews.save(
        review(
            "i2",
            title="Slow search",
            root_cause="An index was dropped by a migration; queries scanned the whole table.",
            contributing_factors=["no alert on query latency"],
        )
    )
    await store.reviews.save(
        review(
            "i3",
            title="Checkout flag again",
            root_cause="The feature flag service timed out; the flag flag flag fell back on.",
            status=ReviewStatus.DRAFT,
            published_at=None,
        )
    )
    await store.reviews.save(
        review("i4", title="Drill: flag outage", root_cause="feature flag drill", drill=True)
    )
    return store


async def test_search_finds_a_published_review_by_words_of_its_root_cause(
    knowledge: RecordsStore,
) -> None:
    found = await knowledge.reviews.search("feature flag")

    assert [r.incident_id for r, _ in found] == ["i1"]  # i3 is a draft, i4 a drill
    assert found[0][1] > 0


async def test_search_is_stemmed_and_ranked(knowledge: RecordsStore) -> None:
    stemmed = await knowledge.reviews.search("migrations dropped indexes")
    assert [r.incident_id for r, _ in stemmed] == ["i2"]

    drafts = await knowledge.reviews.search("flag", status=ReviewStatus.DRAFT)
    assert [r.incident_id for r, _ in drafts] == ["i3"]
    both = await knowledge.reviews.search("flag", status=None)
    # The draft says "flag" five times, the published review once in its title and text.
    assert [r.incident_id for r, _ in both] == ["i3", "i1"]
    assert both[0][1] > both[1][1]


@pytest.mark.parametrize(
    "query", ['"unbalanced', "NEAR(flag deploy)", "flag*", "-flag", "flag OR x:y", "🙂 flag"]
)
async def test_a_query_is_words_not_syntax(knowledge: RecordsStore, query: str) -> None:
    found = await knowledge.reviews.search(query)

    assert {r.incident_id for r, _ in found} <= {"i1"}


async def test_an_edit_is_found_and_an_older_version_never_overwrites(
    knowledge: RecordsStore,
) -> None:
    current = await knowledge.reviews.get(review_id("i2"))
    assert current is not None
    amended = current.model_copy(update={"root_cause": "A rogue cron job.", "version": 2})
    assert await knowledge.reviews.save(amended)
    assert not await knowledge.reviews.save(current)  # version 1 is older

    assert [r.incident_id for r, _ in await knowledge.reviews.search("cron")] == ["i2"]
    assert await knowledge.reviews.search("migration") == []


async def test_related_reviews_of_a_service_match_first_then_the_newest(
    knowledge: RecordsStore,
) -> None:
    related = await knowledge.reviews.related("checkout", "release checkout failing")

    assert [r.incident_id for r in related][:2] == ["i1", "i2"]
    assert all(not r.drill and r.status is ReviewStatus.PUBLISHED for r in related)
