"""Envelope encryption for item bodies: a fresh data key per body, wrapped by the node's key.

``seal`` draws a 32-byte data key and a 96-bit nonce, encrypts with AES-256-GCM binding ``associated``
(which says what the body is, e.g. ``b"gsomia/body/v1|K-MSL-1"``, so a body cannot be swapped for another
item's), then wraps the data key with AES key wrap (RFC 3394) under the 32-byte key-encryption key. Only the
wrapped key, the nonce and the ciphertext are kept; the plaintext and the data key never are.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from gsomia.services.ports import SealedBody

from .errors import SealError

KEY_SIZE = 32
NONCE_SIZE = 12


def seal(kek: bytes, plaintext: bytes, associated: bytes) -> SealedBody:
    """``plaintext`` under a fresh data key, bound to ``associated``; the data key wrapped by ``kek``."""
    data_key = AESGCM.generate_key(bit_length=KEY_SIZE * 8)
    nonce = os.urandom(NONCE_SIZE)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, associated)
    return SealedBody(wrapped_key=aes_key_wrap(kek, data_key), nonce=nonce, ciphertext=ciphertext)


def open_sealed(kek: bytes, sealed: SealedBody, associated: bytes) -> bytes:
    """The plaintext of ``sealed``; SealError if the key, the associated data or any byte is wrong."""
    try:
        data_key = aes_key_unwrap(kek, sealed.wrapped_key)
    except (InvalidUnwrap, ValueError):
        raise SealError(
            "the body's data key does not unwrap under this node's key: wrong node, or the key was altered"
        ) from None
    if len(data_key) != KEY_SIZE or len(sealed.nonce) != NONCE_SIZE:
        raise SealError("the sealed body is malformed (data key or nonce of the wrong length)")
    try:
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, associated)
    except InvalidTag:
        shown = associated.decode("utf-8", "replace")
        raise SealError(
            f"the body does not open as {shown!r}: it was altered, or belongs to something else"
        ) from None
