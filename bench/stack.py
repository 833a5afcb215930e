"""The embedded stack under measurement: ``tocsin up`` in a subprocess on free loopback ports,
with a temporary data directory, a benchmark playbook directory and the fake Slack."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from playbooks.loader import DEFAULT_DIR
from tests.processes import descendants, free_port, free_temporal_port

INTAKE_TOKEN = "bench-intake-token"
API_TOKEN = "bench-api-token"
BOT_TOKEN = "xoxb-test-token"

# Level C keeps a 30-second window for the timer-accuracy run; A and B keep their real
# windows so that nothing else breaches while the other figures are measured.
LEVEL_C = """\
level: C
name: Single-channel incident, benchmark timings (30 s window)
response_window: 30s
escalation: []
on_breach:
  page: [manager]
  repeat_every: 1h
update_every: 2h
on_alerts_cleared: resolved
reopen_within: 30m
"""


def bench_playbooks(directory: Path) -> Path:
    shutil.copytree(DEFAULT_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (directory / "level-c.yaml").write_text(LEVEL_C, encoding="utf-8")
    return directory


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Stack:
    def __init__(self, workdir: Path, slack_url: str) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.playbooks = bench_playbooks(workdir / "playbooks")
        self.api_port = free_port()
        self.temporal_port = free_temporal_port()
        self.output = workdir / "tocsin-up.out"
        self.slack_url = slack_url
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def database(self) -> Path:
        return self.data_dir / "tocsin.db"

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            TOCSIN_API_TOKEN=API_TOKEN,
            TOCSIN_INTAKE_TOKEN=INTAKE_TOKEN,
            TOCSIN_SLACK_BOT_TOKEN=BOT_TOKEN,
            TOCSIN_SLACK_SIGNING_SECRET="bench-signing-secret",
            TOCSIN_SLACK_API_URL=self.slack_url,
            # Every page goes to the same few people here; Slack's per-channel pacing would
            # measure the pacing, not tocsin.
            TOCSIN_SLACK_MIN_INTERVAL_SECONDS="0",
            TOCSIN_INTAKE_TIMEOUT_SECONDS="60",
        )
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tocsin.cli",
                    "up",
                    "--api-port",
                    str(self.api_port),
                    "--temporal-port",
                    str(self.temporal_port),
                    "--data-dir",
                    str(self.data_dir),
                    "--playbooks",
                    str(self.playbooks),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    async def wait_until_up(self, within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        while "tocsin is up" not in self.output.read_text(errors="replace"):
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"tocsin up exited early:\n{self.output.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"tocsin up did not start:\n{self.output.read_text()}")
            await asyncio.sleep(0.2)
        async with httpx.AsyncClient() as http:
            while (await http.get(f"{self.api_url}/readyz")).status_code != 200:
                await asyncio.sleep(0.2)

    def pid_of(self, role: str) -> int:
        """The worker's or the API's process id (``role`` is "worker" or "api")."""
        assert self.process is not None
        for pid, cmdline in descendants(self.process.pid).items():
            if f"tocsin.cli {role}" in cmdline:
                return pid
        raise RuntimeError(f"no {role} process under tocsin up")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for pid in descendants(self.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait()
