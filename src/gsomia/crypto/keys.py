"""The node's key ring: a key-encryption key for bodies at rest and an Ed25519 signing key.

A node directory holds them under ``keys/``::

    keys/kek.bin            32 random bytes, the AES key-wrapping key       (mode 0600)
    keys/signing.pem        the Ed25519 private key, PKCS#8 PEM             (mode 0600)
    keys/signing.pub.pem    its public key, SubjectPublicKeyInfo PEM         (for partners)

``key_id`` names the signing key: the hex of the first 16 bytes of SHA-256 over the raw 32-byte public key.
Other nodes' public keys can be trusted by id so :meth:`NodeKeys.verify` checks their signatures too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gsomia.services.ports import SealedBody

from .errors import KeyFileError
from .seal import KEY_SIZE, open_sealed, seal

KEY_DIR = "keys"
KEK_FILE = "kek.bin"
SIGNING_FILE = "signing.pem"
PUBLIC_FILE = "signing.pub.pem"


def key_id_of(public: Ed25519PublicKey) -> str:
    """Hex of the first 16 bytes of SHA-256 over the raw public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:16].hex()


class NodeKeys:
    """Implements :class:`gsomia.services.ports.KeyRing` with keys held in memory."""

    def __init__(
        self, kek: bytes, signing: Ed25519PrivateKey, trusted: Mapping[str, Ed25519PublicKey] | None = None
    ) -> None:
        if len(kek) != KEY_SIZE:
            raise KeyFileError(f"the key-encryption key must be {KEY_SIZE} bytes, not {len(kek)}")
        self._kek = bytes(kek)
        self._signing = signing
        self.public_key = signing.public_key()
        self._key_id = key_id_of(self.public_key)
        self._trusted: dict[str, Ed25519PublicKey] = {self._key_id: self.public_key, **(trusted or {})}

    @classmethod
    def generate(cls) -> NodeKeys:
        """Fresh random keys, held in memory only (see :func:`create_keys` to write them)."""
        return cls(os.urandom(KEY_SIZE), Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return self._key_id

    def seal(self, plaintext: bytes, associated: bytes) -> SealedBody:
        return seal(self._kek, plaintext, associated)

    def open(self, sealed: SealedBody, associated: bytes) -> bytes:
        return open_sealed(self._kek, sealed, associated)

    def sign(self, data: bytes) -> bytes:
        return self._signing.sign(data)

    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool:
        """True only for a valid signature by a key this ring knows; never raises for a bad one."""
        public = self._trusted.get(key_id)
        if public is None:
            return False
        try:
            public.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def trust(self, public_pem: bytes) -> str:
        """Trust another node's Ed25519 public key (PEM) for :meth:`verify`; returns its key id."""
        public = _public_from_pem(public_pem, "the public key")
        self._trusted[key_id_of(public)] = public
        return key_id_of(public)

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def __repr__(self) -> str:  # never show key material
        return f"NodeKeys(key_id={self._key_id!r})"


def create_keys(node_dir: Path) -> NodeKeys:
    """Generate the node's keys and write them under ``node_dir/keys``; refuses to overwrite any."""
    keys = NodeKeys.generate()
    directory = node_dir / KEY_DIR
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_pem = keys._signing.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(directory / KEK_FILE, keys._kek, 0o600)
    _write_new(directory / SIGNING_FILE, private_pem, 0o600)
    _write_new(directory / PUBLIC_FILE, keys.public_pem(), 0o644)
    return keys


def load_keys(node_dir: Path) -> NodeKeys:
    """Read the node's keys from ``node_dir/keys``; KeyFileError naming the file if one is unusable."""
    directory = node_dir / KEY_DIR
    kek = _read(directory / KEK_FILE)
    if len(kek) != KEY_SIZE:
        raise KeyFileError(f"{directory / KEK_FILE}: expected {KEY_SIZE} bytes, found {len(kek)}")
    path = directory / SIGNING_FILE
    try:
        signing = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(signing, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 private key")
    return NodeKeys(kek, signing)


def _public_from_pem(pem: bytes, what: str) -> Ed25519PublicKey:
    try:
        public = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{what} is not a PEM public key ({exc})") from None
    if not isinstance(public, Ed25519PublicKey):
        raise KeyFileError(f"{what} is not an Ed25519 public key")
    return public


def _read(path: Path) -> bytes:
    """A secret key file's bytes; refused if anyone but its owner may read or write it."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the node key ({exc.strerror or exc})") from None
    if mode & 0o077:
        raise KeyFileError(
            f"{path}: others may read or change this secret key (mode {mode & 0o777:o}); run chmod 600 on it"
        )
    return data


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; a node's keys are never overwritten") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)  # the umask may have narrowed it; 0600 stays 0600 either way
