"""End-to-end fixtures: the shipped rules and Alertmanager config, run by the real Prometheus and
Alertmanager against a real ``tocsin up``, with only the timings and addresses changed."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from playbooks.loader import DEFAULT_DIR
from tests.e2e.harness import (
    ALERTMANAGER_CONFIG,
    RULES,
    SERVICES,
    Exporter,
    Server,
    TocsinUp,
    alertmanager_config,
    binary,
    clean_env,
    running,
    shortened_rules,
)
from tests.processes import free_port

# Second-scale windows so the test ends; the alert-driven transitions are the ones under test:
# A is only mitigated when its alerts clear (a person confirms the fix), C is resolved.
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
on_alerts_cleared: mitigated
reopen_within: 2s
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
on_alerts_cleared: mitigated
reopen_within: 2s
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
on_alerts_cleared: resolved
reopen_within: 2s
""",
}


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
def intake_token() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture
def tocsin(tmp_path: Path, playbooks: Path, intake_token: str) -> Iterator[TocsinUp]:
    """Started, not yet up: Prometheus and Alertmanager start while it does (the slowest part),
    which is safe because nothing fires before the test sets the exporter's values."""
    env = clean_env()
    env.update(TOCSIN_INTAKE_TOKEN=intake_token, TOCSIN_SERVICES_FILE=str(SERVICES))
    up = TocsinUp(tmp_path, playbooks, env)
    try:
        up.start()
        yield up
    finally:
        up.stop()
        up.kill()


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    served = Exporter()
    served.start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def alertmanager(tmp_path: Path, tocsin: TocsinUp, intake_token: str) -> Iterator[Server]:
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
    with running(server):
        yield server


@pytest.fixture
def prometheus(tmp_path: Path, exporter: Exporter, alertmanager: Server) -> Iterator[Server]:
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
    with running(server):
        yield server
