"""From one Alertmanager notification to what the incident workflow receives.

Pure functions: grading, the incident's title, level and type, and the split of a large
notification into batches small enough for a Temporal update (storms bring thousands of
alerts; a single payload of them would pass Temporal's 2 MB limit).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from alerts.catalog import Catalog
from alerts.grading import SERVICE_LABEL, grade, incident_type, most_serious
from alerts.models import Alert, AlertStatus, WebhookPayload
from domain.alerts import AlertBatch, AlertIn, AlertState
from domain.models import Declaration, Grading, Source
from domain.rules.lifecycle import ALERTMANAGER

BATCH_SIZE = 500
# Alerts per batch whose labels and annotations travel with them, for the timeline.
DETAILED_PER_BATCH = 50
_TITLE_CHARS = 200


@dataclass(frozen=True)
class Intake:
    group: str
    group_id: str
    request_id: str
    batches: list[AlertBatch]
    # What a new incident for this group starts with (ignored if the group has one); None
    # when nothing fires: such a notification opens nothing.
    opening: Declaration | None


def group_name(payload: WebhookPayload) -> str:
    return f"{payload.receiver} {payload.groupKey}"


def prepare(
    payload: WebhookPayload,
    catalog: Catalog,
    now: datetime,
    *,
    batch_size: int = BATCH_SIZE,
) -> Intake:
    gradings: dict[str, Grading] = {}
    for alert in payload.alerts:
        if alert.status is AlertStatus.FIRING:
            gradings[alert.fingerprint] = grade(alert, catalog, now)
    # Firing alerts first, so the batch that may open the incident carries them.
    ordered = sorted(payload.alerts, key=lambda a: a.status is not AlertStatus.FIRING)
    request_id = str(uuid.uuid4())
    group = group_name(payload)
    batches = []
    for start in range(0, len(ordered), batch_size):
        chunk = ordered[start : start + batch_size]
        chunk_gradings = [gradings[a.fingerprint] for a in chunk if a.fingerprint in gradings]
        batches.append(
            AlertBatch(
                request_id=request_id,
                alert_group=group,
                external_url=payload.externalURL,
                alerts=[
                    _alert_in(a, gradings.get(a.fingerprint), i < DETAILED_PER_BATCH)
                    for i, a in enumerate(chunk)
                ],
                grading=most_serious(chunk_gradings),
                truncated_alerts=payload.truncatedAlerts,
            )
        )
    return Intake(
        group=group,
        group_id=payload.group_id,
        request_id=request_id,
        batches=batches,
        opening=_opening(payload, gradings, catalog, group),
    )


def _alert_in(alert: Alert, grading: Grading | None, detailed: bool) -> AlertIn:
    return AlertIn(
        fingerprint=alert.fingerprint,
        name=alert.name,
        status=AlertState(alert.status.value),
        starts_at=alert.startsAt,
        ends_at=alert.endsAt,
        level=grading.level if grading else None,
        score=grading.score if grading else None,
        labels=dict(alert.labels) if detailed else None,
        annotations=dict(alert.annotations) if detailed else None,
        generator_url=alert.generatorURL if detailed and alert.generatorURL else None,
    )


DRILL_LABEL = "tocsin_drill"


def _opening(
    payload: WebhookPayload, gradings: dict[str, Grading], catalog: Catalog, group: str
) -> Declaration | None:
    top = most_serious(gradings.values())
    if top is None:
        return None
    firing = [a for a in payload.alerts if a.fingerprint in gradings]
    lead = next(
        a for a in firing if gradings[a.fingerprint] is top
    )  # the alert that set the level names the incident
    kind, _ = incident_type(lead, catalog)
    summary = payload.commonAnnotations.get("summary") or lead.annotations.get("summary")
    service = payload.commonLabels.get(SERVICE_LABEL) or lead.labels.get(SERVICE_LABEL)
    title = summary or (f"{lead.name} on {service}" if service else lead.name)
    if len(firing) > 1 and not payload.commonAnnotations.get("summary"):
        title = f"{title} (+{len(firing) - 1} more)"
    description = payload.commonAnnotations.get("description") or lead.annotations.get(
        "description", ""
    )
    # A drill's alerts carry the run that injected them (``tocsin drill``).
    drill_run = payload.commonLabels.get(DRILL_LABEL) or lead.labels.get(DRILL_LABEL)
    return Declaration(
        title=title[:_TITLE_CHARS],
        description=description,
        level=top.level,
        type=kind,
        service=service,
        drill=drill_run is not None,
        drill_run=drill_run,
        grading=top,
        source=Source.ALERTMANAGER,
        declared_by=ALERTMANAGER,
        alert_group=group,
    )
