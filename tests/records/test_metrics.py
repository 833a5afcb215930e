"""The /metrics aggregates computed by the store against values worked out by hand."""

from __future__ import annotations

import math
from collections.abc import Mapping

from adapters.records import TTA_BUCKETS, Histogram, RecordsStore
from domain.models import IncidentType, Level, Status
from tests.records.builders import incident

OUTAGE, LEAK, PRODUCT = (
    IncidentType.SERVICE_OUTAGE,
    IncidentType.DATA_LEAK,
    IncidentType.MAJOR_PRODUCT_INCIDENT,
)


def _histogram(cumulative: list[int], total: float) -> Histogram:
    return Histogram(
        buckets=(*zip(TTA_BUCKETS, cumulative, strict=True), (math.inf, cumulative[-1])),
        sum=total,
        count=cumulative[-1],
    )


async def test_metrics_of_an_empty_database_are_zero_for_every_series(
    store: RecordsStore,
) -> None:
    snapshot = await store.metrics()

    assert len(snapshot.incidents_total) == 3 * 3 * 2
    assert set(snapshot.incidents_total.values()) == {0}
    keys = [(level, drill) for level in Level for drill in (False, True)]
    for by_level in (snapshot.open_by_level, snapshot.breaches_by_level):
        assert by_level == dict.fromkeys(keys, 0)
    assert snapshot.escalations_by_level == dict.fromkeys(keys, 0)
    assert snapshot.time_to_ack == dict.fromkeys(keys, _histogram([0] * 10, 0.0))


async def test_metrics_aggregate_the_stored_incidents(store: RecordsStore) -> None:
    # The acknowledgement of a1 arrives in a later snapshot: time to ack is derived on write.
    await store.apply(incident("a1", level=Level.A), [])
    for snapshot in (
        incident("a1", ack_after=20, status=Status.RESOLVED, version=2),
        # Exactly on a bucket bound: counted in that bucket (Prometheus buckets are "<=").
        incident("a2", ack_after=60, escalation_count=1),
        incident(
            "a3",
            type=LEAK,
            drill=True,
            ack_after=1000,
            window_breached=True,
            escalation_count=2,
            status=Status.MITIGATED,
        ),
        incident("b1", level=Level.B, type=PRODUCT, window_breached=True, escalation_count=3),
        incident(
            "b2", level=Level.B, ack_after=7200.5, window_breached=True, status=Status.RESOLVED
        ),
        incident("c1", level=Level.C, type=LEAK, ack_after=300, status=Status.RESOLVED),
    ):
        await store.apply(snapshot, [])

    metrics = await store.metrics()

    nonzero = {key: n for key, n in metrics.incidents_total.items() if n}
    assert nonzero == {
        (Level.A, OUTAGE, False): 2,
        (Level.A, LEAK, True): 1,
        (Level.B, PRODUCT, False): 1,
        (Level.B, OUTAGE, False): 1,
        (Level.C, LEAK, False): 1,
    }

    def nonzero_of(values: Mapping[tuple[Level, bool], int]) -> dict[tuple[Level, bool], int]:
        return {key: n for key, n in values.items() if n}

    assert nonzero_of(metrics.open_by_level) == {
        (Level.A, False): 1,
        (Level.A, True): 1,
        (Level.B, False): 1,
    }
    assert nonzero_of(metrics.breaches_by_level) == {(Level.A, True): 1, (Level.B, False): 2}
    assert nonzero_of(metrics.escalations_by_level) == {
        (Level.A, False): 1,
        (Level.A, True): 2,
        (Level.B, False): 3,
    }
    acked = {key: h for key, h in metrics.time_to_ack.items() if h.count}
    #                        30  60 120 300 600 900 1800 2700 3600 7200
    assert acked == {
        (Level.A, False): _histogram([1, 2, 2, 2, 2, 2, 2, 2, 2, 2], 80.0),
        (Level.A, True): _histogram([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], 1000.0),
        (Level.B, False): Histogram(
            buckets=(*((bound, 0) for bound in TTA_BUCKETS), (math.inf, 1)), sum=7200.5, count=1
        ),
        (Level.C, False): _histogram([0, 0, 0, 1, 1, 1, 1, 1, 1, 1], 300.0),
    }
    for histogram in metrics.time_to_ack.values():
        counts = [n for _, n in histogram.buckets]
        assert counts == sorted(counts)
        assert counts[-1] == histogram.count


async def test_figures_count_under_the_level_that_held_at_the_moment(store: RecordsStore) -> None:
    # Acknowledged at A, then lowered to B; breached at B, then raised to A.
    await store.apply(incident("x1", level=Level.B, ack_after=100, ack_level=Level.A), [])
    await store.apply(incident("x2", level=Level.A, window_breached=True, breach_level=Level.B), [])

    metrics = await store.metrics()

    assert metrics.time_to_ack[Level.A, False].count == 1
    assert metrics.time_to_ack[Level.B, False].count == 0
    assert metrics.breaches_by_level[Level.B, False] == 1
    assert metrics.breaches_by_level[Level.A, False] == 0
    assert metrics.open_by_level[Level.A, False] == 1  # the level now
