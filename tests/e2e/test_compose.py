"""docker-compose.yml, .env.example and the Dockerfile as an operator meets them: compose
accepts the documented variables and refuses to start without any required one; every
long-running service has a health check the others wait on, limits and named volumes; every
secret is required. This machine has no Docker engine, so compose is validated with
``docker-compose config``, the same check ``docker compose up`` runs first."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import REPO, binary
from tocsin.binaries import DYNAMIC_CONFIG

COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
PROMETHEUS_CONFIG = REPO / "alerts" / "prometheus" / "prometheus.yml"
SECRET = re.compile(r"PASSWORD|TOKEN|SECRET")
REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(:[?-])?([^}]*)\}")


def _example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    return dict(pairs)


def _compose(env_file: Path) -> subprocess.CompletedProcess[str]:
    # Only PATH and HOME from this process: a TOCSIN_* variable of the test run must not
    # stand in for one the env file lacks.
    return subprocess.run(
        [binary("docker-compose", "docker-compose"), "--env-file", str(env_file), "config", "-q"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": str(env_file.parent)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))[
        "services"
    ]
    return services


def _long_running() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _services().items() if s.get("restart") != "no"}


def _references() -> dict[str, set[str]]:
    """Each variable compose reads, with how: ``:?`` required, ``:-`` defaulted."""
    found: dict[str, set[str]] = {}
    for line in COMPOSE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        for name, how, _ in REFERENCE.findall(line):
            found.setdefault(name, set()).add(how)
    return found


def test_compose_accepts_the_variables_of_env_example(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    shutil.copy(ENV_EXAMPLE, env)

    result = _compose(env)

    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_its_variables(tmp_path: Path) -> None:
    empty = tmp_path / ".env"
    empty.write_text("", encoding="utf-8")

    result = _compose(empty)

    assert result.returncode != 0
    assert "Missing mandatory value" in result.stderr


@pytest.mark.parametrize("name", sorted(n for n, hows in _references().items() if ":?" in hows))
def test_each_required_variable_missing_is_named(tmp_path: Path, name: str) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "".join(f"{key}={value}\n" for key, value in _example().items() if key != name),
        encoding="utf-8",
    )

    result = _compose(env)

    assert result.returncode != 0
    assert f"set {name}" in result.stderr


def test_every_variable_is_in_env_example_and_every_example_is_used() -> None:
    assert set(_references()) == set(_example())


def test_every_secret_is_required() -> None:
    references = _references()
    secrets = {name for name in references if SECRET.search(name)}
    assert secrets >= {
        "POSTGRES_PASSWORD",
        "TOCSIN_API_TOKEN",
        "INTAKE_TOKEN_FILE",
        "OPERATORS_WEBHOOK_TOKEN_FILE",
        "TOCSIN_SLACK_BOT_TOKEN",
        "TOCSIN_SLACK_SIGNING_SECRET",
        "TOCSIN_SMTP_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
    }
    for name in secrets:
        assert references[name] == {":?"}, f"{name} must be ${{{name}:?why}} everywhere"
    # No secret reaches a container by a literal value either.
    for service in _services().values():
        for key, value in (service.get("environment") or {}).items():
            if SECRET.search(key) and key != "TOCSIN_INTAKE_TOKEN_FILE":
                assert re.fullmatch(r".*\$\{\w+:\?.+\}.*", str(value)), key


def test_every_long_running_service_has_a_health_check_the_others_wait_for() -> None:
    services = _services()
    long_running = _long_running()
    assert set(long_running) == {
        "postgresql",
        "temporal",
        "temporal-ui",
        "tocsin-worker",
        "tocsin-api",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    for name, service in long_running.items():
        check = service.get("healthcheck")
        assert check, name
        assert check["test"], name
        assert not check.get("disable"), name
        assert service["restart"] == "unless-stopped", name
    for name, service in services.items():
        for needed, how in (service.get("depends_on") or {}).items():
            expected = (
                "service_healthy" if needed in long_running else "service_completed_successfully"
            )
            assert how == {"condition": expected}, f"{name} -> {needed}"


def test_temporal_runs_with_the_settings_tocsin_up_gives_its_dev_server() -> None:
    """ADR 0037: pages start eagerly in production as they do under `tocsin up`."""
    temporal = _services()["temporal"]
    mounted: dict[str, str] = {}
    for volume in temporal["volumes"]:
        source, target, _ = str(volume).split(":")
        mounted[target] = source
    target = "/etc/temporal/" + temporal["environment"]["DYNAMIC_CONFIG_FILE_PATH"]
    assert target in mounted
    config = yaml.safe_load((REPO / mounted[target]).read_text(encoding="utf-8"))
    for key, value in DYNAMIC_CONFIG.items():
        assert config[key] == [{"value": value, "constraints": {}}], key


def test_resource_limits_and_named_volumes() -> None:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    named = set(document["volumes"])
    for name, service in _long_running().items():
        limits = service["deploy"]["resources"]["limits"]
        assert limits.keys() == {"cpus", "memory"}, name
    stateful = {"postgresql": "postgresql-data", "prometheus": "prometheus-data",
                "alertmanager": "alertmanager-data", "grafana": "grafana-data"}  # fmt: skip
    for name, volume in stateful.items():
        sources = {str(v).split(":", 1)[0] for v in _services()[name]["volumes"]}
        assert volume in sources, name
        assert volume in named, name


def test_prometheus_scrapes_every_api_replica_and_worker_on_their_ports(tmp_path: Path) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    services = _services()
    worker_port = int(services["tocsin-worker"]["environment"]["TOCSIN_WORKER_METRICS_PORT"])
    api_port = int(services["tocsin-api"]["environment"]["TOCSIN_API_PORT"])
    assert jobs["tocsin-worker"]["dns_sd_configs"] == [
        {"names": ["tocsin-worker"], "type": "A", "port": worker_port, "refresh_interval": "15s"}
    ]
    assert jobs["tocsin-api"]["dns_sd_configs"] == [
        {"names": ["tocsin-api"], "type": "A", "port": api_port, "refresh_interval": "15s"}
    ]
    # The rule files compose mounts are the ones the config loads; promtool checks it all.
    mounts = dict(
        str(v).split(":")[1::-1]
        for v in services["prometheus"]["volumes"]
        if str(v).startswith("./")
    )
    assert set(config["rule_files"]) <= set(mounts)
    local = dict(config, rule_files=[str(REPO / mounts[path]) for path in config["rule_files"]])
    checked = tmp_path / "prometheus.yml"
    checked.write_text(yaml.safe_dump(local), encoding="utf-8")
    result = subprocess.run(
        [binary("promtool", "prometheus"), "check", "config", str(checked)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _packages() -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    include: list[str] = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return include


def test_the_image_holds_every_package_runs_as_a_user_and_checks_its_health() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    packages = _packages()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", text, flags=re.MULTILINE))
    assert copied == {p.rstrip("*") for p in packages}
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert {f"!{p}/" for p in copied} <= set(ignored)
    assert re.search(r"^USER tocsin$", text, flags=re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*\n\s+CMD \[", text, flags=re.MULTILINE)
    assert text.index("USER tocsin") < text.index('CMD ["tocsin", "api"]')


def test_the_installed_package_carries_every_file_of_its_packages(tmp_path: Path) -> None:
    """The image installs tocsin as a wheel, not from the source tree: a statement template
    or a dashboard left out of the wheel is missing in production only."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("tocsin-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    packages = [p.rstrip("*") for p in _packages()]
    tracked = subprocess.run(
        [_git(), "ls-files", "--", *packages],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked
    assert [f for f in tracked if f not in packaged] == []


def _git() -> str:
    found = shutil.which("git")
    assert found is not None, "git is not on PATH"
    return found
