"""End-to-end fixtures: the shipped rules and Alertmanager config, run by the real Prometheus and
Alertmanager against a real ``tocsin up``, with only the timings and addresses changed."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml

from testkit.playbooks import playbook_dir
from testkit.processes import free_port
from testkit.stack import TocsinUp, clean_env
from tests.e2e.harness import (
    ALERTMANAGER_CONFIG,
    RULES,
    SERVICES,
    Exporter,
    Server,
    alertmanager_config,
    binary,
    running,
    shortened_rules,
)


@pytest.fixture
def playbooks(tmp_path: Path) -> Path:
    """Second-scale windows so the test ends; the alert-driven transitions are the ones under
    test: A is only mitigated when its alerts clear (a person confirms the fix), C is resolved."""
    return playbook_dir(tmp_path / "playbooks")


@pytest.fixture
def intake_token() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture
async def tocsin(tmp_path: Path, playbooks: Path, intake_token: str) -> AsyncIterator[TocsinUp]:
    """Started, not yet up: Prometheus and Alertmanager start while it does (the slowest part),
    which is safe because nothing fires before the test sets the exporter's values."""
    env = clean_env(TOCSIN_INTAKE_TOKEN=intake_token, TOCSIN_SERVICES_FILE=str(SERVICES))
    up = TocsinUp(tmp_path, playbooks, env=env)
    try:
        await up.start()
        yield up
    finally:
        await up.stop()
        await up.kill()


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    served = Exporter()
    served.start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
async def alertmanager(
    tmp_path: Path, tocsin: TocsinUp, intake_token: str
) -> AsyncIterator[Server]:
    directory = tmp_path / "alertmanager"
    directory.mkdir()
    token_file = directory / "tocsin-intake-token"
    token_file.write_text(intake_token + "\n", encoding="utf-8")
    os.chmod(token_file, 0o600)
    config = directory / "alertmanager.yml"
    config.write_text(
        alertmanager_config(
            ALERTMANAGER_CONFIG.read_text(encoding="utf-8"), tocsin.api_url, token_file
        ),
        encoding="utf-8",
    )
    port = free_port()
    server = Server(
        "Alertmanager",
        [
            binary("prometheus-alertmanager", "prometheus-alertmanager"),
            f"--config.file={config}",
            f"--storage.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # Empty turns off the HA gossip, which would otherwise take port 9094.
            "--cluster.listen-address=",
            # Debug logs each notification attempt and its outcome: the failure report needs it.
            "--log.level=debug",
        ],
        port,
        tmp_path / "alertmanager.log",
    )
    async with running(server):
        yield server


@pytest.fixture
async def prometheus(
    tmp_path: Path, exporter: Exporter, alertmanager: Server
) -> AsyncIterator[Server]:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    rules = directory / "rules.yml"
    rules.write_text(shortened_rules(RULES.read_text(encoding="utf-8")), encoding="utf-8")
    config = directory / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {
                    "scrape_interval": "1s",
                    "scrape_timeout": "1s",
                    "evaluation_interval": "1s",
                },
                "rule_files": [str(rules)],
                "alerting": {
                    "alertmanagers": [
                        {"static_configs": [{"targets": [f"127.0.0.1:{alertmanager.port}"]}]}
                    ]
                },
                "scrape_configs": [
                    {"job_name": "shop", "static_configs": [{"targets": [exporter.target]}]}
                ],
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    port = free_port()
    server = Server(
        "Prometheus",
        [
            binary("prometheus", "prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
        tmp_path / "prometheus.log",
    )
    async with running(server):
        yield server
