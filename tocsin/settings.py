"""One settings class for every process, read from ``TOCSIN_*`` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import limits
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.acklinks import derived_secret
from adapters.email import SmtpConfig
from adapters.slack.config import DEFAULT_API_URL as DEFAULT_SLACK_API_URL
from adapters.slack.config import DEFAULT_HOOKS_URL as DEFAULT_SLACK_HOOKS_URL
from adapters.slack.config import SlackConfig
from alerts.catalog import DEFAULT_FILE as DEFAULT_SERVICES_FILE
from api.config import ApiConfig
from playbooks.base import DEFAULT_DIR as DEFAULT_PLAYBOOKS_DIR
from workflows.config import CACHED_WORKFLOWS, WorkerConfig

TOKEN_FILE = "api-token"  # noqa: S105 - a file name, not a secret
INTAKE_TOKEN_FILE = "intake-token"  # noqa: S105 - a file name, not a secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore")

    data_dir: Path = Field(default=Path(".tocsin"), description="SQLite file, logs, token")
    playbooks_dir: Path = DEFAULT_PLAYBOOKS_DIR
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "tocsin"
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; SQLite in the data directory if unset"
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_token: SecretStr | None = None
    max_body_bytes: int = 1024 * 1024
    # Alertmanager's webhook has its own token, so the credentials stored in its config can
    # only post alerts, never act on incidents.
    intake_token: SecretStr | None = None
    ack_secret: SecretStr | None = Field(
        default=None,
        description="signs acknowledge links in e-mail and push pages; "
        "default: derived from the API token",
    )
    intake_token_file: Path | None = Field(
        default=None,
        description="a file holding the intake token: the one Alertmanager reads (a secret)",
    )
    intake_max_body_bytes: int = 2 * 1024 * 1024
    restart_window_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="tocsin up gives up on a child that dies more than 5 times within this",
    )
    intake_timeout_seconds: float = Field(
        default=8.0, gt=0, description="answer 503 (Alertmanager retries) past this"
    )
    intake_waits: bool = Field(
        default=False, description="answer deliveries with their outcome (ADR 0011)"
    )
    temporal_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="answer 503 with Retry-After when Temporal takes longer (an "
        "acknowledgement is kept instead: 202, ADR 0038)",
    )
    services_file: Path = DEFAULT_SERVICES_FILE
    # Slack: without a bot token, notifications go to the console.
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_hooks_url: str = Field(
        default=DEFAULT_SLACK_HOOKS_URL, description="Slack's response_urls start with this"
    )
    slack_min_interval_seconds: float = Field(
        default=1.0, ge=0, description="pause between messages to one channel (Slack: ~1/s)"
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080", description="links in e-mails and Slack start here"
    )
    smtp_host: str | None = Field(default=None, description="without it, e-mails go to an outbox")
    smtp_port: int = 587
    smtp_from: str = "tocsin <tocsin@localhost>"
    smtp_starttls: bool = True
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    webhook_allow_private: bool = Field(
        default=False, description="allow webhook URLs on loopback and private networks"
    )
    status_page_name: str = Field(
        default="Service status", min_length=1, max_length=100, description="the page's title"
    )
    signup_per_address: str = Field(
        default="3/hour", description="public sign-ups per e-mail address (limits notation)"
    )
    signup_per_client: str = Field(
        default="10/hour", description="public sign-ups per client IP (limits notation)"
    )
    api_rate_limit: str = Field(
        default="600/minute", description="requests per API token (limits notation)"
    )
    worker_cached_workflows: int = Field(
        default=CACHED_WORKFLOWS,
        ge=1,
        description="workflows each worker keeps in memory; others replay when they act",
    )
    worker_metrics_port: int | None = Field(
        default=None, description="serve the worker's Slack metrics for Prometheus here"
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="worker processes `tocsin up` starts (default: the number of cores)",
    )

    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    @field_validator("signup_per_address", "signup_per_client", "api_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate such as 3/hour or 10/minute") from None
        return value

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None and bool(self.slack_bot_token.get_secret_value())

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tocsin.db').resolve()}"

    def resolved_api_token(self) -> SecretStr | None:
        """The configured token, else the one ``tocsin up`` generated into the data directory."""
        return _token(self.api_token, self.data_dir / TOKEN_FILE)

    def resolved_ack_secret(self) -> SecretStr | None:
        """What signs acknowledge links: its own setting, else derived from the API token
        (rotating the token then retires the links already sent)."""
        if self.ack_secret is not None and self.ack_secret.get_secret_value():
            return self.ack_secret
        token = self.resolved_api_token()
        return derived_secret(token) if token is not None else None

    def resolved_intake_token(self) -> SecretStr | None:
        """The configured token, else the named file's (one secret for Alertmanager and the
        API), else the one ``tocsin up`` generated into the data directory."""
        if self.intake_token_file is not None:
            token = _token(self.intake_token, self.intake_token_file)
            if token is None:
                raise IntakeTokenMissing(self.intake_token_file)
            return token
        return _token(self.intake_token, self.data_dir / INTAKE_TOKEN_FILE)

    def slack_config(self) -> SlackConfig | None:
        if self.slack_bot_token is None or not self.slack_enabled:
            return None
        return SlackConfig(
            bot_token=self.slack_bot_token,
            api_url=self.slack_api_url,
            min_interval_seconds=self.slack_min_interval_seconds,
        )

    def smtp_config(self) -> SmtpConfig | None:
        if not self.smtp_host:
            return None
        return SmtpConfig(
            host=self.smtp_host,
            port=self.smtp_port,
            starttls=self.smtp_starttls,
            user=self.smtp_user or None,
            password=self.smtp_password or None,
            sender=self.smtp_from,
        )

    def api_config(self) -> ApiConfig:
        """The API's configuration, tokens read once; raises ``ApiTokenMissing``."""
        token = self.resolved_api_token()
        if token is None:
            raise ApiTokenMissing
        return ApiConfig(
            api_token=token,
            intake_token=self.resolved_intake_token(),
            database_url=self.resolved_database_url(),
            playbooks_dir=self.playbooks_dir,
            services_file=self.services_file,
            temporal_address=self.temporal_address,
            temporal_namespace=self.temporal_namespace,
            task_queue=self.task_queue,
            max_body_bytes=self.max_body_bytes,
            intake_max_body_bytes=self.intake_max_body_bytes,
            intake_timeout_seconds=self.intake_timeout_seconds,
            intake_waits=self.intake_waits,
            temporal_timeout_seconds=self.temporal_timeout_seconds,
            slack=self.slack_config(),
            slack_signing_secret=self.slack_signing_secret or None,
            slack_hooks_url=self.slack_hooks_url,
            public_url=self.public_url,
            status_page_name=self.status_page_name,
            webhook_allow_private=self.webhook_allow_private,
            signup_per_address=self.signup_per_address,
            signup_per_client=self.signup_per_client,
            rate_limit_per_token=self.api_rate_limit,
            ack_secret=self.resolved_ack_secret(),
        )

    def worker_config(self) -> WorkerConfig:
        return WorkerConfig(
            temporal_address=self.temporal_address,
            temporal_namespace=self.temporal_namespace,
            task_queue=self.task_queue,
            database_url=self.resolved_database_url(),
            playbooks_dir=self.playbooks_dir,
            services_file=self.services_file,
            notifications_log=self.data_dir / "logs" / "notifications.log",
            slack=self.slack_config(),
            metrics_host=self.api_host,
            metrics_port=self.worker_metrics_port,
            public_url=self.public_url,
            smtp=self.smtp_config(),
            outbox_dir=self.data_dir / "outbox",
            webhook_allow_private=self.webhook_allow_private,
            ack_secret=self.resolved_ack_secret(),
            cached_workflows=self.worker_cached_workflows,
        )


class ApiTokenMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "no API token is configured: set TOCSIN_API_TOKEN or write one to "
            "<data dir>/api-token (tocsin up generates it); the API refuses to run open"
        )


class IntakeTokenMissing(RuntimeError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"TOCSIN_INTAKE_TOKEN_FILE names {path}, which is missing or empty: "
            "write the Alertmanager webhook's token there"
        )


def _token(configured: SecretStr | None, token_file: Path) -> SecretStr | None:
    if configured is not None and configured.get_secret_value():
        return configured
    if token_file.is_file():
        token = token_file.read_text(encoding="utf-8").strip()
        if token:
            return SecretStr(token)
    return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
