"""Slack's request signature under generated attack: a thousand forged requests (wrong
signature, stale or future timestamp, tampered body, missing headers) are all refused, and a
thousand genuine ones are all accepted."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.signature import MAX_AGE_SECONDS, SignatureRefused, signature, verify

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_764_590_400.0
bodies = st.binary(max_size=2000)
fresh = st.integers(min_value=-MAX_AGE_SECONDS, max_value=MAX_AGE_SECONDS)
# 1,000 of each in CI; ``make soak`` asks for more.
EXAMPLES = int(os.environ.get("TOCSIN_FORGERIES", "1000"))
many = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@many
@given(body=bodies, skew=fresh)
def test_every_genuine_request_is_accepted(body: bytes, skew: int) -> None:
    stamp = str(int(NOW) + skew)
    verify(SECRET, stamp, signature(SECRET, stamp, body), body, NOW)


forgeries = st.one_of(
    # Signed with another secret.
    st.tuples(st.just("secret"), bodies, fresh, st.text(min_size=1, max_size=40)),
    # A genuine signature, on another body.
    st.tuples(st.just("tampered"), bodies, fresh, st.binary(min_size=1, max_size=50)),
    # Too old, or from the future.
    st.tuples(
        st.just("stale"),
        bodies,
        st.one_of(
            st.integers(max_value=-MAX_AGE_SECONDS - 1, min_value=-(10**9)),
            st.integers(min_value=MAX_AGE_SECONDS + 1, max_value=10**9),
        ),
        st.none(),
    ),
    # A header missing or malformed.
    st.tuples(
        st.just("headers"),
        bodies,
        fresh,
        st.sampled_from(["", "no-timestamp", "v1=", "not-a-number", "²"]),
    ),
    # Random bytes where the signature goes.
    st.tuples(st.just("noise"), bodies, fresh, st.text(max_size=80)),
)


@many
@given(case=forgeries)
def test_every_forged_request_is_refused(case: tuple[str, bytes, int, object]) -> None:
    kind, body, skew, extra = case
    stamp = str(int(NOW) + skew)
    given_signature = signature(SECRET, stamp, body)
    if kind == "secret":
        assert isinstance(extra, str)
        if extra == SECRET:
            return
        given_signature = (
            "v0="
            + hmac.new(extra.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        )
    elif kind == "tampered":
        assert isinstance(extra, bytes)
        body = body + extra
    elif kind == "headers":
        if extra == "no-timestamp":
            stamp = ""
        elif extra in ("not-a-number", "²"):
            stamp = str(extra)
        else:
            given_signature = str(extra)
    elif kind == "noise":
        assert isinstance(extra, str)
        if extra == given_signature:
            return
        given_signature = extra

    with pytest.raises(SignatureRefused):
        verify(SECRET, stamp, given_signature, body, NOW)
