"""``python -m bench.memory`` in miniature: a few incidents on one worker in the script's
process, with a cache smaller than them, and tracemalloc's breakdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_the_memory_measurement_reports_what_the_cached_workflows_hold() -> None:
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "bench.memory"),
            *("--incidents", "4", "--max-cached", "3", "--trace", "--touch"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report = json.loads(completed.stdout[completed.stdout.index("\n{") :])
    assert report["incidents"] == 4
    assert report["max_cached_workflows"] == 3
    assert report["rss_after_mib"] > 0
    assert report["traced"]["by_file"]
    assert report["touch_cpu_ms_per_incident"] > 0
