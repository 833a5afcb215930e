"""Human durations as written in playbooks and config: ``90s``, ``15m``, ``2h``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# ISO 8601 is accepted too because pydantic's default JSON form of a timedelta is ISO.
_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(value: Any) -> timedelta:
    """Parse ``90s``/``15m``/``2h``/``1h30m`` (or a timedelta, or seconds as a number)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration is written like 90s, 15m or 2h")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError("a duration is written like 90s, 15m or 2h")
    text = value.strip()
    iso = _ISO.match(text)
    if iso and text != "P":
        days, hours, minutes, seconds = iso.groups()
        return timedelta(
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=float(seconds or 0),
        )
    pos = 0
    total = 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration; write it like 90s, 15m, 2h or 1h30m")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """The shortest playbook spelling of ``delta`` (``15m``, ``1h30m``, ``90s``)."""
    total_ms = round(delta.total_seconds() * 1000)
    if total_ms == 0:
        return "0s"
    sign = "-" if total_ms < 0 else ""
    total_ms = abs(total_ms)
    seconds, ms = divmod(total_ms, 1000)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    if ms:
        parts.append(f"{ms}ms")
    return sign + "".join(parts)


def humanize(delta: timedelta) -> str:
    """A reading for people at 3 a.m.: ``14m 58s``, ``2h 5m``, ``overdue by 3m 2s``."""
    seconds = int(delta.total_seconds())
    if seconds == 0 and delta > timedelta(0):
        return "under 1s"
    if seconds < 0:
        return "overdue by " + humanize(timedelta(seconds=-seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["90s", "15m", "2h"]}),
]


def millis(delta: timedelta) -> int:
    """A duration as the whole milliseconds the timeline's data keeps."""
    return round(delta.total_seconds() * 1000)
