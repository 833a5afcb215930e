"""Crash trials: ``tocsin up`` with Slack (the fake), an incident in its acknowledgement window,
and a SIGKILL of the worker, of the API or of the Temporal dev server. The supervisor restarts
what died; every escalation still fires exactly once, nothing is posted twice, no timeline
event is written twice, and the deadline does not move.

CI runs three trials per target, ``make soak`` ``TOCSIN_CRASH_TRIALS`` (20) of each. The
trials of a target overlap: each kill lands in its own incident's window and in whatever the
earlier incidents are doing then (an escalation step, a breach, a page in its bundle window).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.fake_slack import FakeSlack, serve_fake_slack
from testkit.playbooks import playbook_dir, with_bundle_window
from testkit.stack import TocsinUp, clean_env
from testkit.waiting import eventually

pytestmark = pytest.mark.integration

TRIALS = int(os.environ.get("TOCSIN_CRASH_TRIALS", "3"))
# Level C for the trials: the secondary at 6 s, the manager at the breach (20 s), and no
# re-page within a trial, so each page has exactly one right count.
TRIAL_LEVEL = """\
level: C
name: Crash trial
response_window: 20s
escalation:
  - after: 6s
    page: [secondary]
on_breach:
  page: [manager]
  repeat_every: 1h
update_every: 1h
on_alerts_cleared: resolved
reopen_within: 2s
"""
PRIMARY, SECONDARY, MANAGER = "U0TECH001", "U0TECH002", "U0TECH003"
KILL_AT = 3.0  # seconds after the declaration: inside the window, before the first step


def pid_of(up: TocsinUp, target: str) -> int:
    marks = {"worker": "tocsin.cli worker", "api": "tocsin.cli api", "temporal": "start-dev"}
    for pid, cmdline in up.pids().items():
        if marks[target] in cmdline:
            return pid
    raise RuntimeError(f"no {target} process under tocsin up")


async def crash(up: TocsinUp, http: httpx.AsyncClient, target: str) -> dict[str, Any]:
    """An incident declared, and ``target`` killed inside its window; back when restarted."""

    async def declare() -> httpx.Response | None:
        answer = await http.post(
            "/api/v1/incidents",
            json={"title": f"Crash trial ({target})", "level": "C", "type": "service_outage"},
        )
        # Right after a Temporal restart the worker is still reconnecting: 503 with
        # Retry-After, and a client tries again, as this one does.
        return None if answer.status_code == 503 else answer

    declared = await eventually(declare, within=60, what="the declaration taken", every=1.0)
    assert declared.status_code == 201, declared.text
    incident: dict[str, Any] = declared.json()
    await asyncio.sleep(KILL_AT)
    victim = pid_of(up, target)
    os.kill(victim, signal.SIGKILL)

    def back() -> bool:
        with contextlib.suppress(RuntimeError):
            return pid_of(up, target) != victim
        return False

    await eventually(back, within=30, what=f"{target} restarted")

    async def ready() -> bool:
        with contextlib.suppress(httpx.TransportError):
            return (await http.get("/readyz")).status_code == 200
        return False

    # The next trial's declaration needs the API and Temporal answering again.
    await eventually(ready, within=60, what="the stack ready again", every=0.2)
    return incident


async def check(
    fake: FakeSlack, http: httpx.AsyncClient, target: str, incident: dict[str, Any]
) -> None:
    deadline = incident["ack_deadline"]

    async def breached() -> list[dict[str, Any]] | None:
        with contextlib.suppress(httpx.TransportError):
            answer = await http.get(f"/api/v1/incidents/{incident['id']}/timeline")
            if answer.status_code == 200:
                items: list[dict[str, Any]] = answer.json()["items"]
                kinds = {e["kind"] for e in items}
                if "breached" in kinds and "escalated" in kinds:
                    return items
        return None

    events = await eventually(breached, within=90, what="the breach recorded", every=0.5)
    await asyncio.sleep(2)  # anything duplicated would have arrived by now
    events = await breached() or events

    kinds = Counter(e["kind"] for e in events)
    assert kinds["declared"] == 1, (target, kinds)
    assert kinds["escalated"] == 1, (target, kinds)
    assert kinds["breached"] == 1, (target, kinds)
    assert kinds["repaged"] == 0, (target, kinds)
    assert len({e["seq"] for e in events}) == len(events), (target, "a seq written twice")

    async def current() -> dict[str, Any] | None:
        # Read from the running workflow: a worker just restarted answers once it is polling.
        with contextlib.suppress(httpx.TransportError):
            answer = await http.get(f"/api/v1/incidents/{incident['id']}")
            if answer.status_code == 200:
                found: dict[str, Any] = answer.json()
                return found
        return None

    again = await eventually(current, within=60, what="the incident read back", every=0.5)
    assert again["ack_deadline"] == deadline, (target, "the deadline moved")

    async def paged() -> dict[str, int] | None:
        counts = {
            who: sum(incident["id"] in m.get("text", "") for m in fake.dms_to(who))
            for who in (PRIMARY, SECONDARY, MANAGER)
        }
        return counts if all(counts.values()) else None

    # A page can wait for its person's bundle window (5 s here) to close.
    counts = await eventually(paged, within=60, what="every page delivered", every=0.5)
    assert counts == {PRIMARY: 1, SECONDARY: 1, MANAGER: 1}, (target, counts)
    for channel in fake.channels.values():
        texts = [m.get("text", "") for m in fake.messages(channel.id)]
        mine = [t for t in texts if incident["id"] in t]
        assert len(mine) == len(set(mine)), (target, channel.name, "posted twice")


@pytest.mark.parametrize("target", ["worker", "api", "temporal"])
async def test_a_killed_process_loses_no_escalation_and_posts_nothing_twice(
    tmp_path: Path, target: str
) -> None:
    async with serve_fake_slack() as fake:
        for name in ("incidents", "tech-support", "customer-service", "brand-pr", "leadership"):
            fake.add_channel(name)
        env = clean_env(
            TOCSIN_SLACK_BOT_TOKEN=fake.token,
            TOCSIN_SLACK_API_URL=fake.base_url,
            TOCSIN_API_RATE_LIMIT="100000/minute",
            # Each kill is its own trial, seconds apart: the supervisor must not read twenty of
            # them as one child crash-looping (test_up.py tries that on its own).
            TOCSIN_RESTART_WINDOW_SECONDS="2",
        )
        # Pages still bundle, in a window shorter than the trial's breach, so a trial does not
        # wait half a minute for its last bundle.
        playbooks = with_bundle_window(
            playbook_dir(tmp_path / "playbooks", {"C": TRIAL_LEVEL}), "5s"
        )
        up = TocsinUp(tmp_path, playbooks, env=env)
        await up.start()
        try:
            await up.wait_until_up()
            async with httpx.AsyncClient(
                base_url=up.api_url,
                headers={"Authorization": f"Bearer {up.api_token()}"},
                timeout=30.0,
            ) as http:
                incidents = [await crash(up, http, target) for _ in range(TRIALS)]
                for incident in incidents:
                    await check(fake, http, target, incident)
            assert not up.exited, up.report()
        finally:
            await up.stop()
