"""Passwords, tokens, sessions, CSRF and blind-review pseudonyms.

* Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106 low-memory profile).
* Invitation tokens and session ids are 256-bit random strings; only their sha256 is
  stored, so a leaked database does not let anyone sign in.
* Each session carries its own CSRF token: forms send it as ``csrf_token``, scripts as the
  ``X-CSRF-Token`` header, and it is compared in constant time.
* In blind review an applicant is shown as an HMAC pseudonym, stable per service secret.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Verified when the user does not exist, so a wrong name costs as long as a wrong password.
    return _HASHER.hash("not a real password")


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """An argon2id hash of `password` (the parameters travel inside the hash)."""
    return (hasher or _HASHER).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (constant work when the hash is None)."""
    try:
        ok = _HASHER.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def new_token() -> str:
    """A fresh 256-bit URL-safe secret (invitation tokens, session ids, CSRF tokens)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database stores for a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


def pseudonym(secret: bytes, applicant_id: int) -> str:
    """The label a blind reviewer sees for an applicant, e.g. ``A-3f9c21d0``."""
    mac = hmac.new(secret, f"applicant:{applicant_id}".encode(), hashlib.sha256)
    return "A-" + mac.hexdigest()[:8]
