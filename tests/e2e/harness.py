"""The real processes of the end-to-end tests, a metrics exporter whose values a test sets, and
the test variants of the shipped Prometheus and Alertmanager configs.

Prometheus and Alertmanager are the Debian packages (``make system-deps`` installs them); they
run on free loopback ports with their state and logs in the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import threading
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import yaml

from testkit.stack import tail
from testkit.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "alerts" / "prometheus" / "rules.yml"
RULES_TEST = REPO / "alerts" / "prometheus" / "rules_test.yml"
SELF_RULES = REPO / "alerts" / "prometheus" / "tocsin.yml"
ALERTMANAGER_CONFIG = REPO / "alerts" / "alertmanager" / "alertmanager.yml"
SERVICES = REPO / "alerts" / "services.yaml"

# Generous: CI machines have two cores, and Temporal, the worker, the API, Prometheus and
# Alertmanager all start on them at once.
START_DEADLINE = 90.0

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
    shipped_host = urlsplit(
        next(r for r in config["receivers"] if r["name"] == route["receiver"])["webhook_configs"][
            0
        ]["url"]
    ).netloc
    # Every receiver that reaches tocsin (the intake, the watchdog's heartbeat): only the host
    # and port change, the path and everything else are what users deploy.
    for receiver in config["receivers"]:
        for webhook in receiver.get("webhook_configs", []):
            shipped = urlsplit(webhook["url"])
            if shipped.netloc != shipped_host:
                continue
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
        self.process: asyncio.subprocess.Process | None = None
        self.http = httpx.AsyncClient(base_url=self.url, timeout=5.0)

    async def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def wait_until_ready(self) -> None:
        async def ready() -> bool:
            if self.process is None or self.process.returncode is not None:
                raise AssertionError(f"{self.name} exited while starting\n{tail(self.log)}")
            with contextlib.suppress(httpx.TransportError):
                return (await self.http.get("/-/ready")).status_code == 200
            return False

        await eventually(ready, START_DEADLINE, f"{self.name} ready", lambda: tail(self.log))

    async def json(self, path: str) -> Any:
        response = await self.http.get(path)
        response.raise_for_status()
        return response.json()

    async def get(self, path: str) -> str:
        """A GET for the failure report: never raises, a dead server is part of the story."""
        try:
            return (await self.http.get(path)).text
        except httpx.HTTPError as error:
            return f"GET {path}: {error!r}"

    async def stop(self) -> None:
        await self.http.aclose()
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def running(server: Server) -> AsyncIterator[Server]:
    """Start ``server`` and stop it however the test ends."""
    try:
        await server.start()
        await server.wait_until_ready()
        yield server
    finally:
        await server.stop()
