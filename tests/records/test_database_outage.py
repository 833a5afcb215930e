"""The records database unavailable for a while (PostgreSQL behind a loopback proxy that is
cut, then restored): reads answer 503 with ``Retry-After``, never 500; people still
acknowledge, since the incident lives in Temporal; the record writes retry until the database
is back, and nothing is lost or written twice.

CI cuts the database for 10 seconds; ``make soak`` for a minute (TOCSIN_DB_OUTAGE_SECONDS)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.records import RecordsStore, migrate
from domain.models import Actor, Declaration, EventKind, IncidentType, Level, NotificationKind
from domain.statements import STATEMENT_SEQ
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_playbooks
from playbooks.roster import RosterSource
from testkit.waiting import eventually
from tests.api.conftest import AUTH, api_config, build_app, http_client
from tests.conftest import RecordingNotifier, outbound
from tests.records.conftest import PostgresServer
from workflows.incident.client import IncidentService
from workflows.worker import build_worker

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = float(os.environ.get("TOCSIN_DB_OUTAGE_SECONDS", "10"))


class Cuttable:
    """A TCP proxy on 127.0.0.1 to the database: ``cut`` drops every connection and refuses
    new ones, as a database that went down does; ``restore`` lets them through again."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._open -= {writer, upstream_writer}


@pytest.fixture
async def records_behind_a_proxy(
    postgres_server: PostgresServer,
) -> AsyncIterator[tuple[str, Cuttable]]:
    name = await postgres_server.create_database()
    await migrate(postgres_server.url(name))
    proxy = Cuttable(postgres_server.host, postgres_server.port)
    await proxy.restore()
    try:
        yield f"postgresql+asyncpg://{postgres_server.user}@127.0.0.1:{proxy.port}/{name}", proxy
    finally:
        with contextlib.suppress(AssertionError):
            await proxy.cut()
        await postgres_server.drop_database(name)


async def test_while_the_records_database_is_down_reads_are_503_and_no_write_is_lost(
    dev_env: WorkflowEnvironment,
    records_behind_a_proxy: tuple[str, Cuttable],
    tmp_path: Path,
) -> None:
    url, proxy = records_behind_a_proxy
    store = RecordsStore.from_url(url)
    notifier = RecordingNotifier()
    queue = f"tocsin-db-outage-{uuid.uuid4()}"
    playbooks = load_playbooks(DEFAULT_DIR)
    service = IncidentService(dev_env.client, queue, playbooks)
    app = build_app(api_config(tmp_path, task_queue=queue), store, service)
    worker = build_worker(
        dev_env.client, queue, store, notifier, RosterSource(DEFAULT_DIR), outbound(tmp_path)
    )
    try:
        async with worker, http_client(app, AUTH) as http:
            incident = await service.declare(
                Declaration(
                    title="Checkout failing",
                    level=Level.B,
                    type=IncidentType.SERVICE_OUTAGE,
                    declared_by=Actor(name="Alice"),
                )
            )
            await eventually(lambda: store.get_incident(incident.id), within=30)

            await proxy.cut()
            listing = await http.get("/api/v1/incidents")
            timeline = await http.get(f"/api/v1/incidents/{incident.id}/timeline")
            # The incident lives in Temporal: acknowledging does not need the records.
            acked = await http.post(f"/api/v1/incidents/{incident.id}/ack", json={"by": "Bob"})
            await asyncio.sleep(OUTAGE_SECONDS)
            still_down = await http.get(f"/api/v1/incidents/{incident.id}/timeline")
            await proxy.restore()

            async def recorded() -> list[EventKind] | None:
                record = await store.get_incident(incident.id)
                if record is None or record.acknowledged_by != "Bob":
                    return None
                return [e.kind for e in await store.timeline(incident.id) if e.seq < STATEMENT_SEQ]

            kinds = await eventually(recorded, within=OUTAGE_SECONDS * 2 + 60)
            seqs = [e.seq for e in await store.timeline(incident.id) if e.seq < STATEMENT_SEQ]
            after = await http.get(f"/api/v1/incidents/{incident.id}")
            await service.resolve(incident.id, Actor(name="Bob"), "done")
    finally:
        await store.close()

    for answer in (listing, timeline, still_down):
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"].isdigit()
        assert "try again shortly" in answer.json()["detail"]
    assert acked.status_code == 200, acked.text
    assert after.status_code == 200
    assert after.json()["acknowledged_by"] == "Bob"
    # Every event once, in order; the acknowledgement's status message sent once.
    assert seqs == list(range(1, len(seqs) + 1))
    assert kinds.count(EventKind.ACKNOWLEDGED) == 1
    acks = [
        n
        for n in notifier.of_kind(NotificationKind.STATUS, incident.id)
        if n.event.kind is EventKind.ACKNOWLEDGED
    ]
    assert len(acks) == 1
