"""Signed tree heads: what a node signs about its log, and how a partner checks it.

The signed bytes are version 1 of this encoding, the RFC 8785 canonical JSON of::

    {"key_id": <key id>, "root": <64 lowercase hex digits>, "size": <leaf count>,
     "type": "gsomia/tree-head", "v": 1}

``type`` keeps a head signature from being mistaken for the node's signature on anything else, ``v``
leaves room for a successor encoding, and ``key_id`` binds the head to the key that signed it. Signing
and verifying are injected (``Signer``, ``Verifier``) so this module needs no cryptography library.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from gsomia.ledger.canonical import JsonValue, canonical
from gsomia.ledger.errors import HeadFormatError
from gsomia.ledger.tree import HASH_SIZE

HEAD_VERSION = 1
HEAD_TYPE = "gsomia/tree-head"
MAX_SIZE = 2**53 - 1  # the largest integer canonical JSON carries exactly

_HEX = re.compile(r"(?:[0-9a-f]{2})*")
_DICT_KEYS = frozenset({"v", "size", "root", "key_id", "signature"})


class Signer(Protocol):
    """Signs bytes with the node key, e.g. an Ed25519 private key."""

    def sign(self, data: bytes) -> bytes:
        """The signature over ``data``."""
        ...


Verifier = Callable[[str, bytes, bytes], bool]
"""``verify(key_id, data, signature)``: True only for a valid signature by the key ``key_id`` names.

It must return False, not raise, for a bad signature or an unknown key.
"""


def head_signing_bytes(size: int, root_hash: bytes, key_id: str) -> bytes:
    """The exact bytes signed for a tree of ``size`` leaves with root ``root_hash`` (encoding v1)."""
    _check_fields(size, root_hash, key_id)
    return canonical(
        {"key_id": key_id, "root": root_hash.hex(), "size": size, "type": HEAD_TYPE, "v": HEAD_VERSION}
    )


def _check_fields(size: object, root_hash: object, key_id: object) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_SIZE:
        raise HeadFormatError(f"tree size must be an integer in 0..{MAX_SIZE}, not {size!r}")
    if not isinstance(root_hash, bytes) or len(root_hash) != HASH_SIZE:
        raise HeadFormatError(f"root hash must be {HASH_SIZE} bytes")
    if not isinstance(key_id, str) or not key_id:
        raise HeadFormatError("key id must be a non-empty string")


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A log's size and root at one moment, signed by the key ``key_id``."""

    size: int
    root_hash: bytes
    signature: bytes
    key_id: str

    def __post_init__(self) -> None:
        _check_fields(self.size, self.root_hash, self.key_id)
        if not isinstance(self.signature, bytes):
            raise HeadFormatError("signature must be bytes")

    def signed_bytes(self) -> bytes:
        """The bytes the signature is over."""
        return head_signing_bytes(self.size, self.root_hash, self.key_id)

    def to_dict(self) -> dict[str, JsonValue]:
        """The JSON form: hashes and signature as lowercase hex."""
        return {
            "v": HEAD_VERSION,
            "size": self.size,
            "root": self.root_hash.hex(),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TreeHead:
        """Read the JSON form back; HeadFormatError on any missing, extra or ill-typed field."""
        if set(data) != _DICT_KEYS:
            raise HeadFormatError(f"a tree head has exactly the keys {sorted(_DICT_KEYS)}")
        if data["v"] != HEAD_VERSION or isinstance(data["v"], bool):
            raise HeadFormatError(f"unknown tree head version {data['v']!r}")
        size, key_id = data["size"], data["key_id"]
        if not isinstance(size, int) or not isinstance(key_id, str):
            raise HeadFormatError("size must be an integer and key_id a string")
        root_hash = _unhex(data["root"], "root")
        return cls(size, root_hash, _unhex(data["signature"], "signature"), key_id)


def _unhex(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise HeadFormatError(f"{name} must be lowercase hex")
    return bytes.fromhex(value)


def sign_head(size: int, root_hash: bytes, signer: Signer, key_id: str) -> TreeHead:
    """Sign the head of a tree of ``size`` leaves with root ``root_hash``."""
    signature = signer.sign(head_signing_bytes(size, root_hash, key_id))
    return TreeHead(size=size, root_hash=root_hash, signature=signature, key_id=key_id)


def verify_head(head: TreeHead, verify_fn: Verifier) -> bool:
    """Whether ``head.signature`` is a valid signature by ``head.key_id`` over the head's signed bytes."""
    return verify_fn(head.key_id, head.signed_bytes(), head.signature)
