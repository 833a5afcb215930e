"""The other durable processes an incident's changes concern, told through their clients:
the person's pager (direct messages), the statements workflow (what customers may be told),
the review (opened at resolution) and the drill that injected the incident.

The incident's effects activity knows only this module, so the incident package imports no
other process's workflow, and none of them imports the incident's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio.client import Client

from domain.models import Incident, Level, Person, Recipient
from domain.notify import Notification
from domain.playbook import CustomerPolicy, PlaybookSet
from workflows.drills.client import tell_drill
from workflows.pager.client import hand_to_pager, stop_pages
from workflows.reviews.client import open_review
from workflows.statements.client import tell_statements

if TYPE_CHECKING:
    from adapters.records import RecordsStore


class Followers:
    def __init__(self, client: Client, task_queue: str, records: RecordsStore) -> None:
        self._client = client
        self._task_queue = task_queue
        self._records = records

    async def page(self, page: Notification, recipient: Recipient, window: timedelta) -> None:
        await hand_to_pager(self._client, self._task_queue, page, recipient, window)

    async def acknowledged(self, incident: Incident, people: list[Person]) -> None:
        await stop_pages(self._client, self._task_queue, incident.id, people)

    async def customers(self, incident: Incident, policies: dict[Level, CustomerPolicy]) -> None:
        await tell_statements(self._client, self._task_queue, incident, policies)

    async def resolved(self, incident: Incident, seq: int, playbooks: PlaybookSet) -> None:
        await open_review(self._client, self._task_queue, incident, seq, playbooks)

    async def drill(self, incident: Incident) -> None:
        assert incident.drill_run is not None
        run = await self._records.drills.get(incident.drill_run)
        if run is None or not run.workflow_id:
            return  # no run of that name: a drill incident declared by hand
        await tell_drill(self._client, run.workflow_id, incident)
