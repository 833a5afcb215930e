"""What-if over many recorded incidents (issue 28: 1,000 in at most 2 minutes on 2 cores).

    make bench                                  # runs this after the stack benchmarks
    python -m bench.whatif --incidents 1000     # alone; --batch sets how many share a clock

Seeds a scratch records database with incidents of every level and type, declared at
instants across a month (office hours, nights, weekends), acknowledged by the person the
shipped playbooks page at varied offsets or not at all, and resolved; replays them under the
shipped playbooks and a candidate whose level B pages the secondary later; prints the wall
time, the time per incident and the load average, which the machine's other users move.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.records import RecordsStore, migrate
from alerts.catalog import load_catalog
from domain.models import EventKind, Incident, IncidentType, Level, TimelineEvent
from domain.whatif import WhatIfRequest
from playbooks.base import DEFAULT_DIR
from playbooks.loader import load_playbooks
from tocsin.binaries import temporal_test_server
from workflows.playtest.whatif import BATCH, what_if

START = datetime(2026, 11, 2, tzinfo=UTC)
LEADS = {
    IncidentType.SERVICE_OUTAGE: "Ada Okafor",
    IncidentType.DATA_LEAK: "Dara Nwosu",
    IncidentType.MAJOR_PRODUCT_INCIDENT: "Gil Ramos",
}
WINDOW = {Level.A: 15, Level.B: 30, Level.C: 60}


def recorded(n: int) -> tuple[Incident, list[TimelineEvent]]:
    """The n-th seeded incident: its level, type, instant and acknowledgement vary with n."""
    level = list(Level)[n % 3]
    kind = list(IncidentType)[(n // 3) % 3]
    declared = START + timedelta(hours=7 * n + (n % 5))  # every hour of the week in turn
    iid = f"bench-{n:05d}"
    ack = None if n % 7 == 0 else timedelta(minutes=(n * 3) % (WINDOW[level] + 10) + 1)
    resolved = declared + timedelta(minutes=WINDOW[level] + 25)
    by = LEADS[kind]
    events = [
        TimelineEvent(incident_id=iid, seq=1, at=declared, kind=EventKind.DECLARED,
                      actor="Alertmanager", text="declared", data={"level": level.value}),
    ]  # fmt: skip
    if ack is not None:
        events.append(
            TimelineEvent(incident_id=iid, seq=2, at=declared + ack, kind=EventKind.ACKNOWLEDGED,
                          actor=by, text="acknowledged")
        )  # fmt: skip
    events.append(
        TimelineEvent(incident_id=iid, seq=3, at=resolved, kind=EventKind.RESOLVED, actor=by,
                      text="resolved")
    )  # fmt: skip
    incident = Incident(
        id=iid, title=f"bench incident {n}", level=level, type=kind, service="checkout",
        status="resolved", declared_at=declared, declared_by="Alertmanager",
        ack_deadline=declared + timedelta(minutes=WINDOW[level]),
        response_window_seconds=WINDOW[level] * 60.0,
        acknowledged_at=declared + ack if ack else None, acknowledged_by=by if ack else None,
        resolved_at=resolved, resolved_by=by, version=1,
    )  # fmt: skip
    return incident, events


def candidate(target: Path) -> Path:
    """The shipped playbooks with level B's secondary paged at +15m instead of +10m."""
    shutil.copytree(DEFAULT_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    level_b = target / "level-b.yaml"
    text = level_b.read_text(encoding="utf-8")
    step = "  - after: 10m\n    page: [secondary]"
    assert step in text, "level-b.yaml changed; update bench.whatif"
    level_b.write_text(text.replace(step, "  - after: 15m\n    page: [secondary]"))
    return target


async def measure(incidents: int, batch: int, workdir: Path) -> dict[str, float]:
    url = f"sqlite+aiosqlite:///{workdir / 'records.db'}"
    await migrate(url)
    store = RecordsStore.from_url(url)
    try:
        for n in range(incidents):
            incident, events = recorded(n)
            await store.apply(incident, events)
        other = candidate(workdir / "candidate")
        load_before = os.getloadavg()[0]
        began = time.perf_counter()
        report = await what_if(
            store,
            WhatIfRequest(since=START),
            (DEFAULT_DIR, load_playbooks(DEFAULT_DIR)),
            (other, load_playbooks(other)),
            temporal_test_server(),
            load_catalog(),
            batch=batch,
        )
        seconds = time.perf_counter() - began
    finally:
        await store.close()
    assert len(report.incidents) == incidents, len(report.incidents)
    return {
        "incidents": incidents,
        "batch": batch,
        "seconds": seconds,
        "per_incident_ms": 1000 * seconds / incidents,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "breaches_today": report.totals.today.breaches,
        "breaches_candidate": report.totals.candidate.breaches,
    }


def _verdict(figures: dict[str, float]) -> str:
    """Against the target: 1,000 incidents in at most 120 s."""
    if figures["incidents"] < 1000:
        projected = figures["per_incident_ms"]  # ms per incident = s per 1,000
        return f"about {projected:.0f} s for 1,000 at this rate; the target is 120 s"
    return "target of 120 s for 1,000 " + ("met" if figures["seconds"] <= 120 else "missed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=BATCH)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-whatif-") as tmp:
        figures = asyncio.run(measure(args.incidents, args.batch, Path(tmp)))
    print(
        f"what-if: {figures['incidents']} incidents (batches of {figures['batch']}) under two "
        f"playbook sets in {figures['seconds']:.1f} s, {figures['per_incident_ms']:.0f} ms per "
        f"incident ({_verdict(figures)}); load average {figures['load_before']:.2f} before, "
        f"{figures['load_after']:.2f} "
        f"after, on {os.cpu_count()} cores; breaches today {figures['breaches_today']}, "
        f"candidate {figures['breaches_candidate']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
