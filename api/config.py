"""Everything the API needs, resolved once by the process that starts it (``tocsin api``),
so no request reads a token from disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from adapters.slack.config import DEFAULT_HOOKS_URL, SlackConfig

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class ApiConfig:
    api_token: SecretStr
    database_url: str
    playbooks_dir: Path
    services_file: Path
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "tocsin"
    # Alertmanager's webhook has its own token, so the credentials stored in its config can
    # only post alerts, never act on incidents; None refuses every delivery.
    intake_token: SecretStr | None = None
    max_body_bytes: int = 1024 * 1024
    intake_max_body_bytes: int = 2 * 1024 * 1024
    intake_timeout_seconds: float = 8.0
    # Answer the webhook with the incident's outcome (update-with-start) rather than once
    # Temporal has stored the notification (signal-with-start); ADR 0011.
    intake_waits: bool = False
    # Past this a call to Temporal answers 503 with Retry-After.
    temporal_timeout_seconds: float = 10.0
    # Slack: the API opens forms and answers privately; None without a bot token.
    slack: SlackConfig | None = None
    slack_signing_secret: SecretStr | None = None
    slack_hooks_url: str = DEFAULT_HOOKS_URL
    # Customer messaging: links in e-mails point here; the status page is named so.
    public_url: str = "http://127.0.0.1:8080"
    status_page_name: str = "Service status"
    webhook_allow_private: bool = False
    # Public sign-ups (``limits`` notation): per address, and per client address.
    signup_per_address: str = "3/hour"
    signup_per_client: str = "10/hour"
    # Requests per API token (``limits`` notation), counted per API process.
    rate_limit_per_token: str = "600/minute"  # noqa: S105 (a rate, not a secret)
    # Checks the acknowledge links of e-mail and push pages; None refuses every one.
    ack_secret: SecretStr | None = None
