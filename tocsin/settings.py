"""One settings class for every process, read from ``TOCSIN_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from playbooks.loader import DEFAULT_DIR as DEFAULT_PLAYBOOKS_DIR

TOKEN_FILE = "api-token"  # noqa: S105 - a file name, not a secret


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

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tocsin.db').resolve()}"

    def resolved_api_token(self) -> SecretStr | None:
        """The configured token, else the one ``tocsin up`` generated into the data directory."""
        if self.api_token is not None and self.api_token.get_secret_value():
            return self.api_token
        token_file = self.data_dir / TOKEN_FILE
        if token_file.is_file():
            token = token_file.read_text(encoding="utf-8").strip()
            if token:
                return SecretStr(token)
        return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
