"""/metrics is derived from the records, so it is complete from the first scrape and after a
restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from adapters.records import TTA_BUCKETS, RecordsStore
from api.config import ApiConfig
from domain.models import IncidentType, Level, Status
from testkit.waiting import eventually
from tests.api.conftest import Declare, api_config, build_app, http_client, recorded
from tests.conftest import Stack
from workflows.incident.client import IncidentService

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, frozenset(labels.items())]


def bucket_bound(bound: float) -> str:
    return repr(float(bound))


async def test_every_series_exists_at_zero_before_the_first_incident(
    anonymous: httpx.AsyncClient,
) -> None:
    samples = await scrape(anonymous)

    for level in Level:
        for kind in IncidentType:
            for drill in ("true", "false"):
                labels = {"level": level.value, "type": kind.value, "drill": drill}
                assert value(samples, "tocsin_incidents_total", **labels) == 0
        assert value(samples, "tocsin_incidents_open", drill="false", level=level.value) == 0
        assert (
            value(
                samples, "tocsin_response_window_breaches_total", drill="false", level=level.value
            )
            == 0
        )
        assert value(samples, "tocsin_escalations_total", drill="false", level=level.value) == 0
        assert (
            value(samples, "tocsin_time_to_ack_seconds_count", drill="false", level=level.value)
            == 0
        )
        assert (
            value(samples, "tocsin_time_to_ack_seconds_sum", drill="false", level=level.value) == 0
        )
        for bound in [*map(bucket_bound, TTA_BUCKETS), "+Inf"]:
            name = "tocsin_time_to_ack_seconds_bucket"
            assert value(samples, name, drill="false", level=level.value, le=bound) == 0
    assert value(samples, "tocsin_temporal_up") == 1
    assert value(samples, "tocsin_alert_notifications_unavailable_total") == 0
    series = {name for name, _ in samples}
    assert len([key for key in samples if key[0] == "tocsin_incidents_total"]) == 3 * 3 * 2
    assert "tocsin_incidents_created" not in series


async def test_metrics_reflect_the_records_after_the_app_restarts(
    client: httpx.AsyncClient,
    declare: Declare,
    stack: Stack,
    config: ApiConfig,
    service: IncidentService,
) -> None:
    acked = await declare(level="A", type="service_outage")
    second = await declare(level="A", type="service_outage")
    drill = await declare(level="C", type="data_leak", drill=True)
    response = await client.post(f"/api/v1/incidents/{acked['id']}/ack", json={"by": "Bob"})
    assert response.status_code == 200
    time_to_ack = response.json()["time_to_ack_seconds"]
    resolved = await client.post(f"/api/v1/incidents/{drill['id']}/resolve", json={"by": "Bob"})
    assert resolved.status_code == 200
    await recorded(stack.store, acked["id"], Status.ACKNOWLEDGED)
    await recorded(stack.store, drill["id"], Status.RESOLVED)
    await recorded(stack.store, second["id"])

    # A new app instance with its own connection to the same database: nothing carried over
    # in memory.
    store = RecordsStore.from_url(config.database_url)
    try:
        async with http_client(build_app(config, store, service)) as fresh:
            samples = await scrape(fresh)
    finally:
        await store.close()

    def incidents_total(level: str, kind: str, drill: str) -> float:
        labels = {"level": level, "type": kind, "drill": drill}
        return value(samples, "tocsin_incidents_total", **labels)

    assert incidents_total("A", "service_outage", "false") == 2
    assert incidents_total("C", "data_leak", "true") == 1
    assert incidents_total("C", "data_leak", "false") == 0
    assert incidents_total("B", "service_outage", "false") == 0
    assert value(samples, "tocsin_incidents_open", drill="false", level="A") == 2
    assert value(samples, "tocsin_incidents_open", drill="false", level="C") == 0
    assert value(samples, "tocsin_time_to_ack_seconds_count", drill="false", level="A") == 1
    assert value(samples, "tocsin_time_to_ack_seconds_sum", drill="false", level="A") == time_to_ack
    assert (
        value(samples, "tocsin_time_to_ack_seconds_bucket", drill="false", level="A", le="30.0")
        == 1
    )
    assert (
        value(samples, "tocsin_time_to_ack_seconds_bucket", drill="false", level="A", le="+Inf")
        == 1
    )
    # Resolving without an ack counts as acknowledging at that moment.
    assert value(samples, "tocsin_time_to_ack_seconds_count", drill="true", level="C") == 1
    assert value(samples, "tocsin_response_window_breaches_total", drill="false", level="A") == 0


async def test_breached_window_shows_in_breaches_and_escalations(
    anonymous: httpx.AsyncClient, declare: Declare, stack: Stack
) -> None:
    incident = await declare(level="A")

    await stack.env.sleep(timedelta(minutes=16))

    async def breached() -> bool:
        record = await stack.store.get_incident(incident["id"])
        return record is not None and record.window_breached

    await eventually(breached)
    record = await recorded(stack.store, incident["id"])
    samples = await scrape(anonymous)
    assert value(samples, "tocsin_response_window_breaches_total", drill="false", level="A") == 1
    assert value(samples, "tocsin_response_window_breaches_total", drill="false", level="B") == 0
    assert record.escalation_count >= 1
    assert (
        value(samples, "tocsin_escalations_total", drill="false", level="A")
        == record.escalation_count
    )


async def test_temporal_says_whether_a_worker_polls_the_task_queue(
    dev_stack: Stack, tmp_path: Path
) -> None:
    """A worker answering its own scrape may still have stopped taking tasks; the alert
    TocsinWorkerNotPolling reads what Temporal saw instead."""
    address = dev_stack.client.service_client.config.target_host

    async def pollers(task_queue: str) -> Samples:
        config = api_config(tmp_path, task_queue=task_queue, temporal_address=address)
        async with http_client(build_app(config, dev_stack.store, dev_stack.service)) as http:
            return await scrape(http)

    async def polled() -> Samples | None:
        samples = await pollers(dev_stack.task_queue)
        kinds = ("workflow", "activity")
        name, queue = "tocsin_task_queue_pollers", dev_stack.task_queue
        return (
            samples if all(value(samples, name, task_queue=queue, kind=k) for k in kinds) else None
        )

    await eventually(polled, what="the stack's worker seen polling")
    deserted = await pollers("nobody-polls-this-queue")
    for kind in ("workflow", "activity"):
        labels = {"task_queue": "nobody-polls-this-queue", "kind": kind}
        assert value(deserted, "tocsin_task_queue_pollers", **labels) == 0
