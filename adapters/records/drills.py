"""Drill runs and responders' classifications."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.records.tables import classifications, drill_runs
from adapters.records.upsert import newer_wins
from domain.drills import Classification, DrillRun


class DrillRecords:
    def __init__(self, engine: AsyncEngine, writer: AsyncEngine) -> None:
        self._engine = engine
        self._writer = writer

    async def save(self, run: DrillRun) -> bool:
        """Store ``run`` unless a newer version is stored; True if it was written."""
        row = {
            "id": run.id,
            "scenario": run.scenario,
            "status": run.status.value,
            "started_at": run.started_at,
            "document": run.model_dump(mode="json"),
            "version": run.version,
        }
        async with self._writer.begin() as conn:
            result = await conn.execute(newer_wins(conn, drill_runs), row)
        return bool(result.rowcount)

    async def get(self, run_id: str) -> DrillRun | None:
        async with self._engine.connect() as conn:
            document = await conn.scalar(
                select(drill_runs.c.document).where(drill_runs.c.id == run_id)
            )
        return None if document is None else DrillRun.model_validate(document)

    async def runs(self, *, scenario: str | None = None, limit: int = 100) -> list[DrillRun]:
        query = select(drill_runs.c.document).order_by(drill_runs.c.started_at.desc()).limit(limit)
        if scenario is not None:
            query = query.where(drill_runs.c.scenario == scenario)
        async with self._engine.connect() as conn:
            documents = (await conn.scalars(query)).all()
        return [DrillRun.model_validate(d) for d in documents]

    async def classify(self, classification: Classification) -> None:
        row = classification.model_dump()
        row["level"], row["type"] = classification.level.value, classification.type.value
        async with self._writer.begin() as conn:
            await conn.execute(classifications.insert().values(row))

    async def classifications(self, incident_ids: Sequence[str]) -> list[Classification]:
        query = (
            select(classifications)
            .where(classifications.c.incident_id.in_(list(incident_ids)))
            .order_by(classifications.c.at, classifications.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Classification.model_validate({k: row._mapping[k] for k in Classification.model_fields})
            for row in rows
        ]
