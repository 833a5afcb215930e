"""``make bench``'s what-if figure in miniature: seeded incidents replayed in batches under the
shipped playbooks and a candidate, the figure printed with the load average beside it."""

from __future__ import annotations

import asyncio
import re

import pytest

from bench import whatif


async def test_the_what_if_benchmark_replays_every_seeded_incident_and_prints_its_figure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await asyncio.to_thread(whatif.main, ["--incidents", "6", "--batch", "3"]) == 0

    line = capsys.readouterr().out.strip()
    assert re.fullmatch(
        r"what-if: 6 incidents \(batches of 3\) under two playbook sets in [\d.]+ s, \d+ ms per "
        r"incident \(about \d+ s for 1,000 at this rate; the target is 120 s\); load average "
        r"[\d.]+ before, [\d.]+ after, on \d+ cores; breaches today \d+, candidate \d+",
        line,
    ), line
