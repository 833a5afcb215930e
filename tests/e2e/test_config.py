"""The shipped Prometheus rules and Alertmanager config pass the upstream checkers, and the
rules fire with the labels tocsin grades by (alerts/prometheus/rules_test.yml)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.harness import (
    ALERTMANAGER_CONFIG,
    RULES,
    RULES_TEST,
    alertmanager_config,
    binary,
    shortened_rules,
)


def _check(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_pass_promtool_check() -> None:
    _check([binary("promtool", "prometheus"), "check", "rules", str(RULES)])


def test_rules_unit_tests_pass() -> None:
    _check([binary("promtool", "prometheus"), "test", "rules", str(RULES_TEST)])


def test_alertmanager_config_passes_amtool_check() -> None:
    _check([binary("amtool", "prometheus-alertmanager"), "check-config", str(ALERTMANAGER_CONFIG)])


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
