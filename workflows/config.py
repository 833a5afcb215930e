"""What the worker needs, resolved by the process that starts it (``tocsin worker``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapters.slack.config import SlackConfig


@dataclass(frozen=True)
class WorkerConfig:
    """Everything the worker needs, resolved by the process that starts it."""

    temporal_address: str
    temporal_namespace: str
    task_queue: str
    database_url: str
    playbooks_dir: Path
    # Without Slack, notifications go to stdout and this file.
    notifications_log: Path | None = None
    slack: SlackConfig | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
