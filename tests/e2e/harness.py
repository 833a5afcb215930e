"""The real processes of the end-to-end tests, a metrics exporter whose values a test sets, and
the test variants of the shipped Prometheus and Alertmanager configs.

Prometheus and Alertmanager are the Debian packages (``make system-deps`` installs them); they
run on free loopback ports with their state and logs in the test's temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import yaml

from tests.processes import descendants, free_port, free_temporal_port

_T = TypeVar("_T")

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "alerts" / "prometheus" / "rules.yml"
RULES_TEST = REPO / "alerts" / "prometheus" / "rules_test.yml"
ALERTMANAGER_CONFIG = REPO / "alerts" / "alertmanager" / "alertmanager.yml"
SERVICES = REPO / "alerts" / "services.yaml"

# Generous: CI machines have two cores, and Temporal, the worker, the API, Prometheus and
# Alertmanager all start on them at once.
START_DEADLINE = 90.0
STOP_DEADLINE = 60.0
LOG_TAIL = 6000

# Fast enough that an alert reaches tocsin a few seconds after the metric changes.
GROUP_WAIT = "1s"
GROUP_INTERVAL = "1s"
FOR = "1s"


def shortened_rules(text: str) -> str:
    """The shipped rules with every ``for:`` cut to ``FOR`` and nothing else changed."""
    rules = len(re.findall(r"^\s*- alert:", text, flags=re.MULTILINE))
    shortened, count = re.subn(r"^(\s+for:)\s*\S+\s*$", rf"\1 {FOR}", text, flags=re.MULTILINE)
    assert count == rules, f"{count} `for:` lines for {rules} rules; every rule needs one"
    return shortened


def alertmanager_config(text: str, api_url: str, token_file: Path) -> str:
    """The shipped config pointed at this test's tocsin, with test timings."""
    config: dict[str, Any] = yaml.safe_load(text)
    route = config["route"]
    route.update(group_wait=GROUP_WAIT, group_interval=GROUP_INTERVAL, repeat_interval="1h")
    receiver = next(r for r in config["receivers"] if r["name"] == route["receiver"])
    (webhook,) = receiver["webhook_configs"]
    # Only the host and port change: the path and everything else are what users deploy.
    shipped = urlsplit(webhook["url"])
    webhook["url"] = urlunsplit(shipped._replace(netloc=urlsplit(api_url).netloc))
    webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return yaml.safe_dump(config, sort_keys=False)


def binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` not found on PATH: install it with `apt-get install -y {package}` "
            "(`make system-deps` does this)"
        )
    return path


def eventually(
    check: Callable[[], _T | None],
    within: float,
    what: str,
    report: Callable[[], str] | None = None,
) -> _T:
    """Poll ``check`` until it returns something other than None or False.

    On timeout the assertion carries ``report()``: with five processes involved, the logs are
    the only way to tell which hop lost the alert."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            details = f"\n{report()}" if report is not None else ""
            raise AssertionError(f"{what}: not within {within:.0f}s{details}")
        time.sleep(0.2)


def tail(path: Path, limit: int = LOG_TAIL) -> str:
    if not path.is_file():
        return f"--- {path}: (no file)"
    return f"--- {path}\n{path.read_text(encoding='utf-8', errors='replace')[-limit:]}"


class Exporter:
    """A scrape target serving gauges in the Prometheus text format; ``set`` changes them."""

    def __init__(self) -> None:
        self._values: dict[str, float] = {}
        self._lock = threading.Lock()
        render = self.render

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """One line per scrape each second would drown the test's output."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set(self, metric: str, value: float, **labels: str) -> None:
        shown = ",".join(f'{key}="{val}"' for key, val in sorted(labels.items()))
        with self._lock:
            self._values[f"{metric}{{{shown}}}" if shown else metric] = value

    def render(self) -> str:
        with self._lock:
            return "".join(f"{series} {value}\n" for series, value in sorted(self._values.items()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class Server:
    """A Prometheus or Alertmanager process, its output in a log file."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_until_ready(self) -> None:
        def ready() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited while starting\n{tail(self.log)}")
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(f"{self.url}/-/ready", timeout=2.0).status_code == 200
            return False

        eventually(ready, START_DEADLINE, f"{self.name} ready", lambda: tail(self.log))

    def json(self, path: str) -> Any:
        response = httpx.get(f"{self.url}{path}", timeout=5.0)
        response.raise_for_status()
        return response.json()

    def get(self, path: str) -> str:
        """A GET for the failure report: never raises, a dead server is part of the story."""
        try:
            return httpx.get(f"{self.url}{path}", timeout=5.0).text
        except httpx.HTTPError as error:
            return f"GET {path}: {error!r}"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}


class TocsinUp:
    """One run of ``tocsin up`` in a subprocess, as tests/integration/test_up.py runs it."""

    def __init__(self, tmp_path: Path, playbooks: Path, env: dict[str, str]) -> None:
        self.data_dir = tmp_path / "data"
        self.playbooks = playbooks
        self.env = env
        self.output = tmp_path / "tocsin-up.out"
        self.api_port = free_port()
        self.temporal_port = free_temporal_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
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
                env=self.env,
            )

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def wait_until_up(self) -> None:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"tocsin up exited early\n{self.report()}")
            return "tocsin is up" in self.text()

        eventually(ready, START_DEADLINE, "tocsin up printing that it is up", self.report)

    def api_token(self) -> str:
        return (self.data_dir / "api-token").read_text(encoding="utf-8").strip()

    def report(self) -> str:
        logs = sorted((self.data_dir / "logs").glob("*.log"))
        return "\n".join([tail(self.output), *(tail(path) for path in logs)])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for pid in descendants(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.kill()
        self.process.wait()


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start ``server`` and stop it however the test ends."""
    try:
        server.start()
        server.wait_until_ready()
        yield server
    finally:
        server.stop()
