"""Drills from Slack: ``/incident drill <scenario>`` starts one, and ``/incident classify``
triages a drill's incident (scored when the drill ends)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Protocol

from adapters.slack.inbound.replies import INLINE, ephemeral, outcome
from domain.access import Permission
from domain.drills import Classification, DrillRun
from domain.models import Actor, IncidentType, Level


class DrillActions(Protocol):
    async def start(self, name: str, by: Actor, now: datetime) -> DrillRun: ...

    async def classify(
        self, incident_id: str, level: Level, type: IncidentType, by: Actor, now: datetime
    ) -> Classification: ...


_UNAVAILABLE = "Drills are not available on this tocsin."


class DrillRequests:
    COMMAND_NEEDS: ClassVar[dict[str, Permission]] = {"drill": Permission.LEAD}

    def __init__(self, actions: DrillActions | None, clock: Callable[[], datetime]) -> None:
        self._actions = actions
        self._clock = clock

    async def start(self, rest: str, by: Actor) -> dict[str, Any]:
        if self._actions is None:
            return ephemeral(_UNAVAILABLE)
        name = rest.split()[0].lower() if rest else ""
        if not name:
            return ephemeral(
                f"Usage: `/incident drill <scenario>`. {await self._known_scenarios(by)}"
            )
        result = await outcome(self._actions.start(name, by, self._clock()), INLINE)
        if isinstance(result, str):
            return ephemeral(f"No drill started: {result}")
        return ephemeral(
            f"DRILL {result.id} started by {by.name}: its incidents are paged like real ones "
            f"and marked DRILL; it ends by {result.ends_at:%H:%M} UTC at the latest."
        )

    async def _known_scenarios(self, by: Actor) -> str:
        assert self._actions is not None
        # Starting no scenario is refused with the list of the known ones.
        result = await outcome(self._actions.start("", by, self._clock()), INLINE)
        return result if isinstance(result, str) else ""

    async def classify(self, incident_id: str, rest: str, by: Actor) -> dict[str, Any]:
        usage = "Usage: `/incident classify <A|B|C> <type>`, the type one of " + ", ".join(
            f"`{t.value}`" for t in IncidentType
        )
        if self._actions is None:
            return ephemeral(_UNAVAILABLE)
        level, _, kind = rest.partition(" ")
        kind = kind.strip().lower().replace(" ", "_").replace("-", "_")
        if level.upper() not in {lv.value for lv in Level} or kind not in {
            t.value for t in IncidentType
        }:
            return ephemeral(usage)
        call = self._actions.classify(
            incident_id, Level(level.upper()), IncidentType(kind), by, self._clock()
        )
        result = await outcome(call, INLINE)
        if isinstance(result, str):
            return ephemeral(f"Not classified: {result}")
        return ephemeral(
            f"Classified [{incident_id}] as level {result.level} "
            f"{result.type.value.replace('_', ' ')}; it is scored when the drill ends."
        )
