"""The service catalog (``alerts/services.yaml``): what grading knows about each service."""

from __future__ import annotations

import functools
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.durations import Duration
from domain.models import Function, IncidentType

DEFAULT_FILE = Path(__file__).resolve().parent / "services.yaml"


class Criticality(StrEnum):
    """The core-system coefficient of DESIGN.md §1."""

    CORE = "core"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def coefficient(self) -> float:
        return _CRITICALITY[self]


_CRITICALITY = {
    Criticality.CORE: 1.0,
    Criticality.HIGH: 0.7,
    Criticality.MEDIUM: 0.4,
    Criticality.LOW: 0.1,
}


class Exposure(StrEnum):
    """Who sees the failure: the 0.1 of the score that DESIGN.md leaves to us."""

    DATA = "data"
    CUSTOMER = "customer"
    INTERNAL = "internal"

    @property
    def coefficient(self) -> float:
        return _EXPOSURE[self]


_EXPOSURE = {Exposure.DATA: 1.0, Exposure.CUSTOMER: 0.7, Exposure.INTERNAL: 0.2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Service(_Strict):
    criticality: Criticality
    user_base: int = Field(ge=0, description="users of this service")
    owner: Function
    default_type: IncidentType = IncidentType.SERVICE_OUTAGE
    exposure: Exposure = Exposure.INTERNAL
    usual_handling_time: Duration = Field(description="how long such an alert usually takes")
    # The status page: the name customers know it by, and whether they see it at all
    # (default: when its exposure is not internal).
    display_name: str | None = Field(default=None, max_length=100)
    customer_visible: bool | None = None
    # The availability objective (0.999: 99.9% of requests succeed over 30 days) that the
    # burn-rate rules in alerts/prometheus/rules.yml hold the service to; none without one.
    slo: float | None = Field(default=None, gt=0, lt=1)

    @property
    def public(self) -> bool:
        if self.customer_visible is not None:
            return self.customer_visible
        return self.exposure is not Exposure.INTERNAL

    @model_validator(mode="after")
    def _positive_handling_time(self) -> Self:
        if self.usual_handling_time <= timedelta(0):
            raise ValueError("usual_handling_time must be positive")
        return self


class Thresholds(_Strict):
    A: float = Field(gt=0, le=1)
    B: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.B >= self.A:
            raise ValueError(f"B ({self.B}) must be below A ({self.A})")
        return self


class Catalog(_Strict):
    total_users: int = Field(gt=0, description="all users of the company, for affected users")
    thresholds: Thresholds
    default: Service
    services: dict[str, Service] = Field(default_factory=dict)

    def components(self) -> list[tuple[str, Service]]:
        """The services customers see on the status page, in catalog order."""
        return [(key, service) for key, service in self.services.items() if service.public]

    def lookup(self, service: str | None) -> tuple[Service, bool]:
        """The service's entry, and whether it was found (else the default applies)."""
        if service is not None and service in self.services:
            return self.services[service], True
        return self.default, False


class CatalogError(ValueError):
    pass


# The catalog is read by every API and worker a process builds, with the same text each time:
# kept by its text (the result depends on nothing else), as the playbooks are.
@functools.lru_cache(maxsize=16)
def _validated(text: str) -> Catalog:
    # libyaml, as playbooks/documents.py says why (alerts may not import playbooks).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return Catalog.model_validate(yaml.load(text, Loader=loader))  # noqa: S506


def load_catalog(path: Path = DEFAULT_FILE) -> Catalog:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    try:
        return _validated(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise CatalogError(f"{path}: {problems}") from None
