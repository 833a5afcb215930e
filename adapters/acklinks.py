"""Acknowledge links in e-mail and push pages (ADR 0024): ``{public_url}/ack/{token}``.

The token is signed (``itsdangerous``, HMAC-SHA256) and names one incident and one person,
so it acknowledges nothing else and nobody else. It carries no expiry of its own: the API
refuses it once the incident is resolved, which is when a page stops meaning anything.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeSerializer
from pydantic import SecretStr

_SALT = "tocsin.ack-link"
# Derived from the API token when no secret of its own is set: one secret less to manage,
# and still distinct from the token itself.
_DERIVATION = b"tocsin acknowledge links"


@dataclass(frozen=True)
class AckClaim:
    incident_id: str
    person: str


def derived_secret(api_token: SecretStr) -> SecretStr:
    digest = hmac.new(api_token.get_secret_value().encode(), _DERIVATION, hashlib.sha256)
    return SecretStr(digest.hexdigest())


class AckLinks:
    def __init__(self, secret: SecretStr, public_url: str) -> None:
        self._signer = URLSafeSerializer(secret.get_secret_value(), salt=_SALT)
        self._public_url = public_url.rstrip("/")

    def token(self, incident_id: str, person: str) -> str:
        return str(self._signer.dumps([incident_id, person]))

    def link(self, incident_id: str, person: str) -> str:
        return f"{self._public_url}/ack/{self.token(incident_id, person)}"

    def read(self, token: str) -> AckClaim | None:
        """The claim of a token this secret signed; None for a tampered or foreign one."""
        try:
            value = self._signer.loads(token)
        except BadData:
            return None
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(part, str) and part for part in value)
        ):
            return None
        return AckClaim(incident_id=value[0], person=value[1])
