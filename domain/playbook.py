"""Schemas of the playbook directory: one YAML per level, the coordination matrix, the roster.

Per-level policy is plain data so that organisations write their own without touching code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    model_validator,
)

from domain.durations import Duration, format_duration
from domain.interning import interned
from domain.models import Function, IncidentType, Level, Person, Role, Tier


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Interned(_Strict):
    """A value every cached workflow's input carries a copy of, the same few contents across
    thousands of incidents: decoded from JSON once per content (domain/interning.py)."""

    @model_validator(mode="wrap")
    @classmethod
    def _shared(
        cls, data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Self:
        return interned(cls, data, handler, info)


class PageTarget(_Strict):
    """Whom a step pages: a tier of the incident's lead function(s), or of a named function.

    In YAML either a bare tier (``secondary``) or ``{function: leadership, tier: primary}``.
    """

    function: Function | None = None
    tier: Tier

    @model_validator(mode="before")
    @classmethod
    def _from_bare_tier(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"tier": value}
        return value

    def describe(self) -> str:
        who = self.function.value if self.function else "lead function"
        return f"{who} {self.tier.value}"


class EscalationStep(_Strict):
    after: Duration = Field(description="offset from the moment the level took effect")
    page: list[PageTarget] = Field(min_length=1)


class BreachPolicy(_Strict):
    page: list[PageTarget] = Field(min_length=1)
    repeat_every: Duration = Field(description="re-page this often until acknowledged")

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.repeat_every < timedelta(seconds=1):
            raise ValueError("repeat_every must be at least 1s")
        return self


class AlertsCleared(StrEnum):
    """What happens when every alert of an alert-opened incident has resolved."""

    MITIGATED = "mitigated"  # a human still confirms and resolves
    RESOLVED = "resolved"


class Tell(StrEnum):
    """Whether customers are told of an incident of this level."""

    ALWAYS = "always"
    DATA_LEAKS = "data_leaks"  # only when customers' data may be exposed
    NEVER = "never"


class CustomerPolicy(_Interned):
    """What customers are told, and when (DESIGN.md §1: a first public statement; customer
    channels answer within 15 minutes, 5 in an emergency). Interned: each incident's
    statements workflow carries its levels' policies (about 11 KiB an incident)."""

    tell: Tell = Tell.NEVER
    first_statement: Duration = Field(
        default=timedelta(minutes=15), description="due this long after declaration"
    )
    update_every: Duration = Field(
        default=timedelta(hours=1), description="after each published statement, until resolved"
    )
    holding_statement: bool = Field(
        default=True,
        description="publish the pre-approved holding statement when an approval is late",
    )
    escalate: list[EscalationStep] = Field(
        default_factory=list,
        description="an approval not given by its due time: page these, offsets from the due time",
    )

    def applies(self, kind: IncidentType) -> bool:
        if self.tell is Tell.ALWAYS:
            return True
        return self.tell is Tell.DATA_LEAKS and kind is IncidentType.DATA_LEAK

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.update_every < timedelta(minutes=1):
            raise ValueError("update_every must be at least 1m")
        previous = timedelta(0)
        for index, step in enumerate(self.escalate):
            if step.after < previous:
                raise ValueError(f"escalate[{index}].after comes before the previous step")
            previous = step.after
        return self


class ActionPolicy(_Strict):
    """How an action item of a review is followed until it is done or dropped."""

    remind_before: Duration = Field(
        default=timedelta(days=2), description="its owner is reminded this long before it is due"
    )
    escalate_every: Duration = Field(
        default=timedelta(days=7),
        description="overdue: the review's owner and the lead's manager are told, this often",
    )


class ReviewPolicy(_Strict):
    """The post-incident review every resolved incident gets (DESIGN.md §1: review)."""

    due_in: Duration = Field(
        default=timedelta(days=5), description="due this long after the incident is resolved"
    )
    drill_due_in: Duration = Field(
        default=timedelta(days=7), description="a drill's review is due this long after"
    )
    remind_before: Duration = Field(
        default=timedelta(days=1), description="the owner is reminded this long before it is due"
    )
    overdue_every: Duration = Field(
        default=timedelta(days=2), description="overdue: the incident's leads are told this often"
    )
    actions: ActionPolicy = ActionPolicy()

    def due(self, resolved_at: datetime, drill: bool) -> datetime:
        return resolved_at + (self.drill_due_in if drill else self.due_in)

    @model_validator(mode="after")
    def _positive(self) -> Self:
        for name in ("due_in", "drill_due_in", "overdue_every"):
            if getattr(self, name) < timedelta(minutes=1):
                raise ValueError(f"{name} must be at least 1m")
        if self.actions.escalate_every < timedelta(minutes=1):
            raise ValueError("actions.escalate_every must be at least 1m")
        return self


class PartnerStep(_Strict):
    """A step that engages an external partner of the roster (``partner: true``): its first
    contact is paged, and its answer is judged against its own ``respond_within``. Unlike an
    escalation step it fires whether or not someone inside has acknowledged: a partner is
    called in to help fix, not to stand in for the one who acknowledges."""

    partner: str = Field(min_length=1, description="a partner's name in roster.yaml")
    after: Duration = Field(
        default=timedelta(0), description="offset from the moment the level took effect"
    )
    types: list[IncidentType] = Field(
        default_factory=lambda: list(IncidentType), min_length=1, description="only these types"
    )


class LevelPlaybook(_Strict):
    level: Level
    name: str = Field(min_length=1)
    description: str = ""
    response_window: Duration
    escalation: list[EscalationStep] = Field(default_factory=list)
    on_breach: BreachPolicy
    update_every: Duration
    # None means the level's default: see ``alerts_cleared``.
    on_alerts_cleared: AlertsCleared | None = None
    reopen_within: Duration = Field(
        default=timedelta(minutes=30),
        description="a resolved alert incident whose group fires again this soon reopens",
    )
    customers: CustomerPolicy = CustomerPolicy()
    review: ReviewPolicy = ReviewPolicy()
    partners: list[PartnerStep] = Field(
        default_factory=list, description="external partners engaged, offsets in order"
    )

    @property
    def alerts_cleared(self) -> AlertsCleared:
        """Serious incidents wait for a human to say they are over; a C closes with its alerts."""
        if self.on_alerts_cleared is not None:
            return self.on_alerts_cleared
        return AlertsCleared.RESOLVED if self.level is Level.C else AlertsCleared.MITIGATED

    @model_validator(mode="after")
    def _check_timing(self) -> Self:
        if self.response_window < timedelta(seconds=1):
            raise ValueError("response_window must be at least 1s")
        if self.update_every < timedelta(seconds=1):
            raise ValueError("update_every must be at least 1s")
        previous = timedelta(0)
        for index, step in enumerate(self.escalation):
            if step.after < previous:
                raise ValueError(
                    f"escalation[{index}].after ({format_duration(step.after)}) comes before "
                    f"the previous step ({format_duration(previous)}); list steps in order"
                )
            if step.after >= self.response_window:
                raise ValueError(
                    f"escalation[{index}].after ({format_duration(step.after)}) must be inside "
                    f"the response window ({format_duration(self.response_window)}); "
                    "pages after the window belong in on_breach"
                )
            previous = step.after
        previous = timedelta(0)
        for index, partner in enumerate(self.partners):
            if partner.after < previous:
                raise ValueError(f"partners[{index}].after comes before the previous step")
            previous = partner.after
        return self


class CoordinationMatrix(_Strict):
    """Who leads, supports or is informed, per incident type (DESIGN.md §1)."""

    types: dict[IncidentType, dict[Function, Role]]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = [t.value for t in IncidentType if t not in self.types]
        if missing:
            raise ValueError(f"incident types without a row: {', '.join(missing)}")
        for incident_type, row in self.types.items():
            if Role.LEAD not in row.values():
                raise ValueError(f"{incident_type.value}: no function leads this type")
        return self

    def functions(self, incident_type: IncidentType, role: Role) -> list[Function]:
        return [f for f, r in self.types[incident_type].items() if r is role]


class PlaybookSet(_Interned):
    """What an incident pins at start: every level's playbook and the matrix. Interned: each
    cached incident workflow's input carries one."""

    levels: dict[Level, LevelPlaybook]
    matrix: CoordinationMatrix
    # Each partner's respond_within as roster.yaml said when the incident began: the target
    # it is judged by is the one in force then (ADR 0027); its contacts are read when paged.
    partner_targets: dict[str, Duration] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _all_levels(self) -> Self:
        missing = [lv.value for lv in Level if lv not in self.levels]
        if missing:
            raise ValueError(f"no playbook for level {', '.join(missing)}")
        for level, playbook in self.levels.items():
            if playbook.level is not level:
                raise ValueError(f"the playbook for level {level} says level {playbook.level}")
        return self

    def for_level(self, level: Level) -> LevelPlaybook:
        return self.levels[level]


class SlackChannels(_Strict):
    """Where tocsin posts in Slack besides each incident's own channel. Channel IDs
    (``C0123ABCD``) are safest; ``#name`` works for public channels."""

    announce: dict[Level, str] = Field(
        default_factory=dict, description="a summary of every new incident, by level"
    )
    functions: dict[Function, str] = Field(
        default_factory=dict, description="informed functions get their notice here"
    )


class AccountTier(StrEnum):
    STRATEGIC = "strategic"
    MAJOR = "major"
    STANDARD = "standard"


class KeyAccount(_Strict):
    """A customer whose account manager hears of a statement before the public does."""

    name: str = Field(min_length=1, max_length=200)
    tier: AccountTier = AccountTier.STANDARD
    services: list[str] = Field(min_length=1, description="services they use; * for all")
    manager: Person

    def uses(self, service: str | None) -> bool:
        return "*" in self.services or (service is not None and service in self.services)


class KeyAccounts(_Strict):
    accounts: list[KeyAccount] = Field(default_factory=list)

    def for_service(self, service: str | None) -> list[KeyAccount]:
        """The accounts using ``service``, most important first (the priority contact chain)."""
        order = list(AccountTier)
        return sorted(
            (a for a in self.accounts if a.uses(service)), key=lambda a: order.index(a.tier)
        )
