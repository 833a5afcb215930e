"""``tocsin up``: the embedded stack on one machine, supervised by one process.

It starts a Temporal dev server (state in the data directory, so incidents survive a restart),
migrates the records database, then runs the worker and the API as child processes. Children
get their own process group: Ctrl-C reaches only this supervisor, which stops them in order
(API, worker, Temporal) so nothing in flight is cut off by Temporal vanishing first. Each
child also asks the kernel to kill it when the supervisor dies (``PR_SET_PDEATHSIG``), so a
SIGKILL of the supervisor leaves no orphans; a child that dies is restarted with backoff,
and one that keeps dying stops the stack with its name. The data directory is locked by the
stack using it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from adapters.heap import ALLOCATOR
from alerts.catalog import CatalogError, load_catalog
from playbooks.loader import validate_directory
from tocsin import binaries
from tocsin.settings import INTAKE_TOKEN_FILE, TOKEN_FILE, Settings
from workflows.connect import connect

TEMPORAL_DEADLINE = 60.0
API_DEADLINE = 60.0
STOP_TIMEOUT = 10.0
_POLL = 0.2
# A child that dies is started again after 1, 2, 4 … 30 s; dying this often this quickly, it
# is given up on and the stack stops.
RESTART_BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
RESTARTS_ALLOWED = 5
LOCK_FILE = "tocsin-up.lock"
_PR_SET_PDEATHSIG = 1


class StartupFailed(Exception):
    pass


def _die_with_parent() -> None:
    """Run in the child before exec: the kernel sends SIGKILL when the supervisor dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log: Path
    argv: list[str]
    stdout_to_terminal: bool = False
    env: dict[str, str] | None = None
    # When it died before, for the restart budget.
    deaths: list[float] = field(default_factory=list)

    @property
    def exited(self) -> bool:
        return self.process.returncode is not None

    def died(self) -> StartupFailed:
        return StartupFailed(
            f"{self.name} exited with code {self.process.returncode} while starting; see {self.log}"
        )


def ensure_token(data_dir: Path, name: str = TOKEN_FILE) -> str:
    """A token in ``<data-dir>/<name>`` (the API's, Alertmanager's), generated on first start
    and kept after."""
    path = data_dir / name
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
        path.unlink()
    token = secrets.token_urlsafe(32)
    # O_EXCL and the mode at creation: the token is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token


def busy_ports(host: str, ports: list[int]) -> list[int]:
    """Ports already taken on ``host``: starting there would fail, or worse, find a stranger."""
    taken = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                taken.append(port)
    return taken


def _local(host: str) -> str:
    """Where to reach a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


class Stack:
    def __init__(self, settings: Settings, temporal_port: int, temporal_bin: Path) -> None:
        self.settings = settings
        self.temporal_port = temporal_port
        self.temporal_bin = temporal_bin
        self.logs = settings.data_dir / "logs"
        self.children: list[Child] = []

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.temporal_port + 1000}"

    @property
    def api_url(self) -> str:
        return f"http://{_local(self.settings.api_host)}:{self.settings.api_port}"

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            TOCSIN_TEMPORAL_ADDRESS=self.temporal_address,
            TOCSIN_TEMPORAL_NAMESPACE="default",
            TOCSIN_DATA_DIR=str(self.settings.data_dir),
            TOCSIN_PLAYBOOKS_DIR=str(self.settings.playbooks_dir),
            TOCSIN_API_HOST=self.settings.api_host,
            TOCSIN_API_PORT=str(self.settings.api_port),
            PYTHONUNBUFFERED="1",
        )
        # Links in e-mails point at this stack, glibc's allocator keeps two arenas (ADR 0035)
        # and serves Python's objects too, so a trim can give back what a burst freed (ADR
        # 0039), unless the environment says otherwise.
        return {"TOCSIN_PUBLIC_URL": self.api_url} | ALLOCATOR | env

    async def _spawn(
        self,
        name: str,
        argv: list[str],
        log: Path,
        *,
        stdout_to_terminal: bool = False,
        env: dict[str, str] | None = None,
    ) -> Child:
        child = Child(name, await self._exec(argv, log, stdout_to_terminal, env), log, argv)
        child.stdout_to_terminal = stdout_to_terminal
        child.env = env
        self.children.append(child)
        return child

    async def _exec(
        self,
        argv: list[str],
        log: Path,
        stdout_to_terminal: bool,
        env: dict[str, str] | None = None,
    ) -> asyncio.subprocess.Process:
        with log.open("a", encoding="utf-8") as log_file:
            return await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=None if stdout_to_terminal else log_file,
                stderr=log_file,
                env={**self._child_env(), **(env or {})},
                process_group=0,
                preexec_fn=_die_with_parent,
            )

    async def restart(self, child: Child) -> None:
        child.process = await self._exec(child.argv, child.log, child.stdout_to_terminal, child.env)

    def _worker_env(self, index: int) -> dict[str, str]:
        """Each worker process serves its own Slack metrics: the next port for each one."""
        port = self.settings.worker_metrics_port
        return {} if port is None else {"TOCSIN_WORKER_METRICS_PORT": str(port + index)}

    @property
    def worker_logs(self) -> list[str]:
        return ["worker.log"] + [
            f"worker-{n}.log" for n in range(2, self.settings.worker_count() + 1)
        ]

    async def start(self) -> None:
        temporal = await self._spawn(
            "Temporal",
            [
                str(self.temporal_bin),
                "server",
                "start-dev",
                "--db-filename",
                str(self.settings.data_dir / "temporal.db"),
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.temporal_port),
                "--ui-port",
                str(self.temporal_port + 1000),
                "--namespace",
                "default",
                "--log-level",
                "warn",
                "--ui-disable-news-fetch",
                *binaries.dynamic_config_args(),
            ],
            self.logs / "temporal.log",
        )
        await self._wait_for_temporal(temporal)

        from adapters.records import migrate

        try:
            await migrate(self.settings.resolved_database_url())
        except Exception as exc:
            raise StartupFailed(f"the records migration failed: {exc}") from exc

        cli = [sys.executable, "-m", "tocsin.cli"]
        # The workers' stdout is the console notifier: pages show up in this terminal. Every
        # worker serves the task queue; the records database and Slack's pacing (ADR 0008)
        # are shared between them.
        workers = [
            await self._spawn(
                "worker" if n == 0 else f"worker {n + 1}",
                [*cli, "worker"],
                self.logs / log,
                stdout_to_terminal=True,
                env=self._worker_env(n),
            )
            for n, log in enumerate(self.worker_logs)
        ]
        api = await self._spawn("API", [*cli, "api"], self.logs / "api.log")
        await self._wait_for_api(api, workers)

    async def _wait_for_temporal(self, temporal: Child) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + TEMPORAL_DEADLINE
        while True:
            if temporal.exited:
                raise temporal.died()
            try:
                # connect() asks the server for its system info, so it succeeds only once
                # the frontend serves requests.
                await connect(self.temporal_address)
                return
            except RuntimeError:
                if loop.time() > give_up:
                    raise StartupFailed(
                        f"Temporal did not answer on {self.temporal_address} within "
                        f"{TEMPORAL_DEADLINE:.0f}s; see {temporal.log}"
                    ) from None
            await asyncio.sleep(_POLL)

    async def _wait_for_api(self, api: Child, workers: list[Child]) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + API_DEADLINE
        url = f"{self.api_url}/readyz"
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                for child in (api, *workers):
                    if child.exited:
                        raise child.died()
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(url)).status_code == 200:
                        return
                if loop.time() > give_up:
                    raise StartupFailed(
                        f"the API did not become ready at {url} within {API_DEADLINE:.0f}s; "
                        f"see {api.log} and {workers[0].log}"
                    )
                await asyncio.sleep(_POLL)

    async def watch(self) -> Child:
        """Wait until a child exits on its own and return it."""
        waits = {asyncio.ensure_future(child.process.wait()): child for child in self.children}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            return waits[next(iter(done))]
        finally:
            for task in waits:
                task.cancel()

    async def supervise(self, stopping: asyncio.Event) -> Child:
        """Restart children that die, with backoff; return the one that keeps dying."""
        loop = asyncio.get_running_loop()
        while True:
            died = await self.watch()
            now = loop.time()
            window = self.settings.restart_window_seconds
            died.deaths = [t for t in died.deaths if now - t < window] + [now]
            if len(died.deaths) > RESTARTS_ALLOWED:
                return died
            wait = RESTART_BACKOFF[min(len(died.deaths), len(RESTART_BACKOFF)) - 1]
            print(
                f"tocsin up: {died.name} exited with code {died.process.returncode}; "
                f"restarting it in {wait:g}s (restart {len(died.deaths)} of "
                f"{RESTARTS_ALLOWED} within {window / 60:g} minutes); see {died.log}",
                file=sys.stderr,
                flush=True,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), wait)
            if stopping.is_set():
                return died
            await self.restart(died)

    async def stop(self) -> None:
        """Stop the children in reverse start order: API, worker, then Temporal."""
        for child in reversed(self.children):
            await _terminate(child)


async def _terminate(child: Child) -> None:
    pgid = child.process.pid
    if not child.exited:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(child.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            print(f"{child.name} did not stop within {STOP_TIMEOUT:.0f}s; killing it", flush=True)
    # Anything the child left behind in its group goes too, so no port stays taken.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    await child.process.wait()


TOKEN_SHOWN = 8


def _banner(stack: Stack, token: str | None) -> str:
    s = stack.settings
    # Its start only: a terminal's scrollback and a tmux log keep what is printed.
    shown_token = (
        f"{token[:TOKEN_SHOWN]}... (the whole token is in {s.data_dir / TOKEN_FILE})"
        if token is not None
        else "(from TOCSIN_API_TOKEN)"
    )
    token_ref = f"$(cat {s.data_dir / TOKEN_FILE})" if token is not None else "$TOCSIN_API_TOKEN"
    intake_ref = (
        "$TOCSIN_INTAKE_TOKEN"
        if s.intake_token is not None and s.intake_token.get_secret_value()
        else str(s.data_dir / INTAKE_TOKEN_FILE)
    )
    return "\n".join(
        [
            "",
            "tocsin is up",
            f"  API              {stack.api_url}",
            f"  Temporal (gRPC)  {stack.temporal_address}",
            f"  Temporal UI      {stack.ui_url}",
            f"  data directory   {s.data_dir}",
            f"  playbooks        {s.playbooks_dir}",
            f"  workers          {len(stack.worker_logs)} (--workers)",
            f"  logs             {stack.logs}/ (temporal.log, {', '.join(stack.worker_logs)}, "
            "api.log)",
            f"  API token        {shown_token}",
            f"  Alertmanager     POST {stack.api_url}/api/v1/alerts/alertmanager with the "
            f"bearer token in {intake_ref}",
            f"  status page      {stack.api_url}/status",
            f"  lead console     {stack.api_url}/console (sign in with the API token)",
            f"  e-mail           {_mail_line(s)}",
            "",
            "Try:",
            f"  curl -X POST {stack.api_url}/api/v1/incidents \\",
            f'    -H "Authorization: Bearer {token_ref}" -H "Content-Type: application/json" \\',
            '    -d \'{"title": "Checkout is down", "level": "B", "type": "service_outage"}\'',
            f"  tocsin --api-url {stack.api_url} --data-dir {s.data_dir} incidents",
            "",
            "Pages appear below. Press Ctrl-C to stop.",
            "",
        ]
    )


def _mail_line(settings: Settings) -> str:
    if settings.smtp_host:
        return f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    return f"written to {settings.data_dir / 'outbox'}/ (set TOCSIN_SMTP_HOST to send)"


@dataclass(frozen=True)
class Prepared:
    settings: Settings
    token: str | None
    temporal_bin: Path
    lock: int


def _prepare(settings: Settings, temporal_port: int) -> Prepared:
    """Checks that need no process, and the data directory. Raises StartupFailed."""
    playbooks_dir = settings.playbooks_dir.resolve()
    problems = validate_directory(playbooks_dir)
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems)
        raise StartupFailed(f"the playbook directory {playbooks_dir} has problems:\n{lines}")
    try:
        load_catalog(settings.services_file)
    except CatalogError as exc:
        raise StartupFailed(f"the service catalog has problems: {exc}") from None
    try:
        temporal_bin = binaries.temporal_cli()
    except binaries.BinaryNotFound as exc:
        raise StartupFailed(str(exc)) from None
    ports = [temporal_port, temporal_port + 1000]
    taken = busy_ports("127.0.0.1", ports) + busy_ports(settings.api_host, [settings.api_port])
    if taken:
        listed = ", ".join(str(port) for port in taken)
        raise StartupFailed(f"port(s) already in use: {listed}; pick others with --*-port")
    data_dir = settings.data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    lock = _lock(data_dir)
    configured = settings.api_token is not None and settings.api_token.get_secret_value()
    token = None if configured else ensure_token(data_dir)
    if settings.intake_token is None or not settings.intake_token.get_secret_value():
        ensure_token(data_dir, INTAKE_TOKEN_FILE)
    resolved = settings.model_copy(update={"data_dir": data_dir, "playbooks_dir": playbooks_dir})
    return Prepared(resolved, token, temporal_bin, lock)


def _lock(data_dir: Path) -> int:
    """Hold the data directory for this stack: a second ``tocsin up`` on it would start a
    second Temporal on the same database. Released by the kernel when this process ends."""
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StartupFailed(
            f"the data directory {data_dir} is in use by another tocsin up (pid {holder}); "
            "stop it, or give this one another --data-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


async def run(settings: Settings, temporal_port: int) -> int:
    """Run the stack until SIGINT/SIGTERM (exit 0) or until a child dies (exit 1)."""
    try:
        prepared = _prepare(settings, temporal_port)
    except StartupFailed as exc:
        print(f"tocsin up: {exc}", file=sys.stderr, flush=True)
        return 2
    stack = Stack(prepared.settings, temporal_port, prepared.temporal_bin)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    stop_requested = asyncio.ensure_future(stopping.wait())
    try:
        starting = asyncio.ensure_future(stack.start())
        await asyncio.wait({starting, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            print("tocsin up: stopping before start-up finished", flush=True)
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return 0
        starting.result()
        print(_banner(stack, prepared.token), flush=True)
        watching = asyncio.ensure_future(stack.supervise(stopping))
        await asyncio.wait({watching, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if stop_requested.done():
            watching.cancel()
            print("tocsin up: stopping", flush=True)
            return 0
        died = watching.result()
        print(
            f"tocsin up: {died.name} keeps dying (exit code {died.process.returncode}, "
            f"{len(died.deaths)} times within "
            f"{stack.settings.restart_window_seconds / 60:g} minutes); see {died.log}. "
            "Stopping the rest.",
            file=sys.stderr,
            flush=True,
        )
        return 1
    except StartupFailed as exc:
        print(f"tocsin up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stop_requested.cancel()
        await stack.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
