"""``tocsin up`` as a user runs it, in a subprocess on free loopback ports, for the tests and
the benchmark alike."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import httpx

from testkit.processes import descendants, free_port, free_temporal_port
from testkit.waiting import eventually

START_DEADLINE = 120.0
STOP_DEADLINE = 60.0
LOG_TAIL = 6000


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``TOCSIN_*`` setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(extra)
    return env


def tail(path: Path, limit: int = LOG_TAIL) -> str:
    if not path.is_file():
        return f"--- {path}: (no file)"
    return f"--- {path}\n{path.read_text(encoding='utf-8', errors='replace')[-limit:]}"


class TocsinUp:
    """One run of ``tocsin up``; its output goes to ``output``. Ports are free ones unless
    given, so a second run on the same data directory can take the first one's ports."""

    def __init__(
        self,
        workdir: Path,
        playbooks: Path,
        *,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
        api_port: int | None = None,
        temporal_port: int | None = None,
        name: str = "tocsin-up",
        workers: int | None = 1,
    ) -> None:
        self.data_dir = data_dir or workdir / "data"
        self.playbooks = playbooks
        self.env = clean_env() if env is None else env
        self.api_port = api_port or free_port()
        self.temporal_port = temporal_port or free_temporal_port()
        self.output = workdir / f"{name}.out"
        # One worker unless asked: the tests share a busy machine. None: the default (cores).
        self.workers = workers
        self.process: asyncio.subprocess.Process | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def database(self) -> Path:
        return self.data_dir / "tocsin.db"

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    async def start(self) -> None:
        with self.output.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tocsin.cli",
                "up",
                *("--api-port", str(self.api_port)),
                *("--temporal-port", str(self.temporal_port)),
                *("--data-dir", str(self.data_dir)),
                *("--playbooks", str(self.playbooks)),
                *(("--workers", str(self.workers)) if self.workers is not None else ()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=self.env,
            )

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    async def wait_until_up(self, within: float = START_DEADLINE) -> None:
        """Until the banner is printed and the API answers ``/readyz``."""

        def up() -> bool:
            if self.exited:
                raise AssertionError(f"tocsin up exited early\n{self.report()}")
            return "tocsin is up" in self.text()

        await eventually(up, within, "tocsin up printing that it is up", self.report, every=0.2)
        async with httpx.AsyncClient(timeout=5.0) as http:

            async def ready() -> bool:
                with contextlib.suppress(httpx.TransportError):
                    return (await http.get(f"{self.api_url}/readyz")).status_code == 200
                return False

            await eventually(ready, within, "the API ready", self.report, every=0.2)

    def api_token(self) -> str:
        return (self.data_dir / "api-token").read_text(encoding="utf-8").strip()

    def intake_token(self) -> str:
        return (self.data_dir / "intake-token").read_text(encoding="utf-8").strip()

    def pids(self) -> dict[int, str]:
        """Every process under this run, with its command line."""
        return descendants(self.process.pid) if self.process is not None else {}

    def pids_of(self, role: str) -> list[int]:
        """Every process of ``role`` ("worker" or "api")."""
        return sorted(pid for pid, cmd in self.pids().items() if f"tocsin.cli {role}" in cmd)

    def pid_of(self, role: str) -> int:
        """The worker's or the API's process id (``role`` is "worker" or "api")."""
        for pid, cmdline in self.pids().items():
            if f"tocsin.cli {role}" in cmdline:
                return pid
        raise RuntimeError(f"no {role} process under tocsin up")

    def report(self) -> str:
        logs = sorted((self.data_dir / "logs").glob("*.log"))
        return "\n".join([tail(self.output), *(tail(path) for path in logs)])

    async def stop(self) -> int | None:
        """Ctrl-C, as a user stops it; killed with its children if it does not stop."""
        if self.process is None or self.exited:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGINT)
        try:
            return await asyncio.wait_for(self.process.wait(), STOP_DEADLINE)
        except TimeoutError:
            await self.kill()
            raise

    async def kill(self) -> None:
        if self.process is None:
            return
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if not self.exited:
            self.process.kill()
        await self.process.wait()
