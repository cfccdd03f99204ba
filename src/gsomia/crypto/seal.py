"""Envelope encryption for item bodies: a fresh data key per body, wrapped by the node's key.

A body is encrypted with AES-256-GCM under a fresh 32-byte data key, binding ``associated`` (which says
what the body is, e.g. ``b"gsomia/body/v1|K-MSL-1"``, so a body cannot be swapped for another item's);
the data key is wrapped under the 32-byte key-encryption key. Only the wrapped key, the nonce and the
ciphertext are kept; the plaintext and the data key never are.

The data key is wrapped with AES-256-GCM-SIV (RFC 8452, nonce-misuse resistant) under a key derived from
the key-encryption key by HKDF-SHA256, with a random 96-bit nonce, binding the body's ``associated`` too:
the wrapped key is the nonce, the encrypted data key and the tag (60 bytes). Bodies sealed before that
carry an AES key wrap (RFC 3394, 40 bytes) under the key-encryption key itself, and still open: the two
are told apart by their length (a body's leaf covers its wrapped key, so old wraps stay as they are).
(The RFC 3394 wrap of ``cryptography`` runs its rounds in Python: 30-50 µs to wrap and 28-37 µs to
unwrap, against 1-2 µs, and every release unwraps one key and wraps another.)

Two layouts, told apart by the nonce's length:

- a body of at most :data:`SEGMENT` bytes is one GCM message under a 96-bit random nonce (12 bytes);
- a longer one is sealed in segments of :data:`SEGMENT` bytes with the STREAM construction (Hoang,
  Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
  Misuse-Resistance", 2015): segment *i* is a GCM message under the nonce ``prefix ‖ i (32 bits) ‖ last``,
  where the 7-byte ``prefix`` is random (kept as the body's nonce) and ``last`` is 1 for the final
  segment only. A segment moved, dropped, repeated or cut short, or a body cut at a segment boundary,
  fails to open. The ciphertext is the segments one after the other, each 16 bytes longer than its
  plaintext.

So a body is sealed and opened a segment at a time (:func:`seal_chunks`, :func:`open_chunks`): the
plaintext is never held whole, only the ciphertext the store keeps.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESGCMSIV
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from gsomia.services.ports import SealedBody, SealedStream, StoredBody

from .errors import SealError

KEY_SIZE = 32
NONCE_SIZE = 12
PREFIX_SIZE = 7  # a STREAM body's nonce: the segments' nonces are prefix ‖ counter (4 bytes) ‖ last flag
TAG_SIZE = 16
SEGMENT = 1024 * 1024  # plaintext bytes per segment of a long body
MAX_SEGMENTS = 2**32  # the counter's range
WRAPPED_SIZE = NONCE_SIZE + KEY_SIZE + TAG_SIZE  # a data key wrapped with AES-GCM-SIV: nonce, key, tag
RFC3394_SIZE = KEY_SIZE + 8  # a data key wrapped with RFC 3394 (bodies sealed before GCM-SIV wrapping)
_WRAP_INFO = b"gsomia/data-key-wrap/v2"
_WRAP_AAD = b"gsomia/data-key/v2|"


def seal(kek: bytes, plaintext: bytes, associated: bytes) -> SealedBody:
    """``plaintext`` under a fresh data key, bound to ``associated``; the data key wrapped by ``kek``."""
    return seal_chunks(kek, [plaintext], associated)


def seal_chunks(kek: bytes, chunks: Iterable[bytes], associated: bytes) -> SealedBody:
    """The body made of ``chunks`` (any sizes, taken one at a time), sealed as :func:`seal` does: one
    GCM message if it is at most :data:`SEGMENT` bytes, else STREAM segments (kept together here)."""
    sealed = seal_stream(kek, chunks, associated)
    if isinstance(sealed, SealedBody):
        return sealed
    return SealedBody(sealed.wrapped_key, sealed.nonce, b"".join(sealed.segments))


def seal_stream(kek: bytes, chunks: Iterable[bytes], associated: bytes) -> SealedBody | SealedStream:
    """As :func:`seal_chunks`, but a long body comes back as a :class:`SealedStream` whose segments are
    sealed only as they are taken: at most one segment and one chunk of the body are held at a time."""
    data_key = AESGCM.generate_key(bit_length=KEY_SIZE * 8)
    aead = AESGCM(data_key)
    segments = _segments(chunks)
    first = next(segments, b"")
    second = next(segments, None)
    wrapped = _wrap(kek, data_key, associated)
    if second is None:
        nonce = os.urandom(NONCE_SIZE)
        return SealedBody(wrapped_key=wrapped, nonce=nonce, ciphertext=aead.encrypt(nonce, first, associated))
    prefix = os.urandom(PREFIX_SIZE)
    return SealedStream(wrapped, prefix, _sealed_segments(aead, prefix, first, second, segments, associated))


def _sealed_segments(
    aead: AESGCM, prefix: bytes, first: bytes, second: bytes, rest: Iterator[bytes], associated: bytes
) -> Iterator[bytes]:
    yield aead.encrypt(_nonce(prefix, 0, last=False), first, associated)
    del first
    counter, pending = 1, second
    for segment in rest:
        yield aead.encrypt(_nonce(prefix, counter, last=False), pending, associated)
        counter, pending = counter + 1, segment
        if counter >= MAX_SEGMENTS:
            raise SealError(
                f"a body of more than {MAX_SEGMENTS - 1} segments of {SEGMENT} bytes cannot be sealed"
            )
    yield aead.encrypt(_nonce(prefix, counter, last=True), pending, associated)


def open_sealed(kek: bytes, sealed: SealedBody, associated: bytes) -> bytes:
    """The plaintext of ``sealed``; SealError if the key, the associated data or any byte is wrong."""
    return b"".join(open_chunks(kek, sealed, associated))


def open_chunks(kek: bytes, sealed: SealedBody, associated: bytes) -> Iterator[bytes]:
    """The plaintext of ``sealed`` a segment at a time (all of it at once for a short body); SealError,
    before or while the pieces come, if the key, the associated data or any byte is wrong."""
    whole = memoryview(sealed.ciphertext)
    size = SEGMENT + TAG_SIZE
    pieces = (whole[i : i + size] for i in range(0, len(whole), size))
    return _open(kek, sealed.wrapped_key, sealed.nonce, len(whole), pieces, associated)


def open_stored(kek: bytes, body: StoredBody, associated: bytes) -> Iterator[bytes]:
    """As :func:`open_chunks`, for a body read from the store a piece at a time: the pieces (of any
    sizes) are cut into the segments they hold, so at most a piece and a segment are held at a time."""
    return _open(kek, body.wrapped_key, body.nonce, body.size, _cut(body.pieces()), associated)


def _open(
    kek: bytes,
    wrapped_key: bytes,
    nonce: bytes,
    total: int,
    segments: Iterator[bytes | memoryview],
    associated: bytes,
) -> Iterator[bytes]:
    """Check the key, nonce and length (``total`` bytes of ciphertext) now, then open ``segments`` (each
    exactly one sealed segment) as they are taken."""
    data_key = _unwrap(kek, wrapped_key, associated)
    if len(data_key) != KEY_SIZE or len(nonce) not in (NONCE_SIZE, PREFIX_SIZE):
        raise SealError("the sealed body is malformed (data key or nonce of the wrong length)")
    aead = AESGCM(data_key)
    if len(nonce) == NONCE_SIZE:
        return iter((_decrypt(aead, nonce, b"".join(segments), associated),))
    size = SEGMENT + TAG_SIZE
    count = -(-total // size)  # segments, the last one possibly shorter
    if count < 2 or total - (count - 1) * size < TAG_SIZE:
        raise SealError("the sealed body is malformed (a segmented body cut short)")
    return _opened(aead, nonce, count, segments, associated)


def _opened(
    aead: AESGCM, prefix: bytes, count: int, segments: Iterator[bytes | memoryview], associated: bytes
) -> Iterator[bytes]:
    counter = -1
    for counter, piece in enumerate(segments):
        if counter >= count:
            break
        yield _decrypt(aead, _nonce(prefix, counter, last=counter == count - 1), piece, associated)
    if counter != count - 1:  # the store gave more or fewer bytes than it said it holds
        raise SealError("the sealed body is malformed (its stored length is not its ciphertext's)")


def _wrap(kek: bytes, data_key: bytes, associated: bytes) -> bytes:
    """``data_key`` wrapped for the body ``associated`` names: nonce ‖ AES-GCM-SIV ciphertext and tag."""
    nonce = os.urandom(NONCE_SIZE)
    return nonce + _wrapper(bytes(kek)).encrypt(nonce, data_key, _WRAP_AAD + bytes(associated))


def _unwrap(kek: bytes, wrapped: bytes, associated: bytes) -> bytes:
    """The data key of a body: wrapped by :func:`_wrap`, or by RFC 3394 before it (told by length)."""
    try:
        if len(wrapped) == WRAPPED_SIZE:
            nonce, sealed = wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:]
            return _wrapper(bytes(kek)).decrypt(nonce, bytes(sealed), _WRAP_AAD + bytes(associated))
        if len(wrapped) == RFC3394_SIZE:
            return aes_key_unwrap(kek, wrapped)
    except (InvalidTag, InvalidUnwrap, ValueError):
        shown = bytes(associated).decode("utf-8", "replace")
        raise SealError(
            f"the body does not open as {shown!r}: its data key does not unwrap under this node's key for "
            "it (wrong node, the key was altered, or the body belongs to something else)"
        ) from None
    raise SealError(
        f"the sealed body is malformed (a wrapped data key of {len(wrapped)} bytes, not {WRAPPED_SIZE}, "
        f"nor {RFC3394_SIZE} as earlier versions wrapped it)"
    )


@functools.lru_cache(maxsize=4)  # a process holds one node's key, or a few in tests and benchmarks
def _wrapper(kek: bytes) -> AESGCMSIV:
    """The AES-GCM-SIV of the key-wrapping key derived from ``kek`` (one key, one use)."""
    if len(kek) != KEY_SIZE:
        raise SealError(f"the key-encryption key must be {KEY_SIZE} bytes, not {len(kek)}")
    derived = HKDF(SHA256(), KEY_SIZE, salt=None, info=_WRAP_INFO).derive(kek)
    try:
        return AESGCMSIV(derived)
    except UnsupportedAlgorithm:
        raise SealError(
            "this build of the cryptography package has no AES-GCM-SIV (it needs OpenSSL 3.2 or later); "
            "install the pinned wheel: pip install -e ."
        ) from None


def _cut(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """``pieces`` regrouped into sealed segments (:data:`SEGMENT` + tag bytes, the last shorter)."""
    size = SEGMENT + TAG_SIZE
    held = bytearray()
    for piece in pieces:
        held += piece
        while len(held) >= size:
            yield bytes(held[:size])
            del held[:size]
    if held:
        yield bytes(held)


def _segments(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` cut into pieces of exactly :data:`SEGMENT` bytes, the last shorter (or empty only if
    everything is empty); never more than one segment and one chunk held."""
    held = bytearray()
    for chunk in chunks:
        held += chunk
        while len(held) > SEGMENT:  # keep a full last segment back: it may be the final one
            yield bytes(held[:SEGMENT])
            del held[:SEGMENT]
    yield bytes(held)


def _nonce(prefix: bytes, counter: int, *, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _decrypt(aead: AESGCM, nonce: bytes, ciphertext: bytes | memoryview, associated: bytes) -> bytes:
    try:
        return aead.decrypt(nonce, bytes(ciphertext), associated)
    except InvalidTag:
        shown = associated.decode("utf-8", "replace")
        raise SealError(
            f"the body does not open as {shown!r}: it was altered, or belongs to something else"
        ) from None
