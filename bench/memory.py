"""What one worker process holds per open incident, and what holds it.

    python -m bench.memory --incidents 300            # RSS growth per incident
    python -m bench.memory --incidents 300 --trace    # and tracemalloc's breakdown
    python -m bench.memory --stack --incidents 10000 --rate 5 --bundle-window 0s
    python -m bench.memory --stack --incidents 1000 --bursts 2 --level C
    python -m bench.memory --stack --incidents 1000 --level C --bare   # and bare Temporal's

A Temporal dev server of its own, one worker in this process (the production runner, or the
strict sandbox with ``--strict``; the console notifier, SQLite records) and level-B alert
groups opened through the same intake as the API's. The incidents stay open (nobody
acknowledges within the run), so every one of them is a cached workflow at the end. RSS is
read with tracemalloc off (its own bookkeeping would be counted); ``--trace`` is a second
measurement, for the breakdown only. ``--max-cached`` sets the worker's workflow cache: with
fewer slots than open incidents, the CPU figure includes the replays of evicted workflows
that a breach, a page or a new alert brings back. ``--stack --rate R`` opens R groups a
second rather than all at once (``--level``, B unless told), and samples its course every 30 s
(the 10,000-incident run). ``--bursts N`` opens ``--incidents`` at once N times and samples
each quietly: the first burst's growth holds what is bounded (the workflow cache filling, the
heap's high-water mark), a later one's what more open incidents add. With level C no earlier
burst's timer falls due within the hour; a level-B burst escalates 10 minutes later, inside the
next burst's sampling.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from adapters.console import ConsoleNotifier
from adapters.email import OutboxMailer
from adapters.records import RecordsStore
from adapters.webhooks import WebhookSender
from alerts.catalog import load_catalog
from alerts.models import WebhookPayload
from bench.baseline import PAGES_CHANNEL
from bench.run import (
    WARM_UP,
    Run,
    Sizes,
    bare_bursts,
    bursts,
    db,
    next_groups,
    notification,
    own_worker,
    post_all,
    quiet,
    set_bundle_window,
)
from bench.run import cpu_seconds as cpu_seconds_of
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_accounts, load_playbooks
from playbooks.roster import RosterSource
from playbooks.templates import load_templates
from testkit.fake_slack import serve_fake_slack
from testkit.processes import rss_bytes
from testkit.records import migrated_sqlite
from tocsin.binaries import temporal_cli
from workflows.config import CACHED_WORKFLOWS
from workflows.connect import data_converter
from workflows.incident.client import IncidentService
from workflows.worker import Outbound, build_worker

# Seconds between the progress samples of a paced run (--rate).
SAMPLE = 30.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def recorded(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        count: int = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
        return count


async def settle(database: Path, total: int, within: float = 600.0) -> None:
    """Until every incident is recorded and the process is idle (the last pages sent)."""
    deadline = time.monotonic() + within
    while recorded(database) < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {total} incidents recorded within {within:.0f}s")
        await asyncio.sleep(0.5)
    while time.monotonic() < deadline:
        before = cpu_seconds()
        await asyncio.sleep(1.0)
        if cpu_seconds() - before < 0.05:
            return


async def open_groups(
    service: IncidentService, first: int, count: int, concurrency: int = 20
) -> None:
    catalog = load_catalog()
    gate = asyncio.Semaphore(concurrency)

    async def one(group: int) -> None:
        async with gate:
            payload = WebhookPayload.model_validate(notification(group, "B"))
            await service.receive_alerts(payload, catalog)

    await asyncio.gather(*(one(g) for g in range(first, first + count)))


def second_alert(group: int) -> dict[str, Any]:
    """Another alert of an open incident's group: its workflow takes it (a repeat of the
    same alert would be answered by the API's deduplication without the worker)."""
    body = notification(group, "B")
    alert = body["alerts"][0]
    alert["fingerprint"] = f"{group:015x}2"
    alert["labels"]["instance"] = "second"
    return body


def by_type() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def breakdown(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, incidents: int
) -> dict[str, Any]:
    def top(key: str, count: int = 15) -> list[dict[str, Any]]:
        stats = after.compare_to(before, key)
        return [
            {
                "where": str(s.traceback[0]),
                "kib_per_incident": round(s.size_diff / incidents / 1024, 2),
                "blocks_per_incident": round(s.count_diff / incidents, 1),
            }
            for s in stats[:count]
        ]

    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return {
        "traced_kib_per_incident": round(total / incidents / 1024, 1),
        "by_file": top("filename"),
        "by_line": top("lineno", 25),
    }


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter,
        dev_server_existing_path=str(temporal_cli()),
        ip="127.0.0.1",
        dev_server_log_level="error",
    )
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-memory-"))
    database = workdir / "records.db"
    store = RecordsStore.from_url(await migrated_sqlite(database))
    playbooks = load_playbooks(DEFAULT_DIR)
    outbound = Outbound(
        mailer=OutboxMailer(workdir / "outbox"),
        webhooks=WebhookSender(allow_private=True),
        templates=load_templates(DEFAULT_DIR),
        accounts=load_accounts(DEFAULT_DIR),
        playbooks=playbooks,
        catalog=load_catalog(),
    )
    options: dict[str, Any] = {}
    if args.max_cached is not None:
        options["max_cached_workflows"] = args.max_cached
    notifier = ConsoleNotifier(log_path=workdir / "notifications.log")
    task_queue = "tocsin-memory"
    service = IncidentService(env.client, task_queue, playbooks)
    try:
        async with build_worker(
            env.client,
            task_queue,
            store,
            notifier,
            RosterSource(DEFAULT_DIR),
            outbound,
            strict_sandbox=args.strict,
            **options,
        ):
            await open_groups(service, 0, WARM_UP)
            await settle(database, WARM_UP)
            gc.collect()
            types_before = by_type()
            if args.trace:
                tracemalloc.start(args.frames)
                snap_before = tracemalloc.take_snapshot()
            rss_before = rss_bytes(os.getpid())
            cpu_before = cpu_seconds()
            started = time.monotonic()
            await open_groups(service, WARM_UP, args.incidents)
            await settle(database, WARM_UP + args.incidents)
            elapsed = time.monotonic() - started
            cpu = cpu_seconds() - cpu_before
            gc.collect()
            rss_after = rss_bytes(os.getpid())
            result: dict[str, Any] = {
                "incidents": args.incidents,
                "runner": "strict sandbox" if args.strict else "unsandboxed",
                "max_cached_workflows": args.max_cached or 1000,
                "rss_before_mib": round(rss_before / 2**20, 1),
                "rss_after_mib": round(rss_after / 2**20, 1),
                "rss_kib_per_incident": round((rss_after - rss_before) / args.incidents / 1024, 1),
                "cpu_ms_per_incident": round(cpu / args.incidents * 1000, 1),
                "seconds": round(elapsed, 1),
                "load_average_1m": os.getloadavg()[0],
            }
            if args.trace:
                snap_after = tracemalloc.take_snapshot()
                tracemalloc.stop()
                result["traced"] = breakdown(snap_before, snap_after, args.incidents)
            grown = by_type() - types_before
            result["objects_per_incident"] = {
                name: round(n / args.incidents, 1) for name, n in grown.most_common(25)
            }
            if args.touch:
                # Every open incident takes a new alert: with a small cache, each one evicted
                # is replayed from its history first.
                cpu_before = cpu_seconds()
                await open_groups(service, WARM_UP, args.incidents)
                await settle(database, WARM_UP + args.incidents)
                result["touch_cpu_ms_per_incident"] = round(
                    (cpu_seconds() - cpu_before) / args.incidents * 1000, 1
                )
                result["load_average_1m_after_touch"] = os.getloadavg()[0]
            return result
    finally:
        await store.close()
        await env.shutdown()


async def paced(run: Run, incidents: int, rate: float, worker: int, level: str) -> None:
    """Open ``incidents`` new groups at ``rate`` a second, then wait until every one is
    recorded, sampling progress every ``SAMPLE`` seconds throughout: a long run's course,
    and a record of it when it does not end."""
    groups = next_groups(run, incidents)
    already = db(run, "SELECT count(*) FROM incidents")[0][0]
    rss_before = rss_bytes(worker)
    samples: list[dict[str, float]] = []
    started = time.monotonic()

    def sample() -> None:
        recorded = db(run, "SELECT count(*) FROM incidents")[0][0] - already
        samples.append(
            {
                "seconds": round(time.monotonic() - started, 1),
                "recorded": recorded,
                "worker_rss_mib": round(rss_bytes(worker) / 2**20, 1),
                "worker_cpu_s": round(cpu_seconds_of([worker]), 1),
                "load_average_1m": os.getloadavg()[0],
            }
        )
        print(json.dumps(samples[-1]), file=sys.stderr, flush=True)

    async def sampling() -> None:
        while True:
            await asyncio.sleep(SAMPLE)
            sample()

    sampler = asyncio.create_task(sampling())
    try:
        posting: list[asyncio.Task[Any]] = []
        for n, group in enumerate(groups):
            # Each second's alerts go together, as Alertmanager sends a group's batch.
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            body = notification(group, level)
            posting.append(asyncio.create_task(post_all(run, [body], wait=False)))
        await asyncio.gather(*posting)
        posted_after = time.monotonic() - started
        while db(run, "SELECT count(*) FROM incidents")[0][0] - already < incidents:
            await asyncio.sleep(1.0)
    finally:
        sampler.cancel()
    sample()
    recorded_after = time.monotonic() - started
    await asyncio.sleep(3)  # the last pages
    after = rss_bytes(worker)
    run.figures["memory"] = {
        "incidents_opened": incidents,
        "rate_per_s": rate,
        "level": level,
        "open_incidents_after": db(
            run, "SELECT count(*) FROM incidents WHERE status != 'resolved'"
        )[0][0],
        "all_posted_after_s": round(posted_after, 1),
        "all_recorded_after_s": round(recorded_after, 1),
        "worker_rss_before_bytes": rss_before,
        "worker_rss_after_bytes": after,
        "workers": 1,
        "load_average_1m": os.getloadavg()[0],
        "per_incident_kib": (after - rss_before) / incidents / 1024,
        "samples": samples,
    }


async def stack_memory(args: argparse.Namespace) -> dict[str, Any]:
    """``make bench``'s memory phase alone, on a worker of its own (``tocsin up --workers
    1``), after a few incidents to warm it up."""
    extra = (
        {} if args.max_cached is None else {"TOCSIN_WORKER_CACHED_WORKFLOWS": str(args.max_cached)}
    )
    async with serve_fake_slack() as fake:
        for name in ("incidents", "tech-support", "customer-service", "brand-pr", "leadership"):
            fake.add_channel(name)
        fake.add_channel(PAGES_CHANNEL)
        with tempfile.TemporaryDirectory(prefix="tocsin-memory-") as workdir:
            sizes = Sizes(memory_incidents=args.incidents, concurrency=20)
            async with own_worker(fake, Path(workdir), sizes, extra) as run:
                worker = run.stack.pids_of("worker")[0]
                before = cpu_seconds_of([worker])
                if args.bundle_window is not None:
                    set_bundle_window(run, args.bundle_window)
                if args.rate is None:
                    figures = await bursts(run, args.level, args.bursts)
                else:
                    await paced(run, args.incidents, args.rate, worker, args.level)
                    figures = run.figures["memory"]
                await quiet([worker])
                figures["bundle_window"] = args.bundle_window or "as shipped"
                opened = args.incidents * (args.bursts if args.rate is None else 1)
                figures["open_cpu_ms_per_incident"] = round(
                    (cpu_seconds_of([worker]) - before) / opened * 1000, 1
                )
                if args.touch:
                    before = cpu_seconds_of([worker])
                    started = time.monotonic()
                    groups = range(WARM_UP, WARM_UP + args.incidents)
                    await post_all(run, [second_alert(g) for g in groups], wait=False)
                    await quiet([worker])
                    figures["touch_cpu_ms_per_incident"] = round(
                        (cpu_seconds_of([worker]) - before) / args.incidents * 1000, 1
                    )
                    figures["touch_seconds"] = round(time.monotonic() - started, 1)
                    figures["load_average_1m_after_touch"] = os.getloadavg()[0]
                figures["max_cached_workflows"] = args.max_cached or CACHED_WORKFLOWS
                if args.bare:
                    # With the cache tocsin's worker was given, so the two compare.
                    cached = args.max_cached or CACHED_WORKFLOWS
                    figures["bare"] = await bare_bursts(run, args.bursts, cached)
                return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--trace", action="store_true", help="tracemalloc's breakdown too")
    parser.add_argument("--frames", type=int, default=1, help="tracemalloc frames kept")
    parser.add_argument("--strict", action="store_true", help="the strict sandbox")
    parser.add_argument("--max-cached", type=int, default=None, help="max_cached_workflows")
    parser.add_argument(
        "--stack", action="store_true", help="the benchmark's memory phase on tocsin up"
    )
    parser.add_argument(
        "--touch", action="store_true", help="then one more alert to every open incident"
    )
    parser.add_argument(
        "--bare",
        action="store_true",
        help="with --stack and no --rate: then the same bursts on a bare worker of its own",
    )
    parser.add_argument(
        "--rate", type=float, default=None, help="with --stack: open this many a second"
    )
    parser.add_argument(
        "--bundle-window", default=None, help="with --stack: the roster's, such as 0s"
    )
    parser.add_argument(
        "--level",
        choices=["A", "B", "C"],
        default="B",
        help="with --stack: the level opened (the benchmark's C: a 30 s window, no escalation)",
    )
    parser.add_argument(
        "--bursts",
        type=int,
        default=1,
        help="with --stack and no --rate: open --incidents at once this many times, each "
        "sampled quiet",
    )
    args = parser.parse_args(argv)
    if args.bursts < 1:
        parser.error("--bursts: at least 1")
    if args.bursts > 1 and (args.rate is not None or not args.stack):
        parser.error("--bursts: with --stack and without --rate")
    if args.bare and (args.rate is not None or not args.stack):
        parser.error("--bare: with --stack and without --rate")
    work = stack_memory(args) if args.stack else measure(args)
    print(json.dumps(asyncio.run(work), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
