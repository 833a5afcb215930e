"""Post-incident reviews, their action items and the knowledge base's full-text search.

Search runs on the database's own engine: SQLite's FTS5 (Porter stemming, ranked by bm25)
and PostgreSQL's ``tsvector`` (English stemming, ranked by ``ts_rank_cd``). Only published
reviews are searched: the knowledge base is what was reviewed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.clock import utcnow
from adapters.records.tables import action_items, incidents, reviews
from adapters.records.upsert import newer_wins
from domain.reviews import ActionItem, ActionStatus, Review, ReviewStatus

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_WORDS = 20


def search_text(review: Review) -> str:
    """What the knowledge base finds a review by: its title, root cause, factors, lessons,
    and the rest of what its owner wrote."""
    parts = [
        review.title,
        review.service or "",
        review.summary,
        review.customer_impact,
        review.root_cause,
        *review.five_whys,
        review.cause_category or "",
        *review.contributing_factors,
        *review.went_badly,
        *review.lessons,
    ]
    return "\n".join(p for p in parts if p)


def query_words(query: str) -> list[str]:
    """The words of a search, without the engines' operator syntax (a quote or ``NEAR`` in
    a query is just text to a person)."""
    return _WORD.findall(query.lower())[:MAX_QUERY_WORDS]


class ReviewRecords:
    def __init__(self, engine: AsyncEngine, writer: AsyncEngine) -> None:
        self._engine = engine
        self._writer = writer

    # ---------------------------------------------------------------------------- reviews

    async def save(self, review: Review) -> bool:
        """Store ``review`` unless a newer version is stored; True if it was written."""
        row = {
            "id": review.id,
            "incident_id": review.incident_id,
            "status": review.status.value,
            "owner": review.owner,
            "due_at": review.due_at,
            "title": review.title,
            "level": review.level.value,
            "type": review.type.value,
            "service": review.service,
            "drill": review.drill,
            "cause_category": review.cause_category,
            "published_at": review.published_at,
            "document": review.model_dump(mode="json"),
            "search_text": search_text(review),
            "version": review.version,
            "created_at": review.created_at,
            "updated_at": utcnow(),
        }
        async with self._writer.begin() as conn:
            result = await conn.execute(newer_wins(conn, reviews), row)
            written = bool(result.rowcount)
            if written and conn.dialect.name == "sqlite":
                await _index_sqlite(conn, review)
        return written

    async def get(self, review_id: str) -> Review | None:
        async with self._engine.connect() as conn:
            document = await conn.scalar(
                select(reviews.c.document).where(reviews.c.id == review_id)
            )
        return None if document is None else Review.model_validate(document)

    async def of_incident(self, incident_id: str) -> Review | None:
        async with self._engine.connect() as conn:
            document = await conn.scalar(
                select(reviews.c.document).where(reviews.c.incident_id == incident_id)
            )
        return None if document is None else Review.model_validate(document)

    async def find(
        self,
        *,
        status: ReviewStatus | None = None,
        service: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Review]:
        query = select(reviews.c.document).order_by(reviews.c.created_at.desc(), reviews.c.id)
        if status is not None:
            query = query.where(reviews.c.status == status.value)
        if service is not None:
            query = query.where(reviews.c.service == service)
        if since is not None or until is not None:
            declared = select(incidents.c.id)
            if since is not None:
                declared = declared.where(incidents.c.declared_at >= since)
            if until is not None:
                declared = declared.where(incidents.c.declared_at < until)
            query = query.where(reviews.c.incident_id.in_(declared))
        async with self._engine.connect() as conn:
            rows = (await conn.scalars(query.limit(limit))).all()
        return [Review.model_validate(document) for document in rows]

    async def search(
        self,
        query: str,
        *,
        status: ReviewStatus | None = ReviewStatus.PUBLISHED,
        service: str | None = None,
        drills: bool = False,
        limit: int = 20,
    ) -> list[tuple[Review, float]]:
        """Reviews matching every word of ``query``, best first, with the engine's rank
        (higher is better)."""
        words = query_words(query)
        if not words:
            return []
        async with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                found = await _search_postgres(conn, words, limit * 2)
            else:
                found = await _search_sqlite(conn, words, limit * 2)
        results = []
        for document, rank in found:
            review = Review.model_validate(document)
            if status is not None and review.status is not status:
                continue
            if service is not None and review.service != service:
                continue
            if review.drill and not drills:
                continue
            results.append((review, rank))
        return results[:limit]

    async def related(self, service: str, words: str, limit: int = 3) -> list[Review]:
        """Published reviews of ``service``: those matching ``words`` first, then the newest."""
        matching = [r for r, _ in await self.search(words, service=service, limit=limit)]
        if len(matching) < limit:
            newest = await self.find(status=ReviewStatus.PUBLISHED, service=service, limit=limit)
            matching += [r for r in newest if r.id not in {m.id for m in matching}]
        return [r for r in matching if not r.drill][:limit]

    # ------------------------------------------------------------------------ action items

    async def save_action(self, action: ActionItem) -> bool:
        row = action.model_dump()
        row["priority"], row["status"] = action.priority.value, action.status.value
        async with self._writer.begin() as conn:
            result = await conn.execute(newer_wins(conn, action_items), row)
        return bool(result.rowcount)

    async def action(self, action_id: str) -> ActionItem | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(action_items).where(action_items.c.id == action_id))
            ).first()
        return None if row is None else _action(row._mapping)

    async def actions(
        self,
        *,
        review_id: str | None = None,
        status: ActionStatus | None = None,
        overdue_at: datetime | None = None,
        owner: str | None = None,
    ) -> list[ActionItem]:
        query = select(action_items).order_by(action_items.c.due_at, action_items.c.id)
        if review_id is not None:
            query = query.where(action_items.c.review_id == review_id)
        if status is not None:
            query = query.where(action_items.c.status == status.value)
        if overdue_at is not None:
            query = query.where(
                action_items.c.status == ActionStatus.OPEN.value,
                action_items.c.due_at < overdue_at,
            )
        if owner is not None:
            query = query.where(action_items.c.owner == owner)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_action(row._mapping) for row in rows]


async def _index_sqlite(conn: AsyncConnection, review: Review) -> None:
    await conn.execute(text("DELETE FROM reviews_fts WHERE review_id = :id"), {"id": review.id})
    await conn.execute(
        text("INSERT INTO reviews_fts (review_id, search_text) VALUES (:id, :body)"),
        {"id": review.id, "body": search_text(review)},
    )


async def _search_sqlite(
    conn: AsyncConnection, words: Sequence[str], limit: int
) -> list[tuple[Any, float]]:
    # Each word quoted: FTS5's own operators (NEAR, -, *) are not the user's to invoke.
    match = " ".join(f'"{w}"' for w in words)
    rows = await conn.execute(
        text(
            "SELECT r.document, bm25(reviews_fts) AS rank FROM reviews_fts "
            "JOIN reviews r ON r.id = reviews_fts.review_id "
            "WHERE reviews_fts MATCH :match ORDER BY rank LIMIT :limit"
        ),
        {"match": match, "limit": limit},
    )
    # bm25 is lower for better matches; report higher-is-better like PostgreSQL.
    return [(_json(document), -float(rank)) for document, rank in rows]


async def _search_postgres(
    conn: AsyncConnection, words: Sequence[str], limit: int
) -> list[tuple[Any, float]]:
    vector = func.to_tsvector(literal_column("'english'"), reviews.c.search_text)
    query = func.plainto_tsquery(literal_column("'english'"), " ".join(words))
    rank = func.ts_rank_cd(vector, query).label("rank")
    rows = await conn.execute(
        select(reviews.c.document, rank)
        .where(vector.op("@@")(query))
        .order_by(rank.desc(), reviews.c.id)
        .limit(limit)
    )
    return [(document, float(value)) for document, value in rows]


def _json(document: Any) -> Any:
    # A text() query does not apply the JSON column's type: SQLite hands back the text.
    return json.loads(document) if isinstance(document, str) else document


def _action(values: Any) -> ActionItem:
    return ActionItem.model_validate({k: values[k] for k in ActionItem.model_fields})


__all__ = ["ReviewRecords", "query_words", "search_text"]
