"""``tocsin up`` as a user runs it: a real Temporal dev server, worker and API as processes.

The playbooks here have second-scale windows so that breaches happen within the test; the
restart check proves that response windows are durable timers, not in-memory sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.playbooks import playbook_dir
from testkit.processes import alive, free_port, free_temporal_port, listening
from testkit.stack import STOP_DEADLINE, TocsinUp, clean_env
from testkit.waiting import eventually

pytestmark = pytest.mark.integration


class Api:
    def __init__(self, up: TocsinUp) -> None:
        self.http = httpx.AsyncClient(
            base_url=f"{up.api_url}/api/v1",
            headers={"Authorization": f"Bearer {up.api_token()}"},
            timeout=30.0,
        )

    async def declare(self, title: str, level: str) -> dict[str, Any]:
        response = await self.http.post(
            "/incidents",
            json={"title": title, "level": level, "type": "service_outage", "by": "monitor"},
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def declare_patiently(self, title: str, level: str) -> dict[str, Any]:
        async def taken() -> httpx.Response | None:
            response = await self.http.post(
                "/incidents",
                json={"title": title, "level": level, "type": "service_outage", "by": "monitor"},
            )
            return None if response.status_code == 503 else response

        response = await eventually(taken, within=60, what="the declaration taken", every=1.0)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def get_ready(self) -> int:
        return (await self.http.get(self.http.base_url.join("/readyz"))).status_code

    async def get(self, incident_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/incidents/{incident_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def event(self, incident_id: str, kind: str) -> dict[str, Any] | None:
        response = await self.http.get(f"/incidents/{incident_id}/timeline")
        # A 503 says "try again shortly", as a client does: an incident last run by a worker
        # that was just killed answers once Temporal hands it to another (its sticky timeout).
        if response.status_code == 503:
            return None
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return next((e for e in items if e["kind"] == kind), None)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture
def playbooks(tmp_path: Path) -> Path:
    return playbook_dir(tmp_path / "playbooks")


@pytest.fixture
async def runs() -> AsyncIterator[list[TocsinUp]]:
    """Every ``tocsin up`` a test started; killed with its children if the test failed."""
    started: list[TocsinUp] = []
    yield started
    for run in started:
        await run.kill()


async def _tocsin(command: str, up: TocsinUp) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tocsin.cli",
        *("--api-url", up.api_url, "--data-dir", str(up.data_dir)),
        command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(),
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_up_keeps_open_incidents_and_their_deadlines_across_a_restart(
    tmp_path: Path, playbooks: Path, runs: list[TocsinUp]
) -> None:
    api_port, temporal_port = free_port(), free_temporal_port()
    first = TocsinUp(
        tmp_path, playbooks, name="up-1", api_port=api_port, temporal_port=temporal_port
    )
    runs.append(first)
    await first.start()
    await first.wait_until_up()
    token = first.api_token()
    assert (first.data_dir / "api-token").stat().st_mode & 0o777 == 0o600
    banner = first.text()
    assert first.api_url in banner
    assert first.temporal_address in banner
    assert f"http://127.0.0.1:{first.temporal_port + 1000}" in banner
    # Where the token is and its start: never the whole of it in the terminal's scrollback.
    assert token not in banner
    assert f"{token[:8]}... (the whole token is in {first.data_dir / 'api-token'})" in banner
    api = Api(first)

    acked = await api.declare("Payments API returns 500", "A")
    response = await api.http.post(f"/incidents/{acked['id']}/ack", json={"by": "ben"})
    assert response.status_code == 200, response.text

    breached = await api.declare("Checkout is down", "A")
    breach = await eventually(
        lambda: api.event(breached["id"], "breached"), 30, "level A incident breaching"
    )
    assert _at(breach["at"]) >= _at(breached["ack_deadline"])

    still_open = await api.declare("Support chat is failing", "C")
    deadline = _at(still_open["ack_deadline"])
    assert deadline - _at(still_open["declared_at"]) == timedelta(seconds=20)

    async def listing_all_three() -> str | None:
        out = await _tocsin("incidents", first)
        return out if all(i["id"] in out for i in (acked, breached, still_open)) else None

    listing = await eventually(listing_all_three, 15, "`tocsin incidents` listing all three")
    row = next(line for line in listing.splitlines() if line.startswith(acked["id"]))
    assert "acknowledged" in row
    assert row.endswith("ben")

    first_pids = set(first.pids())
    assert len(first_pids) >= 3
    assert await first.stop() == 0, first.text()
    assert [pid for pid in first_pids if alive(pid)] == []
    assert not listening(first.api_port)
    assert not listening(first.temporal_port)
    assert "tocsin up: stopping" in first.text()

    second = TocsinUp(
        tmp_path, playbooks, name="up-2", api_port=api_port, temporal_port=temporal_port
    )
    runs.append(second)
    await second.start()
    await second.wait_until_up()
    back_at = datetime.now(UTC)
    assert second.api_token() == token

    after = await api.get(still_open["id"])
    assert after["status"] == "triggered"
    assert _at(after["ack_deadline"]) == deadline
    breach = await eventually(
        lambda: api.event(still_open["id"], "breached"), 40, "level C incident breaching"
    )
    # The durable timer fires at the deadline set before the restart, not a fresh window later;
    # on a machine slow enough that the deadline passed while the stack was down, as soon as
    # it is back (a fresh window would be 20 s later than either).
    assert deadline <= _at(breach["at"]) < max(deadline, back_at) + timedelta(seconds=3)

    acked_after = await api.get(acked["id"])
    assert acked_after["status"] == "acknowledged"
    assert acked_after["acknowledged_by"] == "ben"
    assert acked_after["window_breached"] is False
    assert await api.event(acked["id"], "breached") is None
    assert (await api.get(breached["id"]))["window_breached"] is True

    second_pids = set(second.pids())
    assert await second.stop() == 0, second.text()
    assert [pid for pid in second_pids if alive(pid)] == []
    await api.http.aclose()


async def test_up_with_a_broken_playbook_dir_exits_nonzero_and_starts_nothing(
    tmp_path: Path, playbooks: Path, runs: list[TocsinUp]
) -> None:
    level_b = playbooks / "level-b.yaml"
    level_b.write_text(
        level_b.read_text(encoding="utf-8").replace("after: 2s", "after: 9s"), encoding="utf-8"
    )
    up = TocsinUp(tmp_path, playbooks)
    runs.append(up)

    await up.start()
    assert up.process is not None
    code = await asyncio.wait_for(up.process.wait(), STOP_DEADLINE)

    assert code != 0
    problem = next(line for line in up.text().splitlines() if str(level_b) in line)
    assert "escalation[0].after (9s) must be inside the response window (8s)" in problem
    assert not listening(up.api_port)
    assert not listening(up.temporal_port)
    assert not up.data_dir.exists()


async def test_sigkill_of_the_supervisor_leaves_no_process_behind(
    tmp_path: Path, playbooks: Path, runs: list[TocsinUp]
) -> None:
    up = TocsinUp(tmp_path, playbooks)
    runs.append(up)
    await up.start()
    await up.wait_until_up()
    assert up.process is not None
    children = up.pids()
    assert len(children) >= 3, children  # Temporal, worker, API

    os.kill(up.process.pid, signal.SIGKILL)
    await up.process.wait()

    await eventually(lambda: not any(alive(pid) for pid in children), within=20)
    assert not listening(up.api_port)
    assert not listening(up.temporal_port)


async def test_a_second_stack_on_the_same_data_directory_is_refused(
    tmp_path: Path, playbooks: Path, runs: list[TocsinUp]
) -> None:
    first = TocsinUp(tmp_path, playbooks, name="first")
    runs.append(first)
    await first.start()
    await first.wait_until_up()
    assert first.process is not None
    second = TocsinUp(tmp_path, playbooks, data_dir=first.data_dir, name="second")
    runs.append(second)

    await second.start()
    assert second.process is not None
    code = await asyncio.wait_for(second.process.wait(), STOP_DEADLINE)

    assert code != 0
    assert (
        f"the data directory {first.data_dir} is in use by another tocsin up "
        f"(pid {first.process.pid})" in second.text()
    )
    assert not listening(second.temporal_port)
    assert not listening(second.api_port)
    assert (await Api(first).get_ready()) == 200  # the first one is untouched


async def test_a_worker_that_dies_is_restarted_and_pages_go_on(
    tmp_path: Path, playbooks: Path, runs: list[TocsinUp]
) -> None:
    up = TocsinUp(tmp_path, playbooks)
    runs.append(up)
    await up.start()
    await up.wait_until_up()
    worker = up.pid_of("worker")
    log = up.data_dir / "logs" / "worker.log"
    # The API can answer before the worker polls: the killed worker may never have logged it.
    logged = len(log.read_text(encoding="utf-8"))

    os.kill(worker, signal.SIGKILL)

    def restarted() -> int | None:
        with contextlib.suppress(RuntimeError):
            pid = up.pid_of("worker")
            return pid if pid != worker else None
        return None

    await eventually(restarted, within=30)
    assert "worker exited with code -9; restarting it in 1s (restart 1 of 5" in up.text()

    # A declaration waits for a worker to take it; on a busy machine the new worker's start
    # can outlast the API's bound, and the declaration would be a 503.
    def polling_again() -> bool:
        return "worker polling task queue" in log.read_text(encoding="utf-8")[logged:]

    await eventually(polling_again, within=60, what="the new worker polling")
    api = Api(up)
    incident = await api.declare("Checkout failing", "B")
    paged = await eventually(lambda: api.event(incident["id"], "paged"), within=30)
    assert paged["kind"] == "paged"
    assert not up.exited


async def test_up_with_two_workers_pages_each_incident_once_even_with_one_gone(
    tmp_path: Path, playbooks: Path, runs: list[TocsinUp]
) -> None:
    up = TocsinUp(tmp_path, playbooks, workers=2)
    runs.append(up)
    await up.start()
    await up.wait_until_up()
    assert "workers          2 (--workers)" in up.text()
    workers = up.pids_of("worker")
    assert len(workers) == 2
    api = Api(up)

    first = [await api.declare(f"Service {n} down", "B") for n in range(4)]
    os.kill(workers[0], signal.SIGKILL)  # the other takes every queue until it is back
    # Tasks Temporal had already handed to the killed worker's polls wait out their timeout,
    # so a declaration just after the kill can be a 503; a client tries again, as here.
    later = [await api.declare_patiently(f"Queue {n} stuck", "B") for n in range(2)]
    for incident in first + later:
        incident_id = incident["id"]
        # Twice a second: the API's per-token limit (600 a minute) must not be what answers.
        # An effects batch the killed worker had taken stops beating and is retried on the
        # other worker 20 s later (ADR 0029), not after its 2-minute timeout.
        await eventually(lambda: api.event(incident_id, "paged"), within=90, every=0.5)  # noqa: B023

    for incident in first + later:
        response = await api.http.get(f"/incidents/{incident['id']}/timeline")
        kinds = [e["kind"] for e in response.json()["items"]]
        assert kinds.count("paged") == 1, kinds
        assert kinds.count("declared") == 1, kinds
