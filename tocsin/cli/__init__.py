"""The ``tocsin`` command: run the processes, and drive incidents through the HTTP API."""

from __future__ import annotations

# Each module registers its commands on the one app.
from tocsin.cli import drills, incidents, messages, playbooks, processes, reviews, tokens
from tocsin.cli.base import app

__all__ = [
    "app",
    "drills",
    "incidents",
    "main",
    "messages",
    "playbooks",
    "processes",
    "reviews",
    "tokens",
]


def main() -> None:
    app()
