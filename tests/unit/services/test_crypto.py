"""Node keys: sealing bodies at rest, detecting tampering, signing, and the key files."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from gsomia.crypto import KeyFileError, NodeKeys, SealError, create_keys, load_keys
from gsomia.services.ports import SealedBody

AAD = b"gsomia/body/v1|K-MSL-1"


def flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def test_a_sealed_body_opens_to_its_plaintext_with_the_same_associated_data(keys):
    """seal then open gives back the bytes, Korean text included."""
    body = "군사II급비밀 — PLAINTEXT".encode()
    assert keys.open(keys.seal(body, AAD), AAD) == body


def test_each_seal_uses_a_fresh_data_key_and_nonce(keys):
    """Sealing the same body twice gives different wrapped keys, nonces and ciphertexts."""
    a, b = keys.seal(b"same", AAD), keys.seal(b"same", AAD)
    assert a.wrapped_key != b.wrapped_key
    assert a.nonce != b.nonce
    assert a.ciphertext != b.ciphertext
    assert len(a.nonce) == 12
    assert len(a.wrapped_key) == 60  # nonce, data key, tag (AES-GCM-SIV)


def test_the_ciphertext_does_not_contain_the_plaintext(keys):
    """What is stored is not the body."""
    sealed = keys.seal(b"PLAINTEXT-CANARY" * 4, AAD)
    assert b"PLAINTEXT-CANARY" not in sealed.ciphertext + sealed.wrapped_key + sealed.nonce


def test_opening_with_other_associated_data_raises_a_seal_error(keys):
    """A body sealed for one item does not open as another's: not with its wrapped key, nor with its
    wrapped key moved onto the other item's body."""
    sealed, other = keys.seal(b"body", AAD), keys.seal(b"other", b"gsomia/body/v1|K-NAV-1")
    with pytest.raises(SealError, match="K-NAV-1"):
        keys.open(sealed, b"gsomia/body/v1|K-NAV-1")
    with pytest.raises(SealError, match=r"K-NAV-1.*does not unwrap"):  # caught at the wrap, not the body
        keys.open(replace(other, wrapped_key=sealed.wrapped_key), b"gsomia/body/v1|K-NAV-1")


def test_a_body_sealed_with_an_rfc3394_wrapped_key_still_opens_and_its_tampering_is_caught(keys):
    """Bodies sealed before keys were wrapped with AES-GCM-SIV carry an RFC 3394 wrap (40 bytes) under
    the node's key: they open, and a flipped bit in that wrap, or a wrap of another length, does not."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.keywrap import aes_key_wrap

    data_key, nonce = AESGCM.generate_key(bit_length=256), bytes(12)
    old = SealedBody(aes_key_wrap(keys._kek, data_key), nonce, AESGCM(data_key).encrypt(nonce, b"old", AAD))
    assert keys.open(old, AAD) == b"old"
    with pytest.raises(SealError):
        keys.open(replace(old, wrapped_key=flip(old.wrapped_key, 3)), AAD)
    for size in (0, 39, 41, 59, 61):  # neither layout
        with pytest.raises(SealError, match="malformed"):
            keys.open(replace(old, wrapped_key=bytes(size)), AAD)


@pytest.mark.parametrize("part", ["wrapped_key", "nonce", "ciphertext"])
def test_flipping_any_bit_of_a_sealed_body_is_detected(keys, part):
    """Tampering with the wrapped key, the nonce or the ciphertext makes open fail."""
    sealed = keys.seal(b"some body bytes", AAD)
    tampered = replace(sealed, **{part: flip(getattr(sealed, part), 5)})
    with pytest.raises(SealError):
        keys.open(tampered, AAD)


def test_another_nodes_key_cannot_open_a_body(keys):
    """The data key is wrapped by this node's key-encryption key only."""
    with pytest.raises(SealError, match="does not unwrap"):
        NodeKeys.generate().open(keys.seal(b"body", AAD), AAD)


def test_a_truncated_sealed_body_is_a_seal_error_not_a_crash(keys):
    """Malformed parts are refused with the same clear error."""
    sealed = keys.seal(b"body", AAD)
    with pytest.raises(SealError):
        keys.open(SealedBody(sealed.wrapped_key[:16], sealed.nonce, sealed.ciphertext), AAD)
    with pytest.raises(SealError):
        keys.open(SealedBody(sealed.wrapped_key, sealed.nonce[:4], sealed.ciphertext), AAD)


def test_signatures_verify_by_key_id_and_fail_closed(keys):
    """A signature verifies under the node's key id; a wrong byte or an unknown key id gives False."""
    signature = keys.sign(b"tree head")
    assert keys.verify(keys.key_id, b"tree head", signature)
    assert not keys.verify(keys.key_id, b"tree heaD", signature)
    assert not keys.verify(keys.key_id, b"tree head", flip(signature))
    assert not keys.verify("0" * 32, b"tree head", signature)


def test_a_trusted_partner_key_verifies_the_partners_signatures(keys):
    """Trusting another node's public key lets verify check its signatures."""
    partner = NodeKeys.generate()
    assert not keys.verify(partner.key_id, b"x", partner.sign(b"x"))
    assert keys.trust(partner.public_pem()) == partner.key_id
    assert keys.verify(partner.key_id, b"x", partner.sign(b"x"))


def test_the_key_id_is_the_first_16_bytes_of_sha256_of_the_raw_public_key(keys):
    """key_id = hex(SHA-256(raw Ed25519 public key)[:16])."""
    raw = keys.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert keys.key_id == hashlib.sha256(raw).digest()[:16].hex()
    assert len(keys.key_id) == 32


def test_key_files_are_written_private_and_load_back_the_same_keys(tmp_path: Path):
    """kek.bin and signing.pem are 0600; loading them gives the same key id and opens old bodies."""
    made = create_keys(tmp_path)
    for name in ("kek.bin", "signing.pem"):
        assert stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert (tmp_path / "keys" / "signing.pub.pem").read_bytes() == made.public_pem()
    loaded = load_keys(tmp_path)
    assert loaded.key_id == made.key_id
    assert loaded.open(made.seal(b"body", AAD), AAD) == b"body"
    assert repr(loaded) == f"NodeKeys(key_id={loaded.key_id!r})"  # never the key material


def test_key_files_are_never_overwritten(tmp_path: Path):
    """Creating keys where keys exist is refused and leaves them as they were."""
    create_keys(tmp_path)
    before = (tmp_path / "keys" / "kek.bin").read_bytes()
    with pytest.raises(KeyFileError, match="never overwritten"):
        create_keys(tmp_path)
    assert (tmp_path / "keys" / "kek.bin").read_bytes() == before


def test_missing_or_damaged_key_files_name_the_file(tmp_path: Path):
    """No keys, a short key-encryption key, or a bad PEM: a KeyFileError naming the file."""
    with pytest.raises(KeyFileError, match=r"kek\.bin"):
        load_keys(tmp_path)
    create_keys(tmp_path)
    (tmp_path / "keys" / "signing.pem").write_bytes(b"not a key")
    with pytest.raises(KeyFileError, match=r"signing\.pem"):
        load_keys(tmp_path)
    (tmp_path / "keys" / "kek.bin").write_bytes(b"short")
    with pytest.raises(KeyFileError, match="expected 32 bytes"):
        load_keys(tmp_path)


def test_a_key_file_others_can_read_is_refused(tmp_path):
    """load_keys refuses a node key whose mode lets group or others read it, and says to chmod 600."""
    create_keys(tmp_path)
    os.chmod(tmp_path / "keys" / "kek.bin", 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_keys(tmp_path)


@pytest.mark.parametrize("mode", [0o777, 0o750, 0o705, 0o720])
def test_a_key_directory_its_group_or_others_may_use_is_refused(tmp_path: Path, mode: int):
    """load_keys refuses keys/ when any group or other bit is set, and says to chmod 700 it."""
    create_keys(tmp_path)
    os.chmod(tmp_path / "keys", mode)
    with pytest.raises(KeyFileError, match=f"chmod 700 {tmp_path / 'keys'}"):
        load_keys(tmp_path)
    os.chmod(tmp_path / "keys", 0o700)
    assert load_keys(tmp_path).key_id


def test_keys_are_not_written_into_a_directory_others_may_use(tmp_path: Path):
    """create_keys refuses an existing keys/ that group or others may write, before writing any key."""
    (tmp_path / "keys").mkdir(mode=0o700)
    os.chmod(tmp_path / "keys", 0o777)
    with pytest.raises(KeyFileError, match="chmod 700"):
        create_keys(tmp_path)
    assert list((tmp_path / "keys").iterdir()) == []


def test_a_fifo_in_place_of_a_key_is_refused_without_blocking(tmp_path: Path):
    """A named pipe where kek.bin belongs is not read (it would block): a KeyFileError naming it."""
    create_keys(tmp_path)
    (tmp_path / "keys" / "kek.bin").unlink()
    os.mkfifo(tmp_path / "keys" / "kek.bin", 0o600)
    with pytest.raises(KeyFileError, match=r"kek\.bin: not a key file"):
        load_keys(tmp_path)


def test_a_key_encryption_key_of_the_wrong_size_or_type_of_bytes_is_a_seal_error_or_works():
    """The module's functions take the node's key as bytes of 32: another length is refused as a
    SealError; a bytearray or memoryview of the right one works as bytes do."""
    from gsomia.crypto import seal as sealing

    for bad in (b"", b"k", bytes(31), bytes(33)):
        with pytest.raises(SealError, match="32 bytes"):
            sealing.seal(bad, b"body", AAD)
    kek = os.urandom(32)
    sealed = sealing.seal(bytearray(kek), b"body", memoryview(AAD))
    assert sealing.open_sealed(memoryview(kek), sealed, AAD) == b"body"
    with pytest.raises(SealError, match="does not unwrap"):
        sealing.open_sealed(kek, sealed, memoryview(b"gsomia/body/v1|other"))
