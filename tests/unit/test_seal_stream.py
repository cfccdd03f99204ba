"""Bodies sealed and opened a segment at a time (STREAM over AES-256-GCM, gsomia.crypto.seal).

A short body keeps the one-message layout every node already holds; a long one is segments whose nonces
carry their number and a last flag, so no segment can be moved, dropped, repeated or cut off unnoticed.
The segment size is made small here so that many segments are cheap to test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.crypto import seal as sealing
from gsomia.crypto.errors import SealError
from gsomia.services.ports import SealedBody

KEK = bytes(range(32))
AAD = b"gsomia/body/v1|K-1"
SMALL = 64  # bytes per segment in these tests


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sealing, "SEGMENT", SMALL)


def pieces(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=SMALL * 7 + 5), size=st.integers(min_value=1, max_value=SMALL * 3))
def test_any_body_in_any_pieces_opens_to_itself(body: bytes, size: int) -> None:
    sealed = sealing.seal_chunks(KEK, pieces(body, size), AAD)
    assert sealing.open_sealed(KEK, sealed, AAD) == body
    segments = max(1, -(-len(body) // SMALL))
    assert len(sealed.ciphertext) == len(body) + sealing.TAG_SIZE * segments
    if len(body) <= SMALL:  # one message: the layout nodes already hold
        assert len(sealed.nonce) == sealing.NONCE_SIZE
    else:
        assert len(sealed.nonce) == sealing.PREFIX_SIZE
        assert all(len(p) <= SMALL for p in sealing.open_chunks(KEK, sealed, AAD))


def test_a_short_body_sealed_before_segments_existed_still_opens() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap

    key, nonce = bytes(32), bytes(12)
    old = SealedBody(aes_key_wrap(KEK, key), nonce, AESGCM(key).encrypt(nonce, b"radar tracks", AAD))
    assert sealing.open_sealed(KEK, old, AAD) == b"radar tracks"


def altered(sealed: SealedBody, ciphertext: bytes) -> SealedBody:
    return SealedBody(sealed.wrapped_key, sealed.nonce, ciphertext)


def test_segments_moved_dropped_repeated_cut_or_flipped_do_not_open() -> None:
    body = os.urandom(SMALL * 4 + 10)
    sealed = sealing.seal(KEK, body, AAD)
    size = SMALL + sealing.TAG_SIZE
    c = sealed.ciphertext
    bad = {
        "cut at a segment boundary": c[: 2 * size],
        "the last segment dropped": c[: 4 * size],
        "a middle segment dropped": c[:size] + c[2 * size :],
        "two segments swapped": c[size : 2 * size] + c[:size] + c[2 * size :],
        "a segment repeated": c[:size] + c[:size] + c[size:],
        "cut inside a segment": c[:-3],
        "a byte flipped": c[:70] + bytes([c[70] ^ 1]) + c[71:],
        "bytes added": c + b"\x00" * 20,
        "one segment left": c[:size],
    }
    for what, ciphertext in bad.items():
        with pytest.raises(SealError):
            sealing.open_sealed(KEK, altered(sealed, ciphertext), AAD)
        assert what  # every case above was tried
    with pytest.raises(SealError, match="K-2"):
        sealing.open_sealed(KEK, sealed, b"gsomia/body/v1|K-2")  # another item's associated data
    with pytest.raises(SealError, match="does not unwrap"):
        sealing.open_sealed(bytes(32), sealed, AAD)


def test_sealing_takes_its_pieces_as_it_goes_and_opening_gives_them_as_it_goes() -> None:
    """A source is taken piece by piece (a generator of ten segments' worth is drained once, in order),
    opening hands out the first segment before it looks at the rest, and a source that fails part way
    makes the sealing fail (nothing is returned to be stored)."""
    asked: list[int] = []

    def source() -> Iterator[bytes]:
        for n in range(10):
            asked.append(n)
            yield bytes(SMALL)

    sealed = sealing.seal_chunks(KEK, source(), AAD)
    assert asked == list(range(10))
    opened = sealing.open_chunks(KEK, altered(sealed, sealed.ciphertext[:-1] + b"\xff"), AAD)
    assert next(opened) == bytes(SMALL)  # the first segment is good and comes out first
    with pytest.raises(SealError):
        list(opened)  # the tampered last one stops it

    def failing() -> Iterator[bytes]:
        yield bytes(SMALL * 3)
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        sealing.seal_chunks(KEK, failing(), AAD)
