"""The Alertmanager webhook payload, version 4, as Alertmanager 0.25+ sends it.

Reference: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config. Unknown
fields are ignored (Alertmanager adds fields between releases); the ones tocsin relies on are
required and checked, so a malformed notification is a 422 naming the field.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from domain.ids import ID_ALPHABET

# Alertmanager marks "no end yet" with Go's zero time.
_GO_ZERO_YEAR = 1

# Caps chosen far above anything Alertmanager produces, so they only stop abuse.
MAX_LABELS = 128
MAX_VALUE_CHARS = 8192


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


def _check_mapping(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} entries")
    for key, item in value.items():
        if len(key) > 256 or len(item) > MAX_VALUE_CHARS:
            raise ValueError(f"{key[:40]!r}: key or value too long")
    return value


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Alert(_Payload):
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: AwareDatetime
    endsAt: datetime | None = None
    generatorURL: str = Field(default="", max_length=MAX_VALUE_CHARS)
    fingerprint: str = Field(min_length=1, max_length=64)

    _labels = field_validator("labels", "annotations")(_check_mapping)

    @field_validator("startsAt", "endsAt", mode="before")
    @classmethod
    def _text_only(cls, value: object) -> object:
        # Alertmanager writes RFC 3339 text; a number would otherwise pass as epoch seconds,
        # which the schema (date-time) does not allow.
        if isinstance(value, int | float):
            raise ValueError("expected an RFC 3339 date-time such as 2026-12-01T10:00:00Z")
        return value

    @field_validator("endsAt")
    @classmethod
    def _zero_is_none(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.year == _GO_ZERO_YEAR:
            return None
        return value

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "unnamed alert")

    @property
    def dedup_key(self) -> str:
        """What makes one delivery of this alert the same as another: Alertmanager resends
        firing alerts on every group interval, and HA pairs send everything twice."""
        return f"{self.fingerprint}/{self.startsAt.astimezone(UTC).isoformat()}/{self.status.value}"


class WebhookPayload(_Payload):
    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=MAX_VALUE_CHARS)
    truncatedAlerts: int = Field(default=0, ge=0, strict=True)  # not true/false as 1/0
    status: AlertStatus
    receiver: str = Field(min_length=1, max_length=256)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = Field(default="", max_length=MAX_VALUE_CHARS)
    alerts: list[Alert] = Field(min_length=1)

    _maps = field_validator("groupLabels", "commonLabels", "commonAnnotations")(_check_mapping)

    @property
    def group_id(self) -> str:
        """A stable, short identity of the alert group: receiver and groupKey together, since
        two receivers may route the same alerts and each deserves its own incident."""
        digest = hashlib.sha256(f"{self.receiver}\n{self.groupKey}".encode()).digest()
        return _base31(digest, 8)


def _base31(digest: bytes, length: int) -> str:
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(ID_ALPHABET))
        chars.append(ID_ALPHABET[index])
    return "".join(chars)
