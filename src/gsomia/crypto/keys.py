"""The node's key ring: a key-encryption key for bodies at rest and an Ed25519 signing key.

A node directory holds them under ``keys/``::

    keys/                   the directory, open to its owner only            (mode 0700)
    keys/kek.bin            32 random bytes, the key-encryption key          (mode 0600)
    keys/signing.pem        the Ed25519 private key, PKCS#8 PEM             (mode 0600)
    keys/signing.pub.pem    its public key, SubjectPublicKeyInfo PEM         (for partners)
    keys/hpke.key           32 raw bytes, the X25519 private key partners seal bodies to (mode 0600)

A node made before the HPKE key existed gets one the first time its keys are loaded.

The directory is refused if its group or others may read, write or enter it: whoever can write it can
swap the key files for their own.

``key_id`` names the signing key: the hex of the first 16 bytes of SHA-256 over the raw 32-byte public key.
Other nodes' public keys can be trusted by id so :meth:`NodeKeys.verify` checks their signatures too.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gsomia.services.ports import SealedBody, SealedStream, StoredBody

from .errors import KeyFileError
from .seal import KEY_SIZE, open_chunks, open_sealed, open_stored, seal, seal_chunks, seal_stream

KEY_DIR = "keys"
KEK_FILE = "kek.bin"
SIGNING_FILE = "signing.pem"
PUBLIC_FILE = "signing.pub.pem"
HPKE_FILE = "hpke.key"
_MAX_KEY_BYTES = 64 * 1024  # a key file is under a kilobyte; anything larger is not one


def key_id_of(public: Ed25519PublicKey) -> str:
    """Hex of the first 16 bytes of SHA-256 over the raw public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:16].hex()


class NodeKeys:
    """Implements :class:`gsomia.services.ports.KeyRing` with keys held in memory."""

    def __init__(
        self,
        kek: bytes,
        signing: Ed25519PrivateKey,
        trusted: Mapping[str, Ed25519PublicKey] | None = None,
        hpke: X25519PrivateKey | None = None,
    ) -> None:
        if len(kek) != KEY_SIZE:
            raise KeyFileError(f"the key-encryption key must be {KEY_SIZE} bytes, not {len(kek)}")
        self._kek = bytes(kek)
        self._hpke = hpke if hpke is not None else X25519PrivateKey.generate()
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

    @property
    def signing_public(self) -> bytes:
        """The raw 32-byte Ed25519 public key (for the node's partner card)."""
        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def hpke_public(self) -> bytes:
        """The raw 32-byte X25519 public key partners seal item bodies to."""
        return self._hpke.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def hpke_private(self) -> bytes:
        """The raw X25519 private key, for opening what partners sealed to this node (never stored
        anywhere else, never shown)."""
        return self._hpke.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    def seal(self, plaintext: bytes, associated: bytes) -> SealedBody:
        return seal(self._kek, plaintext, associated)

    def open(self, sealed: SealedBody, associated: bytes) -> bytes:
        return open_sealed(self._kek, sealed, associated)

    def seal_chunks(self, chunks: Iterable[bytes], associated: bytes) -> SealedBody:
        return seal_chunks(self._kek, chunks, associated)

    def open_chunks(self, sealed: SealedBody, associated: bytes) -> Iterator[bytes]:
        return open_chunks(self._kek, sealed, associated)

    def seal_stream(self, chunks: Iterable[bytes], associated: bytes) -> SealedBody | SealedStream:
        return seal_stream(self._kek, chunks, associated)

    def open_stored(self, body: StoredBody, associated: bytes) -> Iterator[bytes]:
        return open_stored(self._kek, body, associated)

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
    _check_directory(directory)
    private_pem = keys._signing.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(directory / KEK_FILE, keys._kek, 0o600)
    _write_new(directory / SIGNING_FILE, private_pem, 0o600)
    _write_new(directory / PUBLIC_FILE, keys.public_pem(), 0o644)
    _write_new(directory / HPKE_FILE, keys.hpke_private(), 0o600)
    return keys


def load_keys(node_dir: Path) -> NodeKeys:
    """Read the node's keys from ``node_dir/keys``; KeyFileError naming the file if one is unusable."""
    directory = node_dir / KEY_DIR
    _check_directory(directory)
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
    return NodeKeys(kek, signing, hpke=_hpke_key(directory / HPKE_FILE))


def _hpke_key(path: Path) -> X25519PrivateKey:
    """The node's X25519 key; made (once) for a node created before nodes had one."""
    if not path.exists():
        fresh = X25519PrivateKey.generate()
        raw = fresh.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        _write_new(path, raw, 0o600)
    raw = _read(path)
    if len(raw) != KEY_SIZE:
        raise KeyFileError(f"{path}: expected {KEY_SIZE} bytes, found {len(raw)}")
    return X25519PrivateKey.from_private_bytes(raw)


def _public_from_pem(pem: bytes, what: str) -> Ed25519PublicKey:
    try:
        public = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{what} is not a PEM public key ({exc})") from None
    if not isinstance(public, Ed25519PublicKey):
        raise KeyFileError(f"{what} is not an Ed25519 public key")
    return public


def _check_directory(directory: Path) -> None:
    """Refuse a key directory that is not a directory, or that its group or others may use."""
    try:
        mode = directory.stat().st_mode
    except FileNotFoundError:
        return  # reading the first key file names what is missing
    except OSError as exc:
        raise KeyFileError(f"{directory}: cannot read the node's keys ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(mode):
        raise KeyFileError(f"{directory}: not a directory; a node keeps its keys in the directory keys/")
    if mode & 0o077:
        raise KeyFileError(
            f"{directory}: others may read or change the node's keys here (mode {mode & 0o777:o}); "
            f"run chmod 700 {directory}"
        )


def _read(path: Path) -> bytes:
    """A secret key file's bytes; refused if anyone but its owner may read or write it, or not a file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: a FIFO put in a key's place must not hang the node
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(fd).st_mode
            data = handle.read(_MAX_KEY_BYTES + 1) if stat.S_ISREG(mode) else b""
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the node key ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode) or len(data) > _MAX_KEY_BYTES:
        raise KeyFileError(f"{path}: not a key file (not a regular file of at most 64 KiB)")
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
