"""What several resources' bodies share: the field types for people and text, who acts
(``by``), and the request base.

Request bodies forbid unknown fields, so a misspelt field (``levle``) is a 422 that names it
instead of a silently ignored value.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

INCIDENT_ID_PATTERN = r"^[A-Za-z0-9._-]{1,100}$"

PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")
]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"\S")
]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000, pattern=r"\S")
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]


# Who acts. A token bound to a roster person acts as them: ``by`` may be left out, and
# naming anyone else is a 403 unless the token may act for others.
By = Annotated[
    PersonName | None,
    Field(description="who acts; default: the token's person, else the token's name"),
]


def _iso_only(value: object) -> object:
    # Without this a number (0.5 in JSON, "0.5" in a query) is read as seconds since 1970,
    # which the schema's date-time does not allow.
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric or (isinstance(value, str) and not re.match(r"^\s*\d{4}-\d{2}-\d{2}", value)):
        raise ValueError("expected a date-time such as 2026-12-01T10:00:00Z")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]
AwareIsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
