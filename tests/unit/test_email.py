"""E-mail as a real SMTP server (``aiosmtpd``) receives it: headers readable by any client."""

from __future__ import annotations

import email
import email.policy

import pytest

from adapters.email import SmtpConfig, SmtpMailer
from testkit.mail import smtp_server

SUBJECTS = [
    "[Investigating] Checkout failing for all users",
    # A little too long for the first line, short enough for the next: the standard library
    # moved the whole of it there, leaving "Subject:" alone on its line.
    "[Resolved] " + "b" * 60,
    "[Investigating] DRILL for payments-gateway.eu-west-1.example.com and checkout",
    "[Investigating] payments-gateway.eu-west-1.checkout.example.com-returns-503-for-every-card",
    "x" * 120,
    "[Identified] Café checkout — card payments failing for a third of all customers today",
]


@pytest.mark.parametrize("subject", SUBJECTS)
async def test_the_subject_header_never_starts_with_an_empty_line(subject: str) -> None:
    with smtp_server() as smtp:
        mailer = SmtpMailer(SmtpConfig(host=smtp.host, port=smtp.port, starttls=False))
        await mailer.send("ops@example.com", subject, "Card payments are failing.", {})

    (received,) = smtp.inbox.received
    headers = received.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    (line,) = [h for h in headers if h.lower().startswith(b"subject:")]
    assert line.split(b":", 1)[1].strip(), f"empty first line: {headers}"
    parsed = email.message_from_bytes(received.raw, policy=email.policy.default)
    assert parsed["Subject"] == subject
