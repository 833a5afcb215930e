"""Worker CPU per new incident, alone: the paged storm's measurement without the other phases
or the bare baseline (issue 22's "≤ 80 ms" figure, as ``bench/ANALYSIS.md`` measures it).

    python -m bench.cpu --out result.json [--groups 100] [--profile worker.pyspy.txt]

One worker, 5 incidents to warm up, then ``--groups`` new level-B groups with 50 in flight,
pages unbundled, the fake Slack answering. The worker's user + system CPU is read from /proc
before the storm and once every incident is recorded and the worker is quiet; also per thread
(the event loop's is the process's first), with the one-minute load average at both ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.run import (
    PRIMARY,
    Profiler,
    Run,
    Sizes,
    all_opened,
    cpu_seconds,
    first_pages,
    incidents_of,
    load,
    messages_to,
    next_groups,
    notification,
    page_counts,
    post_all,
    quiet,
    run_on,
    set_bundle_window,
    until,
    wait_recorded_groups,
)
from bench.stack import bench_stack
from testkit.fake_slack import FakeSlack, serve_fake_slack

_TICKS = 100  # USER_HZ: /proc's clock ticks on Linux


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of each thread of ``pid`` so far, by name and id ("MainThread" for the
    event loop's)."""
    threads: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rpartition(")")[2].split()
            name = (task / "comm").read_text().strip()
        except FileNotFoundError:
            continue  # ended meanwhile
        label = "MainThread" if task.name == str(pid) else f"{name}:{task.name}"
        threads[label] = (int(fields[11]) + int(fields[12])) / _TICKS
    return threads


async def settled(run: Run, worker: int, calm: float = 5.0) -> None:
    """Until the worker is quiet and Slack has had no call for ``calm`` seconds: on a busy
    machine the worker can idle a while waiting on the dev server with work still to do."""
    while True:
        await quiet([worker])
        calls = len(run.fake.calls)
        await asyncio.sleep(calm)
        if len(run.fake.calls) == calls:
            return


def transactions(pid: int) -> dict[str, int]:
    """The worker's records transactions so far, where an instrument outside tocsin counts
    them (``CPU_TX_DIR``: a ``sitecustomize`` listening to SQLAlchemy's ``begin``)."""
    folder = os.environ.get("CPU_TX_DIR")
    path = Path(folder or ".") / f"tx-{pid}.json"
    if folder is None or not path.exists():
        return {}
    counts: dict[str, int] = json.loads(path.read_text())
    return counts


async def storm(run: Run, count: int) -> dict[str, Any]:
    groups = next_groups(run, count)
    [worker] = run.stack.pids_of("worker")
    await quiet([worker])
    load_start = load()
    cpu_before, threads_before = cpu_seconds([worker]), thread_cpu(worker)
    tx_before = transactions(worker)
    calls_before = len(run.fake.calls)
    started = time.monotonic()
    posted = await post_all(run, [notification(g, "B") for g in groups], wait=False)
    await all_opened(run, groups)
    incidents = [incident for incident, _ in incidents_of(run, groups)]
    await until(lambda: all(i in first_pages(run.fake) for i in incidents), 300)
    paged = [at for i, at in first_pages(run.fake).items() if i in incidents]
    await wait_recorded_groups(run, groups)
    await settled(run, worker)
    cpu = cpu_seconds([worker]) - cpu_before
    threads_after = thread_cpu(worker)
    await asyncio.sleep(1.0)  # the instrument writes its counts twice a second
    tx_after = transactions(worker)
    per_thread = {
        name: (seconds - threads_before.get(name, 0.0)) / count * 1000
        for name, seconds in threads_after.items()
        if seconds - threads_before.get(name, 0.0) > 0
    }
    calls = run.fake.calls[calls_before:]
    methods = Counter(call.method for call in calls)
    return {
        "groups": count,
        "slack_calls_per_new_incident": {m: n / count for m, n in sorted(methods.items())},
        "slack_non_200": sum(call.status != 200 for call in calls),
        "worker_cpu_per_new_incident_ms": cpu / count * 1000,
        "per_thread_ms": dict(sorted(per_thread.items(), key=lambda kv: -kv[1])),
        "load_average_1m": [load_start, load()],
        "transactions_per_new_incident": {
            kind: (tx_after[kind] - tx_before.get(kind, 0)) / count for kind in tx_after
        },
        # Since the first POST was sent (first_pages' times are time.monotonic()'s).
        "all_paged_after_s": max(paged) - started if paged else None,
        "pages_per_incident": page_counts(run.fake, incidents),
        "non_2xx_answers": sum(n for s, n in posted.statuses.items() if not 200 <= s < 300),
    }


async def measure(groups: int, profile: Path | None) -> dict[str, Any]:
    sizes = Sizes(storm_groups=groups, workers=1, profile=profile is not None)
    async with serve_fake_slack() as fake:
        for name in ("incidents", "tech-support", "customer-service", "brand-pr", "leadership"):
            fake.add_channel(name)
        with tempfile.TemporaryDirectory(prefix="tocsin-cpu-") as workdir:
            stack = bench_stack(Path(workdir), fake.base_url, window=30, workers=1)
            await stack.start()
            try:
                await stack.wait_until_up()
                return await _measure(sizes, stack, fake, groups, profile)
            finally:
                await stack.stop()


async def _measure(
    sizes: Sizes, stack: Any, fake: FakeSlack, groups: int, profile: Path | None
) -> dict[str, Any]:
    async with run_on(stack, fake, sizes) as run:
        set_bundle_window(run, "0s")
        await asyncio.sleep(1.5)  # mtime resolution: the worker sees the edit
        warm = await storm(run, 5)
        profiler = Profiler(stack.pids_of("worker")[0], profile) if profile else None
        started = time.monotonic()
        result = await storm(run, groups)
        result["seconds"] = time.monotonic() - started
        result["warm_up_ms"] = warm["worker_cpu_per_new_incident_ms"]
        result["messages_to_primary"] = messages_to(fake, PRIMARY)
        if profiler is not None:
            profiler.stop()
        return result


# Where the event loop's thread spends its busy samples: the first category whose frame is on
# the stack, in this order.
CATEGORIES = [
    ("idle (select)", ("EpollSelector.select",)),
    ("records (SQLAlchemy, aiosqlite)", ("adapters/records", "sqlalchemy/", "aiosqlite/")),
    ("Slack HTTP (slack_sdk, aiohttp)", ("slack_sdk/", "aiohttp/", "aiohappyeyeballs/")),
    ("who is on call", ("workflows/rota.py", "domain/oncall.py", "domain/rules/oncall.py")),
    ("workflow activations", ("temporalio/worker/_workflow",)),
    ("Temporal activity plumbing", ("temporalio/",)),
]


def shares(raw: Path) -> dict[str, float]:
    """Share of the event loop thread's busy samples (idle excluded) per category, from
    py-spy's raw output (a line per stack: frames joined by ``;``, then the count)."""
    counts: dict[str, int] = {}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit() or not stack.startswith("_run_module_as_main"):
            continue  # another thread's (aiosqlite's, the SDK's)
        category = next(
            (name for name, marks in CATEGORIES if any(m in stack for m in marks)), "other"
        )
        counts[category] = counts.get(category, 0) + int(samples)
    busy = sum(n for name, n in counts.items() if name != "idle (select)")
    return {name: n / busy for name, n in sorted(counts.items(), key=lambda kv: -kv[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("cpu.json"))
    parser.add_argument("--profile", type=Path, default=None, help="py-spy raw output")
    parser.add_argument("--shares", type=Path, default=None, help="only summarise a profile")
    args = parser.parse_args()
    if args.shares is not None:
        for name, share in shares(args.shares).items():
            print(f"{share:7.1%}  {name}")
        return
    result = asyncio.run(measure(args.groups, args.profile))
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
