"""HPKE (RFC 9180) in base mode for item bodies in transit: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
AES-256-GCM (suite ids KEM 0x0020, KDF 0x0001, AEAD 0x0002).

The sender needs only the recipient's X25519 public key (from its partner card). Each :func:`seal` draws a
fresh ephemeral key, so two seals of the same body differ; ``enc`` (the ephemeral public key, 32 bytes)
travels beside the ciphertext. ``info`` binds the key schedule to a context (which release, for whom) and
``aad`` binds the ciphertext to data carried in the clear; opening with any other ``info``, ``aad``, key,
``enc`` or ciphertext fails with :class:`HpkeError`, never with wrong plaintext.

Keys are raw 32-byte strings, as the cards carry them. The work is done by ``pyhpke``.
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKeyInterface, KEMKeyPair, PyHPKEError

from .errors import HpkeError

KEM_ID = 0x0020
KDF_ID = 0x0001
AEAD_ID = 0x0002
SUITE_NAME = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM"
KEY_SIZE = 32  # X25519 private and public keys, and enc
TAG_SIZE = 16  # AES-GCM tag: the shortest ciphertext (of an empty body)

_SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)


def generate_x25519() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair as ``(private, public)``, 32 raw bytes each."""
    private = X25519PrivateKey.generate()
    return _raw_private(private), _raw_public(private)


def public_of(private: bytes) -> bytes:
    """The raw public key of a raw X25519 private key."""
    _check_bytes("private key", private, KEY_SIZE)
    return _public_of(private)


@functools.lru_cache(maxsize=8)  # a node opens every bundle with its one key
def _public_of(private: bytes) -> bytes:
    return _raw_public(X25519PrivateKey.from_private_bytes(private))


# A node opens every bundle with its one key and seals for a few partners: each key is turned into pyhpke's
# key object once (an X25519 key load, and the public half derived, about 50 µs), not once per body.
@functools.lru_cache(maxsize=8)
def _private_key(raw: bytes) -> KEMKeyInterface:
    return _SUITE.kem.deserialize_private_key(raw)


@functools.lru_cache(maxsize=64)
def _public_key(raw: bytes) -> KEMKeyInterface:
    return _SUITE.kem.deserialize_public_key(raw)


def seal(recipient_public: bytes, plaintext: bytes, info: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """``plaintext`` sealed for ``recipient_public``: ``(enc, ciphertext)``; HpkeError on a bad key."""
    return _seal(recipient_public, plaintext, info, aad, ephemeral=None)


def open_(recipient_private: bytes, enc: bytes, ciphertext: bytes, info: bytes, aad: bytes) -> bytes:
    """The plaintext of ``(enc, ciphertext)``; HpkeError if a key, ``info``, ``aad`` or any byte is wrong."""
    _check_bytes("private key", recipient_private, KEY_SIZE)
    _check_bytes("enc", enc, KEY_SIZE)
    _check_bytes("ciphertext", ciphertext)
    _check_bytes("info", info)
    _check_bytes("aad", aad)
    if len(ciphertext) < TAG_SIZE:
        raise HpkeError(f"the ciphertext is {len(ciphertext)} bytes; a sealed body has at least {TAG_SIZE}")
    try:
        context = _SUITE.create_recipient_context(enc, _private_key(recipient_private), info=info)
        return context.open(ciphertext, aad=aad)
    except (PyHPKEError, ValueError):
        raise HpkeError(
            "the sealed body does not open: it was sealed for another key or another context, "
            "or its bytes (enc or ciphertext) were altered"
        ) from None


def _seal(
    recipient_public: bytes, plaintext: bytes, info: bytes, aad: bytes, ephemeral: bytes | None
) -> tuple[bytes, bytes]:
    """:func:`seal`, optionally with a fixed ephemeral private key: only for known-answer tests, since
    reusing an ephemeral key for the same recipient and context repeats the AEAD key and nonce."""
    _check_bytes("public key", recipient_public, KEY_SIZE)
    _check_bytes("plaintext", plaintext)
    _check_bytes("info", info)
    _check_bytes("aad", aad)
    try:
        public = _public_key(recipient_public)
        pair = None
        if ephemeral is not None:
            fixed = X25519PrivateKey.from_private_bytes(ephemeral)
            pair = KEMKeyPair(
                _SUITE.kem.deserialize_private_key(ephemeral),
                _SUITE.kem.deserialize_public_key(_raw_public(fixed)),
            )
        enc, context = _SUITE.create_sender_context(public, info=info, eks=pair)
        return enc, context.seal(plaintext, aad=aad)
    except (PyHPKEError, ValueError):
        raise HpkeError(
            "cannot seal for this public key: it is not a usable X25519 key (a low-order point?); "
            "check the partner card's hpke_key"
        ) from None


def _check_bytes(what: str, value: object, size: int | None = None) -> None:
    if not isinstance(value, bytes):
        raise HpkeError(f"the {what} must be bytes, not {type(value).__name__}")
    if size is not None and len(value) != size:
        raise HpkeError(f"the {what} must be {size} bytes, not {len(value)}")


def _raw_private(private: X25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _raw_public(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
