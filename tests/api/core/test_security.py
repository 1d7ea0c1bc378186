"""Passwords (argon2id), tokens, CSRF comparison, pseudonyms."""

from __future__ import annotations

from api.core import security


def test_passwords() -> None:
    h = security.hash_password("correct horse battery")
    assert h.startswith("$argon2id$") and "correct" not in h
    assert security.verify_password(h, "correct horse battery")
    assert not security.verify_password(h, "wrong")
    assert not security.verify_password(None, "anything")
    assert not security.verify_password("not a hash", "x")


def test_tokens_and_pseudonyms() -> None:
    a, b = security.new_token(), security.new_token()
    assert a != b and len(a) >= 43
    assert security.token_hash(a) != a and len(security.token_hash(a)) == 64
    assert security.same("x", "x") and not security.same("x", "y")
    p = security.pseudonym(b"k1", 7)
    assert p == security.pseudonym(b"k1", 7) and p != security.pseudonym(b"k2", 7)
    assert p.startswith("A-") and len(p) == 10
