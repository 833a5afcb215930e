"""E-mail to subscribers and account managers: SMTP (``aiosmtplib``) when a host is set, else
an outbox directory of ``.eml`` files, so the embedded stack shows what it would have sent."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib
from pydantic import SecretStr

from domain.notify import PermanentFailure


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    starttls: bool = True
    user: str | None = None
    password: SecretStr | None = None
    sender: str = "tocsin <tocsin@localhost>"
    timeout: float = 15.0


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str, headers: dict[str, str]) -> str:
        """Send; return the Message-ID. ``PermanentFailure`` for an address that will never
        take it; anything else is worth retrying."""
        ...


class _Headers(EmailPolicy):
    """The standard policy, except that a header never starts with an empty line.

    Python's folder moves a value that does not fit after ``Subject: `` but fits on a line of
    its own to the next line whole, leaving ``Subject:`` alone; some clients then show no
    subject. The first folded line is joined back: at most a few characters over the 78
    the RFC recommends, far below the 998 it requires, and encoded words keep their size."""

    def fold(self, name: str, value: str) -> str:
        return self._first_line_kept(name, super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        folded = super().fold_binary(name, value).decode("ascii", "surrogateescape")
        return self._first_line_kept(name, folded).encode("ascii", "surrogateescape")

    def _first_line_kept(self, name: str, folded: str) -> str:
        alone = f"{name}:{self.linesep}"
        if folded.startswith(alone):
            return f"{name}: {folded[len(alone) :].lstrip(' ')}"
        return folded


POLICY = _Headers()
# What goes over SMTP: CRLF line ends (``email.policy.SMTP`` with the fix above).
SMTP_POLICY = POLICY.clone(linesep="\r\n")


def message(sender: str, to: str, subject: str, body: str, headers: dict[str, str]) -> EmailMessage:
    mail = EmailMessage(policy=POLICY)
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or "tocsin")
    for name, value in headers.items():
        mail[name] = value
    mail.set_content(body)
    return mail


class SmtpMailer:
    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, to: str, subject: str, body: str, headers: dict[str, str]) -> str:
        config = self._config
        mail = message(config.sender, to, subject, body, headers)
        try:
            # Flattened here: given the message, aiosmtplib would use the standard policy.
            await aiosmtplib.send(
                mail.as_bytes(policy=SMTP_POLICY),
                sender=parseaddr(config.sender)[1],
                recipients=[to],
                hostname=config.host,
                port=config.port,
                start_tls=config.starttls,
                username=config.user,
                password=config.password.get_secret_value() if config.password else None,
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure("recipient_refused", _first_line(exc)) from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                # A permanent SMTP answer (unknown mailbox, policy): retrying will not help.
                raise PermanentFailure(f"smtp_{exc.code}", _first_line(exc)) from None
            raise
        return str(mail["Message-ID"])


class OutboxMailer:
    """Without an SMTP server (the embedded default) each e-mail lands in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def send(self, to: str, subject: str, body: str, headers: dict[str, str]) -> str:
        mail = message("tocsin <tocsin@localhost>", to, subject, body, headers)
        # A file name has at most 255 bytes; an address may have 254 of its own.
        safe = re.sub(r"[^A-Za-z0-9@._-]", "_", to)[:80]
        path = self._directory / f"{uuid.uuid4().hex[:12]}-{safe}.eml"
        await asyncio.to_thread(self._write, path, mail.as_bytes())
        return str(mail["Message-ID"])

    def _write(self, path: Path, data: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _first_line(exc: Exception) -> str:
    # Server answers can quote the recipient; the first line is enough to act on.
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
