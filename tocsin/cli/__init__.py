"""The ``tocsin`` command: run the processes, and drive incidents through the HTTP API."""

from __future__ import annotations

# Each module registers its commands on the one app.
from tocsin.cli import (
    drills,
    heartbeats,
    incidents,
    maintenance,
    oncall,
    playbooks,
    processes,
    records,
    reviews,
    statements,
    tokens,
)
from tocsin.cli.base import app

__all__ = [
    "app",
    "drills",
    "heartbeats",
    "incidents",
    "main",
    "maintenance",
    "oncall",
    "playbooks",
    "processes",
    "records",
    "reviews",
    "statements",
    "tokens",
]


def main() -> None:
    app()
