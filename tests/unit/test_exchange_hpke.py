"""HPKE for bodies in transit: known answers, an independent implementation, tampering and bad keys.

RFC 9180 publishes no test vector for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM (its
Appendix A has X25519 only with AES-128-GCM, ChaCha20Poly1305 and export-only). So:

- pyhpke, with a fixed ephemeral key, reproduces RFC 9180 Appendix A.1.1 (X25519, HKDF-SHA256,
  AES-128-GCM, base mode) exactly: the KEM, the KDF and the key schedule our suite shares;
- our suite's encapsulation (``enc``) for the same keys is the RFC's;
- our suite interoperates both ways with the independent HPKE of ``cryptography`` (OpenSSL's, written
  apart from pyhpke), which takes no associated data in its public API, hence ``aad=b""`` there.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hpke as independent
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKeyPair

from gsomia.exchange import hpke
from gsomia.exchange.errors import ExchangeError, HpkeError

# RFC 9180, Appendix A.1.1 (mode 0, KEM 0x0020, KDF 0x0001, AEAD 0x0001), sequence number 0
A11 = {
    "info": "4f6465206f6e2061204772656369616e2055726e",
    "ikmE": "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
    "pkEm": "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
    "skEm": "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
    "ikmR": "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
    "pkRm": "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
    "skRm": "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
    "enc": "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
    "pt": "4265617574792069732074727574682c20747275746820626561757479",
    "aad": "436f756e742d30",
    "ct": "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
}
V = {name: bytes.fromhex(value) for name, value in A11.items()}


def _aes128_suite() -> CipherSuite:
    return CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES128_GCM)


def test_pyhpke_reproduces_rfc_9180_a_1_1_key_derivation():
    """DeriveKeyPair(ikmR) and DeriveKeyPair(ikmE) give the RFC's key pairs."""
    suite = _aes128_suite()
    for ikm, sk, pk in (("ikmR", "skRm", "pkRm"), ("ikmE", "skEm", "pkEm")):
        pair = suite.kem.derive_key_pair(V[ikm])
        assert pair.private_key.to_private_bytes() == V[sk]
        assert pair.public_key.to_public_bytes() == V[pk]


def test_pyhpke_reproduces_rfc_9180_a_1_1_encryption():
    """With the RFC's ephemeral key, pyhpke gives the RFC's enc and first ciphertext, and opens it."""
    suite = _aes128_suite()
    ephemeral = KEMKeyPair(
        suite.kem.deserialize_private_key(V["skEm"]), suite.kem.deserialize_public_key(V["pkEm"])
    )
    enc, sender = suite.create_sender_context(
        suite.kem.deserialize_public_key(V["pkRm"]), info=V["info"], eks=ephemeral
    )
    assert enc == V["enc"]
    assert sender.seal(V["pt"], aad=V["aad"]) == V["ct"]
    receiver = suite.create_recipient_context(
        enc, suite.kem.deserialize_private_key(V["skRm"]), info=V["info"]
    )
    assert receiver.open(V["ct"], aad=V["aad"]) == V["pt"]


def test_our_suite_encapsulates_as_the_rfc_and_opens_what_it_sealed():
    """Our AES-256-GCM suite shares the RFC's KEM: the same ephemeral key gives the RFC's enc."""
    enc, sealed = hpke._seal(V["pkRm"], V["pt"], V["info"], V["aad"], ephemeral=V["skEm"])
    assert enc == V["enc"]
    assert len(sealed) == len(V["pt"]) + hpke.TAG_SIZE
    assert sealed != V["ct"]  # AES-256, not AES-128: a different key from the same schedule
    assert hpke.open_(V["skRm"], enc, sealed, V["info"], V["aad"]) == V["pt"]


def _independent_suite() -> independent.Suite:
    return independent.Suite(
        independent.KEM.X25519, independent.KDF.HKDF_SHA256, independent.AEAD.AES_256_GCM
    )


@given(plaintext=st.binary(max_size=300), info=st.binary(max_size=64))
@settings(max_examples=40, deadline=None)
def test_an_independent_hpke_opens_what_we_seal(plaintext, info):
    """cryptography's HPKE (OpenSSL) decrypts our enc || ciphertext with the same suite and info."""
    private, public = hpke.generate_x25519()
    enc, sealed = hpke.seal(public, plaintext, info, b"")
    opened = _independent_suite().decrypt(
        enc + sealed, X25519PrivateKey.from_private_bytes(private), info=info
    )
    assert opened == plaintext


@given(plaintext=st.binary(max_size=300), info=st.binary(max_size=64))
@settings(max_examples=40, deadline=None)
def test_we_open_what_an_independent_hpke_seals(plaintext, info):
    """Our open_ reads cryptography's HPKE output (its first 32 bytes are enc)."""
    private, public = hpke.generate_x25519()
    message = _independent_suite().encrypt(plaintext, X25519PublicKey.from_public_bytes(public), info=info)
    enc, sealed = message[: hpke.KEY_SIZE], message[hpke.KEY_SIZE :]
    assert hpke.open_(private, enc, sealed, info, b"") == plaintext


@given(plaintext=st.binary(max_size=2000), info=st.binary(max_size=100), aad=st.binary(max_size=100))
@settings(max_examples=60, deadline=None)
def test_round_trip(plaintext, info, aad):
    """What seal gives, open_ returns, for any plaintext, info and aad."""
    private, public = hpke.generate_x25519()
    enc, sealed = hpke.seal(public, plaintext, info, aad)
    assert len(enc) == hpke.KEY_SIZE
    assert hpke.open_(private, enc, sealed, info, aad) == plaintext


def test_two_seals_of_the_same_body_differ():
    """A fresh ephemeral key each time: neither enc nor ciphertext repeats."""
    _, public = hpke.generate_x25519()
    first = hpke.seal(public, b"radar tracks", b"i", b"a")
    second = hpke.seal(public, b"radar tracks", b"i", b"a")
    assert first[0] != second[0]
    assert first[1] != second[1]


def test_public_of_gives_the_generated_public_key():
    private, public = hpke.generate_x25519()
    assert hpke.public_of(private) == public
    assert len(private) == len(public) == hpke.KEY_SIZE


@pytest.fixture(scope="module")
def sealed():
    private, public = hpke.generate_x25519()
    enc, ciphertext = hpke.seal(public, b"the body", b"info", b"aad")
    return private, enc, ciphertext


def test_every_flipped_bit_of_enc_or_ciphertext_is_refused(sealed):
    """Any one bit changed anywhere in enc or the ciphertext (tag included): HpkeError, never plaintext."""
    private, enc, ciphertext = sealed
    for which in ("enc", "ciphertext"):
        original = enc if which == "enc" else ciphertext
        for index in range(len(original)):
            for bit in (0x01, 0x80):
                changed = bytearray(original)
                changed[index] ^= bit
                args = (bytes(changed), ciphertext) if which == "enc" else (enc, bytes(changed))
                with pytest.raises(HpkeError, match="does not open"):
                    hpke.open_(private, *args, b"info", b"aad")


def test_wrong_key_info_or_aad_is_refused(sealed):
    private, enc, ciphertext = sealed
    other, _ = hpke.generate_x25519()
    for args in (
        (other, enc, ciphertext, b"info", b"aad"),
        (private, enc, ciphertext, b"other info", b"aad"),
        (private, enc, ciphertext, b"info", b"other aad"),
        (private, enc, ciphertext[:-1], b"info", b"aad"),
        (private, enc, ciphertext + b"\x00", b"info", b"aad"),
    ):
        with pytest.raises(HpkeError, match="another key or another context, or its bytes"):
            hpke.open_(*args)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hpke.seal(b"\x01" * 31, b"", b"", b""), "public key must be 32 bytes, not 31"),
        (lambda: hpke.seal("key" * 11, b"", b"", b""), "public key must be bytes, not str"),  # type: ignore[arg-type]
        (lambda: hpke.seal(bytes(32), b"", b"", b""), "low-order point"),
        (lambda: hpke.seal(hpke.generate_x25519()[1], "text", b"", b""), "plaintext must be bytes"),  # type: ignore[arg-type]
        (lambda: hpke.open_(b"\x01" * 33, bytes(32), bytes(16), b"", b""), "private key must be 32 bytes"),
        (lambda: hpke.open_(b"\x01" * 32, bytes(31), bytes(16), b"", b""), "enc must be 32 bytes"),
        (lambda: hpke.open_(b"\x01" * 32, bytes(32), bytes(15), b"", b""), "at least 16"),
        (lambda: hpke.open_(b"\x01" * 32, bytes(32), bytes(16), None, b""), "info must be bytes"),  # type: ignore[arg-type]
        (lambda: hpke.public_of(b"short"), "private key must be 32 bytes"),
    ],
)
def test_bad_arguments_are_hpke_errors_naming_what(call, message):
    """Wrong types and sizes, and a low-order public key, are HpkeError (an ExchangeError) saying what."""
    with pytest.raises(HpkeError, match=message) as caught:
        call()
    assert isinstance(caught.value, ExchangeError)


def test_a_low_order_enc_is_refused(sealed):
    """An all-zero enc (a low-order point) gives an all-zero shared secret: refused, not opened."""
    private, _, ciphertext = sealed
    with pytest.raises(HpkeError):
        hpke.open_(private, bytes(32), ciphertext, b"info", b"aad")
