"""What the worker needs, resolved by the process that starts it (``tocsin worker``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from adapters.email import SmtpConfig
from adapters.slack.config import SlackConfig

# Workflows each Temporal worker keeps in memory between their tasks (the SDK's default is
# 1,000; ADR 0030 chose 200). Twenty since ADR 0039: each one cached cost the worker 200 KiB
# and more, and an incident's history is short enough that replaying it when it next acts
# costs milliseconds.
CACHED_WORKFLOWS = 20


@dataclass(frozen=True)
class WorkerConfig:
    """Everything the worker needs, resolved by the process that starts it."""

    temporal_address: str
    temporal_namespace: str
    task_queue: str
    database_url: str
    playbooks_dir: Path
    # The service catalog drills grade their alerts with; None: the bundled one.
    services_file: Path | None = None
    # Without Slack, notifications go to stdout and this file.
    notifications_log: Path | None = None
    slack: SlackConfig | None = None
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    # Links in e-mails and Slack messages start here.
    public_url: str = "http://127.0.0.1:8080"
    # Without SMTP, e-mails are written to this directory instead.
    smtp: SmtpConfig | None = None
    outbox_dir: Path | None = None
    webhook_allow_private: bool = False
    # Signs acknowledge links in e-mail and push pages (the API checks them with it).
    ack_secret: SecretStr | None = None
    # ADR 0030: workflows the worker keeps in memory between their tasks; one evicted is
    # replayed from its history when it next acts.
    cached_workflows: int = CACHED_WORKFLOWS
