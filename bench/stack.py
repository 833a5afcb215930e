"""The embedded stack under measurement: ``tocsin up`` (the tests' runner) on free loopback
ports, with a temporary data directory, a benchmark playbook directory and the fake Slack."""

from __future__ import annotations

from pathlib import Path

from testkit.playbooks import playbook_dir, with_bundle_window
from testkit.stack import TocsinUp, clean_env

INTAKE_TOKEN = "bench-intake-token"
API_TOKEN = "bench-api-token"
BOT_TOKEN = "xoxb-test-token"

# Level C keeps a short window (30 s) for the timer-accuracy run; A and B keep their real
# windows so that nothing else breaches while the other figures are measured.
LEVEL_C = """\
level: C
name: Single-channel incident, benchmark timings ({window} s window)
response_window: {window}s
escalation: []
on_breach:
  page: [manager]
  repeat_every: 1h
update_every: 2h
on_alerts_cleared: resolved
reopen_within: 30m
"""


def bench_stack(
    workdir: Path, slack_url: str, *, window: int = 30, workers: int | None = None
) -> TocsinUp:
    env = clean_env(
        TOCSIN_API_TOKEN=API_TOKEN,
        TOCSIN_INTAKE_TOKEN=INTAKE_TOKEN,
        TOCSIN_SLACK_BOT_TOKEN=BOT_TOKEN,
        TOCSIN_SLACK_SIGNING_SECRET="bench-signing-secret",
        TOCSIN_SLACK_API_URL=slack_url,
        # Every page goes to the same few people here; Slack's per-channel pacing would
        # measure the pacing, not tocsin.
        TOCSIN_SLACK_MIN_INTERVAL_SECONDS="0",
        TOCSIN_INTAKE_TIMEOUT_SECONDS="60",
        # The load generator is one token; the per-token limit would measure the limit.
        TOCSIN_API_RATE_LIMIT="1000000/minute",
    )
    playbooks = with_bundle_window(
        playbook_dir(workdir / "playbooks", levels={"C": LEVEL_C.format(window=window)}),
        f"{window}s",
    )
    return TocsinUp(workdir, playbooks, env=env, workers=workers)
