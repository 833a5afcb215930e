"""Prometheus metrics: incident figures derived from the records at scrape time.

Incident figures are not counted in process memory: every scrape reads one snapshot from the
records and renders it through a registry made for that scrape, so the figures survive restarts
and agree across API replicas. Only the alert-intake counters, which count requests to this
process, live in memory.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import datetime, timedelta

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from adapters.clock import utcnow
from adapters.records import TTA_BUCKETS, Histogram, MetricsSnapshot
from adapters.slack.client import REGISTRY as SLACK_METRICS
from api.config import ApiConfig
from api.deps import ConfigDep, IntakeCounters, Runtime, RuntimeDep, StoreDep
from domain.models import IncidentType, Level
from domain.rules.oncall import OnCall
from domain.statements import Channel, DeliveryStatus

router = APIRouter(tags=["metrics"])

_NO_ACKS = Histogram(buckets=(*((b, 0) for b in TTA_BUCKETS), (math.inf, 0)), sum=0.0, count=0)


class SnapshotCollector(Collector):
    """Every level, type and drill combination is emitted, at zero when no incident has it,
    so that rate() and alert rules see a series from the first scrape."""

    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        declared = CounterMetricFamily(
            "tocsin_incidents",
            "Incidents declared, by level, type and whether it was a drill.",
            labels=["level", "type", "drill"],
        )
        for level in Level:
            for kind in IncidentType:
                for drill in (False, True):
                    count = snap.incidents_total.get((level, kind, drill), 0)
                    declared.add_metric([level.value, kind.value, str(drill).lower()], count)
        yield declared

        open_now = GaugeMetricFamily(
            "tocsin_incidents_open",
            "Incidents not yet resolved, by level and whether it is a drill.",
            labels=["level", "drill"],
        )
        for level, drill in _KEYS:
            open_now.add_metric(_labels(level, drill), snap.open_by_level.get((level, drill), 0))
        yield open_now

        time_to_ack = HistogramMetricFamily(
            "tocsin_time_to_ack_seconds",
            "Time from declaration to first acknowledgement, by the level in force when it "
            "came, and drill.",
            labels=["level", "drill"],
        )
        for level, drill in _KEYS:
            histogram = snap.time_to_ack.get((level, drill), _NO_ACKS)
            buckets = [(_bound(le), count) for le, count in histogram.buckets]
            time_to_ack.add_metric(_labels(level, drill), buckets, sum_value=histogram.sum)
        yield time_to_ack

        breaches = CounterMetricFamily(
            "tocsin_response_window_breaches",
            "Incidents not acknowledged within their response window, by the level whose "
            "window was breached, and drill.",
            labels=["level", "drill"],
        )
        for level, drill in _KEYS:
            count = snap.breaches_by_level.get((level, drill), 0)
            breaches.add_metric(_labels(level, drill), count)
        yield breaches

        failed = CounterMetricFamily(
            "tocsin_notifications_failed",
            "Notifications a channel refused for a reason retrying cannot fix (a revoked "
            "token, a missing channel, a deactivated user), by that reason.",
            labels=["reason"],
        )
        for reason, count in sorted(snap.failed_notifications.items()):
            failed.add_metric([reason], count)
        yield failed

        escalations = CounterMetricFamily(
            "tocsin_escalations",
            "Escalation steps and re-pages fired, by level and drill.",
            labels=["level", "drill"],
        )
        for level, drill in _KEYS:
            count = snap.escalations_by_level.get((level, drill), 0)
            escalations.add_metric(_labels(level, drill), count)
        yield escalations


class StatementsCollector(Collector):
    def __init__(
        self, breaches: dict[tuple[str, bool], int], deliveries: dict[tuple[str, str], int]
    ) -> None:
        self._breaches = breaches
        self._deliveries = deliveries

    def collect(self) -> Iterator[Metric]:
        breaches = CounterMetricFamily(
            "tocsin_statement_breaches",
            "Statements for customers not approved by their due time, by level and drill.",
            labels=["level", "drill"],
        )
        for level in Level:
            for drill in (False, True):
                count = self._breaches.get((level.value, drill), 0)
                breaches.add_metric([level.value, str(drill).lower()], count)
        yield breaches
        deliveries = GaugeMetricFamily(
            "tocsin_statement_deliveries",
            "Deliveries of statements and announcements, by channel and where each stands.",
            labels=["channel", "status"],
        )
        for channel in Channel:
            for status in DeliveryStatus:
                count = self._deliveries.get((channel.value, status.value), 0)
                deliveries.add_metric([channel.value, status.value], count)
        yield deliveries


class IntakeCollector(Collector):
    def __init__(self, counters: IntakeCounters) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        received = CounterMetricFamily(
            "tocsin_alerts_received",
            "Alerts received from Alertmanager by this API process, by alert status; "
            "repeated deliveries count each time.",
            labels=["status"],
        )
        for status, count in sorted(self._counters.received.items()):
            received.add_metric([status], count)
        yield received
        yield CounterMetricFamily(
            "tocsin_alert_notifications_accepted",
            "Alertmanager notifications answered once Temporal stored them (the default); "
            "the incident's workflow drops repeats among them.",
            value=self._counters.accepted,
        )
        yield CounterMetricFamily(
            "tocsin_alert_notifications_deduplicated",
            "Notifications answered with their outcome (?wait=true) that brought nothing new "
            "(repeats, HA copies).",
            value=self._counters.deduplicated,
        )
        yield CounterMetricFamily(
            "tocsin_alert_notifications_unavailable",
            "Notifications answered 503 because Temporal did not answer in time; "
            "Alertmanager retries them.",
            value=self._counters.unavailable,
        )


class TemporalCollector(Collector):
    def __init__(self, reachable: bool) -> None:
        self._reachable = reachable

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "tocsin_temporal_up",
            "1 when Temporal answered this API process's health check at scrape time, else 0.",
            value=1 if self._reachable else 0,
        )


class PollersCollector(Collector):
    """Workers Temporal saw polling tocsin's task queue lately. A worker process can answer
    its scrape while its event loop is wedged or its connection to Temporal is gone; only
    Temporal knows whether anything still takes the queue's tasks."""

    def __init__(self, task_queue: str, pollers: dict[str, int]) -> None:
        self._task_queue = task_queue
        self._pollers = pollers

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "tocsin_task_queue_pollers",
            "Workers that polled tocsin's task queue within the last "
            f"{int(_POLLED_WITHIN.total_seconds())} s, as Temporal reports them, by the kind "
            "of task polled (absent while Temporal does not answer).",
            labels=["task_queue", "kind"],
        )
        for kind, count in sorted(self._pollers.items()):
            gauge.add_metric([self._task_queue, kind], count)
        yield gauge


class SuppressedCollector(Collector):
    """From the records, like the incident figures: every API replica holding alerts back
    adds to the same windows, and the figure survives restarts."""

    def __init__(self, by_maintenance: int) -> None:
        self._by_maintenance = by_maintenance

    def collect(self) -> Iterator[Metric]:
        suppressed = CounterMetricFamily(
            "tocsin_alerts_suppressed",
            "Firing alerts held back instead of paging, by reason (maintenance: a window "
            "on every service of the group); each notification counts its alerts again.",
            labels=["reason"],
        )
        suppressed.add_metric(["maintenance"], self._by_maintenance)
        yield suppressed


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()


_TEMPORAL_CHECK_SECONDS = 2.0

_KEYS = [(level, drill) for level in Level for drill in (False, True)]


def _labels(level: Level, drill: bool) -> list[str]:
    return [level.value, str(drill).lower()]


async def _temporal_answers(runtime: Runtime, config: ApiConfig) -> bool:
    """Whether Temporal answers, as /readyz asks it, bounded well inside a scrape timeout:
    Prometheus must see a 0 rather than a failed scrape when Temporal hangs."""
    bound = min(config.temporal_timeout_seconds, _TEMPORAL_CHECK_SECONDS)
    try:
        async with asyncio.timeout(bound):
            return await runtime.service.client.service_client.check_health(
                timeout=timedelta(seconds=bound)
            )
    except Exception:
        return False


# Workers poll continuously (a long poll is at most a minute), so one that has not polled in
# two minutes is not polling.
_POLLED_WITHIN = timedelta(minutes=2)

_QUEUE_KINDS = {
    "workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    "activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
}


async def _pollers(runtime: Runtime, config: ApiConfig, now: datetime) -> dict[str, int]:
    """Recent pollers per kind of task, or nothing when Temporal does not answer in time
    (tocsin_temporal_up says so)."""
    client = runtime.service.client
    bound = min(config.temporal_timeout_seconds, _TEMPORAL_CHECK_SECONDS)
    found: dict[str, int] = {}
    try:
        async with asyncio.timeout(bound):
            for kind, queue_type in _QUEUE_KINDS.items():
                described = await client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace=client.namespace,
                        task_queue=TaskQueue(name=config.task_queue),
                        task_queue_type=queue_type,
                    ),
                    timeout=timedelta(seconds=bound),
                )
                found[kind] = sum(
                    1
                    for poller in described.pollers
                    if now - poller.last_access_time.ToDatetime(tzinfo=now.tzinfo) <= _POLLED_WITHIN
                )
    except Exception:
        return {}
    return found


def _bound(le: float) -> str:
    return "+Inf" if math.isinf(le) else repr(float(le))


class OnCallCollector(Collector):
    """People on call now per function and tier: 0 is a gap worth an alert rule."""

    def __init__(self, now: OnCall) -> None:
        self._now = now

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "tocsin_oncall_people",
            "People on call now, by function and tier (0: nobody holds it).",
            labels=["function", "tier"],
        )
        for holding in self._now.holdings:
            gauge.add_metric([holding.function.value, holding.tier.value], len(holding.people))
        yield gauge


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(store: StoreDep, runtime: RuntimeDep, config: ConfigDep) -> Response:
    snapshot = await store.metrics()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    registry.register(
        StatementsCollector(
            await store.statements.breaches(), await store.statements.delivery_counts()
        )
    )
    registry.register(IntakeCollector(runtime.intake))
    registry.register(TemporalCollector(await _temporal_answers(runtime, config)))
    pollers = await _pollers(runtime, config, utcnow())
    registry.register(PollersCollector(config.task_queue, pollers))
    registry.register(SuppressedCollector(await store.statements.suppressed_total()))
    registry.register(OnCallCollector(await runtime.on_call(utcnow())))
    # Slack calls this process made (forms, private answers); the worker serves its own.
    registry.register(_Forward(SLACK_METRICS))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
