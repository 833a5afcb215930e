"""The embedded stack's outbox: every e-mail lands as a file, whatever its address."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from pathlib import Path

from adapters.email import OutboxMailer


def test_an_address_as_long_as_allowed_still_lands_in_the_outbox(tmp_path: Path) -> None:
    # Found by schemathesis: a 254-character address made a file name past 255 bytes.
    address = "0" * 64 + "@" + ".".join(["a" * 63] * 2) + "." + "a" * 59
    assert len(address) == 252

    message_id = asyncio.run(OutboxMailer(tmp_path).send(address, "Confirm", "Click it", {}))

    (written,) = tmp_path.glob("*.eml")
    assert len(written.name.encode()) <= 255
    mail = message_from_bytes(written.read_bytes())
    assert mail["To"] == address
    assert mail["Message-ID"] == message_id
