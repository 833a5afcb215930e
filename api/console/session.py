"""The console's session: a signed cookie holding the token signed in with and a CSRF secret.

Signed, not stored (ADR 0026): no table and no migration, and any API replica reads it. The
key is derived from the API token, so rotating that token signs everyone out. The token in the
cookie is resolved on every request like a bearer token, so a revoked one stops at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from api.config import ApiConfig

COOKIE = "tocsin_console"
PATH = "/console"
# A working day and a night shift: long enough not to sign a lead out mid-incident.
MAX_AGE_SECONDS = 16 * 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Session:
    csrf: str
    token: str | None = None


def _serializer(config: ApiConfig) -> URLSafeTimedSerializer:
    key = hmac.new(
        config.api_token.get_secret_value().encode(), b"tocsin console session", hashlib.sha256
    ).hexdigest()
    return URLSafeTimedSerializer(key, salt="console")


def read(request: Request, config: ApiConfig) -> Session | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(config).loads(raw, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # tampered, signed with an older API token, or expired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    token = data.get("t")
    return Session(csrf=data["c"], token=token if isinstance(token, str) else None)


def fresh(token: str | None = None) -> Session:
    """A new session; signing in gets a new CSRF secret too."""
    return Session(csrf=secrets.token_urlsafe(32), token=token)


def write(response: Response, request: Request, config: ApiConfig, session: Session) -> None:
    value = _serializer(config).dumps({"c": session.csrf, "t": session.token})
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE_SECONDS,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path=PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    if session is None or not sent:
        return False
    return secrets.compare_digest(session.csrf.encode(), sent.encode())
