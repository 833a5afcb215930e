"""``tocsin up`` as a user runs it: a real Temporal dev server, worker and API as processes.

The playbooks here have second-scale windows so that breaches happen within the test; the
restart check proves that response windows are durable timers, not in-memory sleeps.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from playbooks.loader import DEFAULT_DIR
from tests.processes import descendants, free_port, free_temporal_port

pytestmark = pytest.mark.integration

_T = TypeVar("_T")

START_DEADLINE = 90.0
STOP_DEADLINE = 60.0

LEVELS = {
    "a": """
level: A
name: Company-wide emergency (test timings)
response_window: 4s
escalation:
  - after: 1s
    page: [secondary]
on_breach:
  page: [manager]
  repeat_every: 2s
update_every: 1h
""",
    "b": """
level: B
name: Major service emergency (test timings)
response_window: 8s
escalation:
  - after: 2s
    page: [secondary]
on_breach:
  page: [manager]
  repeat_every: 4s
update_every: 1h
""",
    "c": """
level: C
name: Single-channel incident (test timings)
response_window: 20s
escalation:
  - after: 5s
    page: [secondary]
on_breach:
  page: [manager]
  repeat_every: 5s
update_every: 1h
""",
}


def eventually(check: Callable[[], _T | None], within: float, what: str) -> _T:
    """Poll ``check`` until it returns something other than None or False."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f}s")
        time.sleep(0.1)


def _listening(port: int) -> bool:
    with socket.socket() as conn:
        return conn.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}


class Up:
    """One run of ``tocsin up`` in a subprocess, its output in a file."""

    def __init__(self, tmp_path: Path, data_dir: Path, playbooks: Path, run: int) -> None:
        self.data_dir = data_dir
        self.playbooks = playbooks
        self.output = tmp_path / f"up-{run}.out"
        self.api_port = 0
        self.temporal_port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, api_port: int, temporal_port: int) -> None:
        self.api_port, self.temporal_port = api_port, temporal_port
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tocsin.cli",
                    "up",
                    "--api-port",
                    str(api_port),
                    "--temporal-port",
                    str(temporal_port),
                    "--data-dir",
                    str(self.data_dir),
                    "--playbooks",
                    str(self.playbooks),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
            )

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_until_up(self) -> None:
        assert self.process is not None

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"tocsin up exited early:\n{self.text()}\n{self._logs()}")
            return "tocsin is up" in self.text()

        eventually(ready, START_DEADLINE, "tocsin up printing that it is up")

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for pid in descendants(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.kill()
        self.process.wait()

    def _logs(self) -> str:
        logs = self.data_dir / "logs"
        if not logs.is_dir():
            return ""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(logs.glob("*.log"))
        )


class Api:
    def __init__(self, port: int, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )

    def declare(self, title: str, level: str) -> dict[str, Any]:
        response = self.http.post(
            "/incidents",
            json={"title": title, "level": level, "type": "service_outage", "by": "monitor"},
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def get(self, incident_id: str) -> dict[str, Any]:
        response = self.http.get(f"/incidents/{incident_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"/incidents/{incident_id}/timeline")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def event(self, incident_id: str, kind: str) -> dict[str, Any] | None:
        return next((e for e in self.timeline(incident_id) if e["kind"] == kind), None)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture
def playbooks(tmp_path: Path) -> Path:
    directory = tmp_path / "playbooks"
    directory.mkdir()
    for name in ("matrix.yaml", "roster.yaml"):
        shutil.copy(DEFAULT_DIR / name, directory / name)
    for letter, text in LEVELS.items():
        (directory / f"level-{letter}.yaml").write_text(text.lstrip(), encoding="utf-8")
    return directory


@pytest.fixture
def runs() -> Iterator[list[Up]]:
    """Every ``tocsin up`` a test started; killed with its children if the test failed."""
    started: list[Up] = []
    yield started
    for run in started:
        run.kill()


def test_up_keeps_open_incidents_and_their_deadlines_across_a_restart(
    tmp_path: Path, playbooks: Path, runs: list[Up]
) -> None:
    data_dir = tmp_path / "data"
    api_port, temporal_port = free_port(), free_temporal_port()

    first = Up(tmp_path, data_dir, playbooks, run=1)
    runs.append(first)
    first.start(api_port, temporal_port)
    first.wait_until_up()
    token = (data_dir / "api-token").read_text(encoding="utf-8").strip()
    assert (data_dir / "api-token").stat().st_mode & 0o777 == 0o600
    banner = first.text()
    assert f"http://127.0.0.1:{api_port}" in banner
    assert f"127.0.0.1:{temporal_port}" in banner
    assert f"http://127.0.0.1:{temporal_port + 1000}" in banner
    assert token in banner
    api = Api(api_port, token)

    acked = api.declare("Payments API returns 500", "A")
    response = api.http.post(f"/incidents/{acked['id']}/ack", json={"by": "ben"})
    assert response.status_code == 200, response.text

    breached = api.declare("Checkout is down", "A")
    breach = eventually(
        lambda: api.event(breached["id"], "breached"), 30, "level A incident breaching"
    )
    assert _at(breach["at"]) >= _at(breached["ack_deadline"])

    still_open = api.declare("Support chat is failing", "C")
    deadline = _at(still_open["ack_deadline"])
    assert deadline - _at(still_open["declared_at"]) == timedelta(seconds=20)

    listing = eventually(
        lambda: (
            out
            if all(
                i["id"] in (out := _tocsin("incidents", api_port, data_dir))
                for i in (acked, breached, still_open)
            )
            else None
        ),
        15,
        "`tocsin incidents` listing all three",
    )
    row = next(line for line in listing.splitlines() if line.startswith(acked["id"]))
    assert "acknowledged" in row
    assert row.endswith("ben")

    first_pids = set(descendants(first.process.pid)) if first.process else set()
    assert len(first_pids) >= 3
    assert first.stop() == 0, first.text()
    assert [pid for pid in first_pids if _alive(pid)] == []
    assert not _listening(api_port)
    assert not _listening(temporal_port)
    assert "tocsin up: stopping" in first.text()

    second = Up(tmp_path, data_dir, playbooks, run=2)
    runs.append(second)
    second.start(api_port, temporal_port)
    second.wait_until_up()
    assert (data_dir / "api-token").read_text(encoding="utf-8").strip() == token

    after = api.get(still_open["id"])
    assert after["status"] == "triggered"
    assert _at(after["ack_deadline"]) == deadline
    breach = eventually(
        lambda: api.event(still_open["id"], "breached"), 40, "level C incident breaching"
    )
    # The durable timer fires at the deadline set before the restart, not a fresh window later.
    assert deadline <= _at(breach["at"]) < deadline + timedelta(seconds=3)

    acked_after = api.get(acked["id"])
    assert acked_after["status"] == "acknowledged"
    assert acked_after["acknowledged_by"] == "ben"
    assert acked_after["window_breached"] is False
    assert api.event(acked["id"], "breached") is None
    assert api.get(breached["id"])["window_breached"] is True

    second_pids = set(descendants(second.process.pid)) if second.process else set()
    assert second.stop() == 0, second.text()
    assert [pid for pid in second_pids if _alive(pid)] == []


def _tocsin(command: str, api_port: int, data_dir: Path) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tocsin.cli",
            command,
            "--api-url",
            f"http://127.0.0.1:{api_port}",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_up_with_a_broken_playbook_dir_exits_nonzero_and_starts_nothing(
    tmp_path: Path, playbooks: Path, runs: list[Up]
) -> None:
    level_b = playbooks / "level-b.yaml"
    level_b.write_text(
        level_b.read_text(encoding="utf-8").replace("after: 2s", "after: 9s"), encoding="utf-8"
    )
    data_dir = tmp_path / "data"
    api_port, temporal_port = free_port(), free_temporal_port()
    up = Up(tmp_path, data_dir, playbooks, run=1)
    runs.append(up)

    up.start(api_port, temporal_port)
    assert up.process is not None
    code = up.process.wait(STOP_DEADLINE)

    assert code != 0
    problem = next(line for line in up.text().splitlines() if str(level_b) in line)
    assert "escalation[0].after (9s) must be inside the response window (8s)" in problem
    assert not _listening(api_port)
    assert not _listening(temporal_port)
    assert not data_dir.exists()
