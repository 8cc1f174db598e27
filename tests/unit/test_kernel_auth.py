"""Access tokens: a verified token is remembered until it expires, never past that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from crm.kernel import auth
from crm.kernel.auth import Actor, Role, TokenIssuer
from crm.kernel.errors import Unauthenticated

SECRET = "s" * 40


def test_a_token_verified_once_is_answered_from_memory_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = TokenIssuer(SECRET, ttl=timedelta(minutes=5))
    issued = datetime.now(UTC)
    token = issuer.issue("u1", Role.SALES_REP, "acme", team="north", now=issued)
    expected = Actor("u1", Role.SALES_REP, "acme", "north")
    assert issuer.verify(token) == expected
    decoded: list[str] = []
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: decoded.append(a[0]))
    assert issuer.verify(token) == expected
    assert decoded == []  # the signature was not checked again
    expiry = (issued + timedelta(minutes=5)).timestamp()
    monkeypatch.setattr(auth, "_now", lambda: expiry)
    with pytest.raises(Unauthenticated, match="expired"):
        issuer.verify(token)


def test_a_bad_or_expired_token_is_refused_and_not_remembered() -> None:
    issuer = TokenIssuer(SECRET)
    other = TokenIssuer("o" * 40)
    for token in (
        other.issue("u1", Role.ADMIN, "acme"),
        issuer.issue("u1", Role.ADMIN, "acme", now=datetime.now(UTC) - timedelta(days=1)),
        "not-a-token",
    ):
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                issuer.verify(token)
    assert issuer._verified == {}


def test_the_memory_of_verified_tokens_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "VERIFIED_CACHE_SIZE", 3)
    issuer = TokenIssuer(SECRET)
    for i in range(10):
        issuer.verify(issuer.issue(f"u{i}", Role.AGENT, "acme"))
        assert len(issuer._verified) <= 3
