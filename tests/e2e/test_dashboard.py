"""The Grafana dashboard (alerts/grafana/) against a running stack: every panel's query runs on
a real Prometheus scraping a real ``tocsin up`` (its API and its worker, as compose has
Prometheus do), and every metric a query names is one the stack's /metrics declares.
Grafana itself is not packaged here; its provisioning files are checked for what it reads."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from testkit.playbooks import playbook_dir
from testkit.processes import free_port
from testkit.stack import TocsinUp, clean_env
from testkit.waiting import eventually
from tests.e2e.harness import REPO, SELF_RULES, Server, binary, running

pytestmark = pytest.mark.integration

GRAFANA = REPO / "alerts" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "tocsin.json"
# Grafana's own variables, as Grafana would fill them in for a one-hour view.
GRAFANA_VARIABLES = {"$__range": "1h", "$__rate_interval": "1m", "$__interval": "15s"}
METRIC = re.compile(r"\b(tocsin_[a-z_]+|up)\b(?!\s*\()")


def _targets() -> list[dict[str, Any]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target for panel in dashboard["panels"] for target in panel["targets"]]


def _declared(exposition: str) -> set[str]:
    """The sample names a /metrics page declares (with # TYPE), samples or not."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            suffixes = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}
            names.update(name + suffix for suffix in suffixes.get(kind, ("",)))
            names.add(name)
    return names


def test_the_dashboard_and_its_provisioning_fit_together() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    (source,) = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"]
    uids = {panel["datasource"]["uid"] for panel in dashboard["panels"]}
    uids |= {target["datasource"]["uid"] for target in _targets()}
    assert uids == {source["uid"]}
    assert source["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "tocsin.yml").read_text(encoding="utf-8")
    )["providers"]
    compose = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    assert f"./alerts/grafana/dashboards:{provider['options']['path']}:ro" in compose
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert len(set(titles)) == len(titles)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(set(ids)) == len(ids)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[tuple[TocsinUp, int]]:
    worker_port = free_port()
    up = TocsinUp(
        tmp_path,
        playbook_dir(tmp_path / "playbooks"),
        env=clean_env(TOCSIN_WORKER_METRICS_PORT=str(worker_port)),
    )
    try:
        await up.start()
        await up.wait_until_up()
        yield up, worker_port
    finally:
        await up.stop()
        await up.kill()


@pytest.fixture
async def prometheus(tmp_path: Path, stack: tuple[TocsinUp, int]) -> AsyncIterator[Server]:
    up, worker_port = stack
    directory = tmp_path / "prometheus"
    directory.mkdir()
    config = directory / "prometheus.yml"
    api = up.api_url.removeprefix("http://")
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(SELF_RULES)],
                "scrape_configs": [
                    {"job_name": "tocsin-api", "static_configs": [{"targets": [api]}]},
                    {
                        "job_name": "tocsin-worker",
                        "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}],
                    },
                ],
            }
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


async def test_every_panel_queries_metrics_the_running_stack_serves(
    stack: tuple[TocsinUp, int], prometheus: Server
) -> None:
    up, worker_port = stack

    async def both_scraped() -> bool:
        targets = (await prometheus.json("/api/v1/targets"))["data"]["activeTargets"]
        return sorted(t["health"] for t in targets) == ["up", "up"]

    await eventually(both_scraped, 30, "Prometheus scraping the API and the worker", every=0.5)
    # `up` is Prometheus's own; every other name must be declared by the API or a worker.
    declared = {"up"}
    async with httpx.AsyncClient(timeout=5.0) as http:
        for url in (f"{up.api_url}/metrics", f"http://127.0.0.1:{worker_port}/metrics"):
            declared |= _declared((await http.get(url)).text)

    queried: set[str] = set()
    for target in _targets():
        expr = target["expr"]
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        answer = await prometheus.http.get("/api/v1/query", params={"query": expr})
        assert answer.status_code == 200, f"{target['expr']}: {answer.text}"
        assert answer.json()["status"] == "success"
        queried |= set(METRIC.findall(target["expr"]))

    assert queried - declared == set()
    # The panels the issue asks for read these; a rename would blank them silently.
    assert queried >= {
        "tocsin_incidents_open",
        "tocsin_time_to_ack_seconds_sum",
        "tocsin_time_to_ack_seconds_count",
        "tocsin_time_to_ack_seconds_bucket",
        "tocsin_response_window_breaches_total",
        "tocsin_statement_breaches_total",
        "tocsin_notifications_failed_total",
        "tocsin_statement_deliveries",
        "tocsin_slack_rate_limited_total",
        "tocsin_alerts_received_total",
        "tocsin_alert_notifications_unavailable_total",
        "tocsin_temporal_up",
        "tocsin_task_queue_pollers",
        "tocsin_oncall_people",
    }
