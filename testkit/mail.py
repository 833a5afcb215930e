"""A real SMTP server on loopback (``aiosmtpd``) that keeps what it receives, and can refuse
mail for a while, as a relay that is down does."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from testkit.processes import free_port

_LINK = re.compile(r"https?://\S+")


@dataclass
class Received:
    to: list[str]
    message: EmailMessage
    raw: bytes = b""  # as it came over the wire, for what parsing would smooth over

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())

    def links(self) -> list[str]:
        return _LINK.findall(self.text)

    def link(self, containing: str) -> str:
        found = [url for url in self.links() if containing in url]
        assert found, f"no link with {containing!r} in:\n{self.text}"
        return found[0]


@dataclass
class Inbox:
    received: list[Received] = field(default_factory=list)
    # While set, every message is answered with this temporary failure.
    refusing: str | None = None
    refused: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refusing is not None:
            self.refused += 1
            return self.refusing
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(list(envelope.rcpt_tos), message, raw))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.to]


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller: Any = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()
