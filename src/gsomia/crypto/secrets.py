"""Secrets for people and programs: argon2id hashes, fresh random secrets, and row seals.

:class:`Argon2Secrets` implements the :class:`gsomia.services.users.Secrets` port:

- passwords are hashed with argon2id at RFC 9106's second recommended setting (:data:`PASSWORD_COST`);
- API tokens and session secrets are 256 random bits each, so no guessing attack can use a slow hash's
  delay; they are hashed with argon2id at a light cost (:data:`TOKEN_COST`), because one is verified on
  every request;
- each stored user, token and session row is sealed with an HMAC-SHA256 under a key derived from the
  node's signing key (:func:`derived_key`), so whoever can write the database but not read ``keys/`` can
  neither add a user nor raise a role nor plant a token: the node refuses a row whose seal does not hold.

Nothing here ever logs or returns a secret it was given.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROW_SEAL_LABEL = b"gsomia/user-row-seals/v1"  # the key that seals user, token and session rows
COOKIE_LABEL = b"gsomia/session-cookies/v1"  # the key that signs session cookies


@dataclass(frozen=True, slots=True)
class Cost:
    """An argon2id cost: passes over memory, KiB of memory, and lanes."""

    time_cost: int
    memory_cost: int
    parallelism: int


PASSWORD_COST = Cost(time_cost=3, memory_cost=64 * 1024, parallelism=4)  # RFC 9106, second choice
TOKEN_COST = Cost(time_cost=1, memory_cost=1024, parallelism=1)  # 256-bit secrets: cost buys nothing
TEST_COST = Cost(time_cost=1, memory_cost=8, parallelism=1)  # tests only: as cheap as argon2 allows


class Signer(Protocol):
    """What :func:`derived_key` needs of the node's key ring: a deterministic signature (Ed25519)."""

    def sign(self, data: bytes) -> bytes: ...


def derived_key(signer: Signer, label: bytes) -> bytes:
    """A 32-byte key only the holder of the node's signing key can compute, the same in every process.

    Ed25519 signatures are deterministic (RFC 8032), so signing a fixed label always gives the same bytes;
    hashing them gives a symmetric key that workers sharing the node's ``keys/`` agree on without a file.
    """
    return hashlib.sha256(b"gsomia derived key|" + signer.sign(label)).digest()


def _hasher(cost: Cost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost,
        memory_cost=cost.memory_cost,
        parallelism=cost.parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


class Argon2Secrets:
    """argon2id hashes of passwords and tokens, random secrets, and HMAC seals of stored rows."""

    def __init__(
        self, key: bytes, *, password_cost: Cost = PASSWORD_COST, token_cost: Cost = TOKEN_COST
    ) -> None:
        if len(key) < 32:
            raise ValueError("the row-sealing key must be at least 32 bytes")
        self._key = bytes(key)
        self._passwords = _hasher(password_cost)
        self._tokens = _hasher(token_cost)

    @classmethod
    def for_tests(cls, key: bytes = b"k" * 32) -> Argon2Secrets:
        """Cheap hashing (never for a real node): test suites hash hundreds of secrets."""
        return cls(key, password_cost=TEST_COST, token_cost=TEST_COST)

    # -- hashing -------------------------------------------------------------------------------------
    def hash_password(self, password: str) -> str:
        return self._passwords.hash(password)

    def hash_token(self, secret: str) -> str:
        return self._tokens.hash(secret)

    def verify(self, stored: str, secret: str) -> bool:
        """Whether ``secret`` matches the argon2 hash ``stored``; False (never an error) for a hash that is
        malformed or a secret that does not match."""
        try:
            return self._tokens.verify(stored, secret)  # the parameters come from the hash itself
        except (VerifyMismatchError, VerificationError, InvalidHashError, ValueError, TypeError):
            return False

    # -- fresh secrets -------------------------------------------------------------------------------
    def new_id(self) -> str:
        """A public identifier for a token or session (64 random bits, hex)."""
        return secrets.token_hex(8)

    def new_secret(self) -> str:
        """256 random bits, URL-safe: a token's or a session's secret part."""
        return secrets.token_urlsafe(32)

    def new_password(self) -> str:
        """A one-time password a person can type: 120 random bits in 24 URL-safe characters."""
        return secrets.token_urlsafe(18)

    # -- row seals -----------------------------------------------------------------------------------
    def seal(self, data: bytes) -> str:
        """The HMAC-SHA256 (hex) of a stored row's canonical bytes under the node-derived key."""
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def sealed(self, data: bytes, seal: str) -> bool:
        """Whether ``seal`` is the seal of ``data`` (compared in constant time)."""
        return hmac.compare_digest(self.seal(data), seal if isinstance(seal, str) else "")

    def same(self, a: str, b: str) -> bool:
        """Constant-time comparison of two short secrets (CSRF tokens)."""
        return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))
