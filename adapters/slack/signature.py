"""Slack's v0 request signature: HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing
secret. Checked before anything in the body is parsed."""

from __future__ import annotations

import hashlib
import hmac

MAX_AGE_SECONDS = 300


class SignatureRefused(Exception):
    """Why a request does not come from Slack; the detail never quotes the secret."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str | None, timestamp: str, given: str, body: bytes, now: float) -> None:
    """Raise ``SignatureRefused`` unless ``body`` was signed by Slack less than five minutes
    ago (a replayed request is refused)."""
    if not secret:
        raise SignatureRefused("Slack is not configured here: set TOCSIN_SLACK_SIGNING_SECRET")
    if not timestamp or not given:
        raise SignatureRefused("missing Slack signature headers")
    # isdigit() alone accepts digits int() refuses ("²"); Slack's are ASCII.
    if (
        not (timestamp.isascii() and timestamp.isdigit())
        or abs(now - int(timestamp)) > MAX_AGE_SECONDS
    ):
        raise SignatureRefused("stale or malformed Slack request timestamp")
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise SignatureRefused("invalid Slack signature")
