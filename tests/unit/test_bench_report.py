"""What ``make bench`` prints about worker memory: each burst of the memory phase named by
where it started, and each judged against the target on its own; a phase it cannot run is
refused before anything starts; the README's sizes are flags it takes."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from bench.run import arguments, main, table, targets
from tests.readme import README


def burst(opened: int, before: int, after_open: int, mib: tuple[float, float]) -> dict[str, Any]:
    return {
        "incidents_opened": opened,
        "level": "C",
        "open_incidents_before": before,
        "open_incidents_after": after_open,
        "worker_rss_before_bytes": int(mib[0] * 2**20),
        "worker_rss_after_bytes": int(mib[1] * 2**20),
        "worker_rss_busy_bytes": int(mib[1] * 2**20),
        "per_incident_kib": (mib[1] - mib[0]) * 1024 / opened,
        "quiet_wait_before_s": 40.0,
        "quiet_wait_after_s": 45.0,
        "all_recorded_after_s": 200.0,
    }


def test_each_memory_burst_is_reported_and_judged_on_its_own() -> None:
    first = burst(1000, 10, 1010, (150.0, 270.0))
    second = burst(1000, 1010, 2010, (270.0, 278.0))
    second["quiet_wait_after_s"] = None
    figures = {"memory": first | {"later_bursts": [second]}}

    rows = targets(figures)

    assert [(row["target"], row["measured"], row["met"]) for row in rows] == [
        (
            "≤ 40 KiB worker memory per open incident, the first 1,000 level C opened at "
            "once on a fresh worker (10 → 1,010 open)",
            "122.9 KiB",
            False,
        ),
        (
            "≤ 40 KiB worker memory per open incident, 1,000 more on that worker "
            "(1,010 → 2,010 open)",
            "8.2 KiB; the worker was not quiet when sampled",
            False,
        ),
    ]
    lines = table({"figures": figures}).splitlines()[2:]
    assert lines[0].startswith("| worker RSS once quiet, one worker, the first 1,000 level C")
    assert "150 → 270 MiB, 122.9 KiB per incident" in lines[0]
    assert "270 → 278 MiB, 8.2 KiB per incident" in lines[1]


def bare(opened: int, mib: tuple[float, float], quiet: float | None = 30.0) -> dict[str, Any]:
    return {
        "workflows_opened": opened,
        "paged": opened,
        "worker_rss_before_bytes": int(mib[0] * 2**20),
        "worker_rss_after_bytes": int(mib[1] * 2**20),
        "worker_rss_busy_bytes": int(mib[1] * 2**20),
        "per_workflow_kib": (mib[1] - mib[0]) * 1024 / opened,
        "quiet_wait_before_s": 20.0,
        "quiet_wait_after_s": quiet,
        "max_cached_workflows": 200,
    }


def test_each_memory_burst_is_set_beside_bare_temporals_same_burst() -> None:
    first = burst(1000, 10, 1010, (150.0, 270.0))
    second = burst(1000, 1010, 2010, (270.0, 278.0))
    figures = {
        "memory": first | {"later_bursts": [second]},
        "memory_bare": bare(1000, (66.0, 91.0)) | {"later_bursts": [bare(1000, (91.0, 91.5))]},
    }

    rows = targets(figures)

    assert [row["measured"] for row in rows] == [
        "122.9 KiB (bare Temporal 25.6 KiB, 4.8x)",
        # Under 1 KiB a ratio says nothing.
        "8.2 KiB (bare Temporal 0.5 KiB)",
    ]
    assert [row["met"] for row in rows] == [False, True]
    lines = table({"figures": figures}).splitlines()[2:]
    assert lines[0].endswith(
        "| 66 → 91 MiB, 25.6 KiB per workflow (1,000 signal-started workflows paging through "
        "one activity, then open with a timer; a fresh bare worker caching 200, as tocsin's) |"
    )
    assert "| 91 → 92 MiB, 0.5 KiB per workflow" in lines[1]


def test_a_bare_burst_sampled_busy_says_so() -> None:
    figures = {
        "memory": burst(1000, 10, 1010, (150.0, 180.0)),
        "memory_bare": bare(1000, (66.0, 91.0), quiet=None),
    }

    (row,) = targets(figures)

    assert row["measured"] == "30.7 KiB (bare Temporal 25.6 KiB, 1.2x, not quiet when sampled)"


def test_a_burst_within_the_target_from_quiet_samples_is_met() -> None:
    (row,) = targets({"memory": burst(1000, 10, 1010, (150.0, 180.0))})

    assert row["measured"] == "30.7 KiB"
    assert row["met"] is True


def test_a_memory_phase_of_no_bursts_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--memory-bursts", "0"])

    assert exit_.value.code == 2
    assert "--memory-bursts: at least 1" in capsys.readouterr().err


def test_the_readmes_benchmark_sizes_are_flags_the_benchmark_takes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    (example,) = re.findall(r'make bench BENCH_ARGS="([^"]*)"', README.read_text("utf-8"))

    assert arguments(shlex.split(example)).memory_bursts == 3
    with pytest.raises(SystemExit) as exit_:
        arguments(["--help"])
    assert exit_.value.code == 0
    assert "--memory-bursts" in capsys.readouterr().out
