"""Signed tree heads: what a node signs about its log, and how a partner checks it.

The signed bytes are version 2 of this encoding, the RFC 8785 canonical JSON of::

    {"key_id": <key id>, "prev_root": <64 hex digits>, "prev_size": <leaf count>,
     "root": <64 lowercase hex digits>, "size": <leaf count>, "type": "gsomia/tree-head", "v": 2}

``type`` keeps a head signature from being mistaken for the node's signature on anything else, ``v``
leaves room for a successor encoding, and ``key_id`` binds the head to the key that signed it.
``prev_size`` and ``prev_root`` name the head signed before this one (size 0 and the empty tree's root for
the first), so the heads form a chain: one removed or reordered breaks it. Version 3 adds ``state``: a
small JSON object the node also vouches for with the same signature (gsomia puts there the count and a
running digest of its world records and its last release number, so that a freshly started process can
trust them without rehashing the log). Versions 1 (no ``prev_*``) and 2 (no ``state``) are still read and
verified, for heads kept before. Signing and verifying are injected
(``Signer``, ``Verifier``) so this module needs no cryptography library.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from gsomia.ledger.canonical import JsonValue, canonical
from gsomia.ledger.errors import HeadFormatError
from gsomia.ledger.tree import EMPTY_ROOT, HASH_SIZE

HEAD_VERSION = 3
HEAD_TYPE = "gsomia/tree-head"
MAX_SIZE = 2**53 - 1  # the largest integer canonical JSON carries exactly

_HEX = re.compile(r"(?:[0-9a-f]{2})*")
_V1_KEYS = frozenset({"v", "size", "root", "key_id", "signature"})
_V2_KEYS = _V1_KEYS | {"prev_size", "prev_root"}
_V3_KEYS = _V2_KEYS | {"state"}
_KEYS = {1: _V1_KEYS, 2: _V2_KEYS, 3: _V3_KEYS}
State = Mapping[str, JsonValue]


class Signer(Protocol):
    """Signs bytes with the node key, e.g. an Ed25519 private key."""

    def sign(self, data: bytes) -> bytes:
        """The signature over ``data``."""
        ...


Verifier = Callable[[str, bytes, bytes], bool]
"""``verify(key_id, data, signature)``: True only for a valid signature by the key ``key_id`` names.

It must return False, not raise, for a bad signature or an unknown key.
"""


def head_signing_bytes(
    size: int,
    root_hash: bytes,
    key_id: str,
    prev: tuple[int, bytes] | None = (0, EMPTY_ROOT),
    state: State | None = None,
) -> bytes:
    """The exact bytes signed for a tree of ``size`` leaves with root ``root_hash`` whose previous head
    was ``prev`` (size, root), vouching for ``state``: encoding v3; without ``state`` the encoding v2, and
    with ``prev=None`` too the oldest, v1."""
    _check_fields(size, root_hash, key_id)
    signed: dict[str, JsonValue] = {
        "key_id": key_id,
        "root": root_hash.hex(),
        "size": size,
        "type": HEAD_TYPE,
    }
    if prev is None:
        if state is not None:
            raise HeadFormatError("a head with a state names its previous head")
        return canonical({**signed, "v": 1})
    _check_fields(prev[0], prev[1], key_id)
    if prev[0] > size:
        raise HeadFormatError(f"the previous head's size {prev[0]} is larger than this head's {size}")
    signed |= {"prev_root": prev[1].hex(), "prev_size": prev[0]}
    if state is None:
        return canonical({**signed, "v": 2})
    if not isinstance(state, Mapping):
        raise HeadFormatError("a head's state is a JSON object")
    return canonical({**signed, "state": dict(state), "v": HEAD_VERSION})


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
    prev: tuple[int, bytes] | None = (0, EMPTY_ROOT)  # the head signed before (None: a v1 head)
    state: State | None = None  # what else the signer vouches for (None: a v1 or v2 head)

    def __post_init__(self) -> None:
        _check_fields(self.size, self.root_hash, self.key_id)
        if not isinstance(self.signature, bytes):
            raise HeadFormatError("signature must be bytes")
        if self.prev is not None:
            _check_fields(self.prev[0], self.prev[1], self.key_id)

    @property
    def version(self) -> int:
        if self.prev is None:
            return 1
        return 2 if self.state is None else HEAD_VERSION

    def signed_bytes(self) -> bytes:
        """The bytes the signature is over."""
        return head_signing_bytes(self.size, self.root_hash, self.key_id, self.prev, self.state)

    def follows(self, earlier: TreeHead) -> bool:
        """Whether this head names ``earlier`` as the head signed just before it."""
        return self.prev == (earlier.size, earlier.root_hash)

    def to_dict(self) -> dict[str, JsonValue]:
        """The JSON form: hashes and signature as lowercase hex."""
        out: dict[str, JsonValue] = {
            "v": self.version,
            "size": self.size,
            "root": self.root_hash.hex(),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }
        if self.prev is not None:
            out |= {"prev_size": self.prev[0], "prev_root": self.prev[1].hex()}
        if self.state is not None:
            out["state"] = dict(self.state)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TreeHead:
        """Read the JSON form back; HeadFormatError on any missing, extra or ill-typed field."""
        if not isinstance(data, Mapping):
            raise HeadFormatError(f"a tree head is a JSON object, not {type(data).__name__}")
        version = data.get("v")
        if isinstance(version, bool) or not isinstance(version, int) or version not in _KEYS:
            raise HeadFormatError(f"unknown tree head version {version!r}")
        keys = _KEYS[version]
        if set(data) != keys:
            raise HeadFormatError(f"a version {version} tree head has exactly the keys {sorted(keys)}")
        size, key_id = data["size"], data["key_id"]
        if not isinstance(size, int) or isinstance(size, bool) or not isinstance(key_id, str):
            raise HeadFormatError("size must be an integer and key_id a string")
        root_hash = _unhex(data["root"], "root")
        prev: tuple[int, bytes] | None = None
        if version >= 2:
            prev_size = data["prev_size"]
            if not isinstance(prev_size, int) or isinstance(prev_size, bool):
                raise HeadFormatError("prev_size must be an integer")
            prev = (prev_size, _unhex(data["prev_root"], "prev_root"))
        state = data.get("state") if version >= 3 else None
        if version >= 3 and not isinstance(state, Mapping):
            raise HeadFormatError("a version 3 head's state must be a JSON object")
        signature = _unhex(data["signature"], "signature")
        return cls(size, root_hash, signature, key_id, prev, state)  # type: ignore[arg-type]


def _unhex(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise HeadFormatError(f"{name} must be lowercase hex")
    return bytes.fromhex(value)


def sign_head(
    size: int,
    root_hash: bytes,
    signer: Signer,
    key_id: str,
    prev: tuple[int, bytes] = (0, EMPTY_ROOT),
    state: State | None = None,
) -> TreeHead:
    """Sign the head of a tree of ``size`` leaves with root ``root_hash``, chained to the head ``prev``
    (size, root) signed before it (the empty tree for a log's first head), vouching for ``state``."""
    signature = signer.sign(head_signing_bytes(size, root_hash, key_id, prev, state))
    return TreeHead(size, root_hash, signature, key_id, prev, state)


def verify_head(head: TreeHead, verify_fn: Verifier) -> bool:
    """Whether ``head.signature`` is a valid signature by ``head.key_id`` over the head's signed bytes."""
    return verify_fn(head.key_id, head.signed_bytes(), head.signature)
