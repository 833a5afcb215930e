"""``python -m bench.memory`` in miniature: a few incidents on one worker in the script's
process, with a cache smaller than them, and tracemalloc's breakdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def bench_memory(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m bench.memory`` with ``args``, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "bench.memory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def measure(*args: str) -> dict[str, Any]:
    """``python -m bench.memory`` with ``args``: the report it prints last."""
    completed = bench_memory(*args)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    printed = "\n" + completed.stdout  # the report's first line may be the output's first
    report: dict[str, Any] = json.loads(printed[printed.rindex("\n{") + 1 :])
    return report


def test_the_memory_measurement_reports_what_the_cached_workflows_hold() -> None:
    report = measure("--incidents", "4", "--max-cached", "3", "--trace", "--touch")

    assert report["incidents"] == 4
    assert report["max_cached_workflows"] == 3
    assert report["rss_after_mib"] > 0
    assert report["traced"]["by_file"]
    assert report["touch_cpu_ms_per_incident"] > 0


def test_a_paced_run_on_the_stack_samples_its_course_until_every_incident_is_recorded() -> None:
    # The 10,000-incident run's command, in miniature.
    report = measure(
        *("--stack", "--incidents", "12", "--rate", "6"),
        *("--bundle-window", "0s", "--level", "C"),
    )

    shown = json.dumps({k: v for k, v in report.items() if k != "samples"})
    assert (report["incidents_opened"], report["level"], report["bundle_window"]) == (12, "C", "0s")
    assert report["open_incidents_after"] >= 12, shown
    assert report["samples"][-1]["recorded"] == 12, report["samples"]
    # The last of 12 at 6 a second goes out 11/6 s after the first; the report rounds to 0.1 s.
    assert report["all_posted_after_s"] >= round(11 / 6, 1), shown


def test_bursts_on_the_stack_are_each_sampled_quiet_the_next_from_where_the_last_ended() -> None:
    # The second burst's growth is what more open incidents add, once the first has filled the
    # cache; the commands in bench/ANALYSIS.md, in miniature, bare Temporal's bursts beside.
    report = measure(
        *("--stack", "--incidents", "3", "--bursts", "2", "--level", "C"),
        *("--max-cached", "50", "--bare"),
    )

    [second] = report["later_bursts"]
    assert (report["incidents_opened"], report["level"]) == (3, "C")
    assert (second["incidents_opened"], second["level"]) == (3, "C")
    assert second["worker_rss_before_bytes"] == report["worker_rss_after_bytes"]
    assert report["quiet_wait_after_s"] is not None
    assert second["quiet_wait_after_s"] is not None
    # The warm-up's ten, then three and three more, none of them resolved.
    assert report["open_incidents_after"] >= 13
    assert second["open_incidents_after"] >= 16
    bare = report["bare"]
    [bare_second] = bare["later_bursts"]
    assert (bare["workflows_opened"], bare["paged"]) == (3, 3)
    # The bare worker caches as many workflows as tocsin's was given.
    assert (report["max_cached_workflows"], bare["max_cached_workflows"]) == (50, 50)
    assert (bare_second["workflows_opened"], bare_second["paged"]) == (3, 3)
    assert bare_second["worker_rss_before_bytes"] == bare["worker_rss_after_bytes"]
    assert bare_second["quiet_wait_after_s"] is not None


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--stack", "--bursts", "0"], "at least 1"),
        (["--stack", "--bursts", "2", "--rate", "5"], "without --rate"),
        (["--bursts", "2"], "with --stack"),
    ],
)
def test_bursts_that_cannot_be_run_are_refused_before_anything_starts(
    args: list[str], named: str
) -> None:
    completed = bench_memory(*args)
    assert completed.returncode == 2
    assert "error: --bursts:" in completed.stderr, completed.stderr
    assert named in completed.stderr, completed.stderr


def test_a_bare_baseline_without_bursts_on_the_stack_is_refused() -> None:
    completed = bench_memory("--bare", "--incidents", "3")
    assert completed.returncode == 2
    assert "error: --bare: with --stack and without --rate" in completed.stderr, completed.stderr
