"""The suite's own scheduling: the tests of one ``xdist_group`` run on one worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GROUPED = """
import os
import pytest


@pytest.mark.xdist_group("one-at-a-time")
@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    seen = os.path.join(os.environ["RAN_IN"], f"ran-{n}")
    with open(seen, "w") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_a_group_runs_on_one_worker_under_loadgroup(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_grouped.py").write_text(GROUPED)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_ADDOPTS": "", "RAN_IN": str(tmp_path)}
    args = ["-p", "testkit.xdist_groups", "-p", "no:cacheprovider", "-n", "3"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "--dist", "loadgroup", "-q", str(suite)],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    workers = {(tmp_path / f"ran-{n}").read_text() for n in range(6)}
    assert len(workers) == 1, workers


def test_the_suite_loads_the_group_names(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.has_plugin("testkit.xdist_groups")
