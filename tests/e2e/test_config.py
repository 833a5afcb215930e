"""The shipped Prometheus rules and Alertmanager config pass the upstream checkers, the rules
fire with the labels tocsin grades by (alerts/prometheus/*_test.yml), and each alert is routed
where it belongs: service alerts to tocsin, tocsin's alerts about itself to its operators."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.catalog import load_catalog
from domain.durations import parse_duration
from playbooks.loader import load_heartbeats
from tests.e2e.harness import (
    ALERTMANAGER_CONFIG,
    REPO,
    RULES,
    RULES_TEST,
    SELF_RULES,
    alertmanager_config,
    binary,
    shortened_rules,
)

PROMETHEUS_DIR = REPO / "alerts" / "prometheus"
RULE_FILES = sorted(
    p
    for p in PROMETHEUS_DIR.glob("*.yml")
    if not p.stem.endswith("_test") and p.stem != "prometheus"
)
RULE_TESTS = sorted(PROMETHEUS_DIR.glob("*_test.yml"))
ALERTMANAGER_CONFIGS = sorted((REPO / "alerts" / "alertmanager").glob("*.yml"))


def _check(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _alerts(path: Path) -> list[dict[str, Any]]:
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_every_rule_file_is_checked_and_unit_tested() -> None:
    assert {p.name for p in RULE_FILES} == {"rules.yml", "tocsin.yml"}
    tested = {
        name
        for test in RULE_TESTS
        for name in yaml.safe_load(test.read_text(encoding="utf-8"))["rule_files"]
    }
    assert tested == {p.name for p in RULE_FILES}
    assert RULES_TEST in RULE_TESTS


@pytest.mark.parametrize("rules", RULE_FILES, ids=lambda p: p.name)
def test_rules_pass_promtool_check(rules: Path) -> None:
    _check([binary("promtool", "prometheus"), "check", "rules", str(rules)])


@pytest.mark.parametrize("tests", RULE_TESTS, ids=lambda p: p.name)
def test_rules_unit_tests_pass(tests: Path) -> None:
    _check([binary("promtool", "prometheus"), "test", "rules", str(tests)])


def test_every_alert_is_unit_tested() -> None:
    tested = {
        case["alertname"]
        for test in RULE_TESTS
        for group in yaml.safe_load(test.read_text(encoding="utf-8"))["tests"]
        for case in group.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    shipped = {rule["alert"] for path in RULE_FILES for rule in _alerts(path)}
    assert shipped - tested == set()


@pytest.mark.parametrize("config", ALERTMANAGER_CONFIGS, ids=lambda p: p.name)
def test_alertmanager_config_passes_amtool_check(config: Path) -> None:
    _check([binary("amtool", "prometheus-alertmanager"), "check-config", str(config)])


def _receiver(labels: dict[str, str]) -> str:
    result = subprocess.run(
        [
            binary("amtool", "prometheus-alertmanager"),
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_CONFIG}",
            *(f"{key}={value}" for key, value in labels.items()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_tocsins_alerts_about_itself_never_reach_tocsin() -> None:
    for rule in _alerts(SELF_RULES):
        labels = {"alertname": rule["alert"], **rule["labels"]}
        assert _receiver(labels) == "operators", rule["alert"]
    for rule in _alerts(RULES):
        labels = {"alertname": rule["alert"], **rule.get("labels", {})}
        expected = "tocsin-watchdog" if rule["alert"] == "Watchdog" else "tocsin"
        assert _receiver(labels) == expected, rule["alert"]


def test_the_watchdog_beats_a_heartbeat_monitor_more_often_than_it_must() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    route = next(r for r in config["route"]["routes"] if r["receiver"] == "tocsin-watchdog")
    (webhook,) = next(r for r in config["receivers"] if r["name"] == "tocsin-watchdog")[
        "webhook_configs"
    ]
    assert webhook["url"].endswith("/api/v1/heartbeats/watchdog")
    monitor = load_heartbeats().get("watchdog")
    assert monitor is not None
    assert parse_duration(route["repeat_interval"]) < monitor.interval


def test_the_slo_rules_hold_each_service_to_its_catalog_objective() -> None:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    records = [rule for group in groups for rule in group["rules"] if "record" in rule]
    objectives = {
        rule["labels"]["service"]: float(rule["expr"].removeprefix("vector(").removesuffix(")"))
        for rule in records
        if rule["record"] == "service:slo_objective:ratio"
    }
    catalog = {
        name: service.slo
        for name, service in load_catalog().services.items()
        if service.slo is not None
    }
    assert objectives == catalog
    for window in ("5m", "30m", "1h", "6h", "30d"):
        recorded = {
            rule["labels"]["service"]
            for rule in records
            if rule["record"] == f"service:slo_errors:ratio_rate{window}"
        }
        assert recorded == set(catalog), window


def test_the_configs_the_e2e_test_derives_are_valid_too(tmp_path: Path) -> None:
    # amtool check-config does not open the credentials file, so it need not exist here.
    token = tmp_path / "tocsin-intake-token"
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        alertmanager_config(
            ALERTMANAGER_CONFIG.read_text(encoding="utf-8"), "http://127.0.0.1:18080", token
        ),
        encoding="utf-8",
    )
    rules = tmp_path / "rules.yml"
    rules.write_text(shortened_rules(RULES.read_text(encoding="utf-8")), encoding="utf-8")

    _check([binary("amtool", "prometheus-alertmanager"), "check-config", str(config)])
    _check([binary("promtool", "prometheus"), "check", "rules", str(rules)])
    assert "http://127.0.0.1:18080/api/v1/alerts/alertmanager" in config.read_text()
