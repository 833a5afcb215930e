"""``make bench`` in miniature: the whole benchmark runs end to end on a real ``tocsin up``
with tiny sizes. It checks that every figure is there and that nothing was duplicated or
lost; speed is the benchmark's business, not the test's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_and_reports_every_figure(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            *("--notifications", "24", "--groups", "6", "--concurrency", "6"),
            *("--open-incidents", "10", "--rate", "4", "--duration", "2"),
            *("--timer-incidents", "4", "--memory-incidents", "10", "--memory-bursts", "1"),
            *("--storm-groups", "6"),
            *("--window", "6", "--workers", "2", "--quiet-within", "30"),
            "--no-profile",
            *("--results-dir", str(tmp_path), "--docs", str(docs)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    (result_file,) = tmp_path.glob("*.json")
    result = json.loads(result_file.read_text())
    figures = result["figures"]
    assert set(figures) >= {
        *("intake", "storm", "paged_storm", "latency", "timers", "memory", "memory_bare"),
        "profile",
    }
    intake = figures["intake"]
    for mode in ("update_with_start", "signal_with_start"):
        assert intake[mode]["incidents_opened"] == 6
        assert intake[mode]["non_2xx_answers"] == 0
    assert intake["duplicates"] == 0
    assert intake["ratio_to_bare"] > 0
    storm = figures["storm"]
    assert storm["incidents_opened"] == 6
    assert storm["duplicates"] == 0
    assert storm["non_2xx_answers"] == 0
    # Six pages, bundled: one at once and the rest together, or all together when an earlier
    # phase's page had opened the window; on a machine busy with the rest of the suite the
    # pages can straddle two windows. Never one message per page.
    assert 1 <= storm["messages_to_primary"] < storm["incidents_opened"]
    assert storm["tasks_per_new_incident"]["activity_tasks"] >= 1
    paged = figures["paged_storm"]
    assert paged["workers"] == 2
    assert paged["pages_per_incident"] == {"none": 0, "one": 6, "more": 0}
    assert paged["bare_paged"] == 6
    assert paged["ratio_to_bare"] > 0
    assert paged["worker_cpu_per_new_incident_s"] > 0
    assert figures["latency"]["lost"] == 0
    assert figures["latency"]["bare_alert_to_page_s"]["n"] == 8
    assert figures["latency"]["alert_to_page_s"]["n"] == 8
    assert figures["timers"]["breaches_recorded"] == 4
    memory = figures["memory"]
    assert memory["incidents_opened"] == 10
    # On a worker of its own, which nothing but the memory phase's warm-up has used.
    assert memory["workers"] == 1
    assert memory["open_incidents_before"] == 10
    assert memory["open_incidents_after"] == 20
    # Sampled once the workers had finished the phase's work, not in the middle of it.
    assert memory["quiet_wait_before_s"] is not None
    assert memory["quiet_wait_after_s"] is not None
    # Bare Temporal's same burst, on a fresh bare worker of its own, every workflow paged.
    bare = figures["memory_bare"]
    assert (bare["workflows_opened"], bare["paged"]) == (10, 10)
    assert bare["quiet_wait_after_s"] is not None
    assert bare["max_cached_workflows"] == 20
    assert {"cores", "memory_bytes", "python", "temporal_cli"} <= set(result["machine"])
    assert len(result["targets"]) == 12
    assert "| intake" in docs.read_text()
    assert "python -m bench.run" in result["command"]
