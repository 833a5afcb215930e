"""What the Slack adapter needs to be configured with."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

DEFAULT_API_URL = "https://slack.com/api/"
# Where Slack's response_urls live; tocsin posts answers to nowhere else.
DEFAULT_HOOKS_URL = "https://hooks.slack.com/"


@dataclass(frozen=True)
class SlackConfig:
    bot_token: SecretStr
    api_url: str = DEFAULT_API_URL
    # Slack paces messages to one channel at about one a second.
    min_interval_seconds: float = 1.0
