"""Signed tree heads: the exact signed bytes, Ed25519 signing through the injected ports, the JSON form."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gsomia.ledger import (
    EMPTY_ROOT,
    HeadFormatError,
    TreeHead,
    head_signing_bytes,
    leaf_hash,
    sign_head,
    verify_head,
)

ROOT = leaf_hash(b"root")
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))


class Ed25519Signer:
    """The Signer port over a cryptography Ed25519 private key."""

    def __init__(self, key):
        self.key = key

    def sign(self, data):
        return self.key.sign(data)


def verifier_for(keys):
    """A Verifier over {key_id: private key}: False for unknown keys and bad signatures."""

    def verify(key_id, data, signature):
        key = keys.get(key_id)
        if key is None:
            return False
        try:
            key.public_key().verify(signature, data)
        except InvalidSignature:
            return False
        return True

    return verify


VERIFY = verifier_for({"node-a": KEY})


def test_signed_bytes_are_version_2_canonical_json_naming_the_previous_head():
    """The signed bytes are the documented canonical JSON object, byte for byte, previous head included."""
    prev = leaf_hash(b"before")
    assert head_signing_bytes(7, ROOT, "node-a", (3, prev)) == (
        b'{"key_id":"node-a","prev_root":"'
        + prev.hex().encode()
        + b'","prev_size":3,"root":"'
        + ROOT.hex().encode()
        + b'","size":7,"type":"gsomia/tree-head","v":2}'
    )


def test_version_1_signed_bytes_are_still_what_old_heads_signed():
    """A head kept before the chain existed (v1) still verifies: its bytes carry no previous head."""
    assert head_signing_bytes(7, ROOT, "node-a", None) == (
        b'{"key_id":"node-a","root":"' + ROOT.hex().encode() + b'","size":7,"type":"gsomia/tree-head","v":1}'
    )
    old = TreeHead(
        7, ROOT, Ed25519Signer(KEY).sign(head_signing_bytes(7, ROOT, "node-a", None)), "node-a", None
    )
    assert verify_head(TreeHead.from_dict(old.to_dict()), VERIFY)


def test_a_head_follows_only_the_head_it_names():
    """follows() holds for the head named as previous, not for one skipped or reordered."""
    first = sign_head(2, leaf_hash(b"a"), Ed25519Signer(KEY), "node-a")
    second = sign_head(5, ROOT, Ed25519Signer(KEY), "node-a", (first.size, first.root_hash))
    third = sign_head(9, leaf_hash(b"c"), Ed25519Signer(KEY), "node-a", (second.size, second.root_hash))
    assert second.follows(first)
    assert third.follows(second)
    assert not third.follows(first)
    assert not first.follows(second)


def test_a_signed_head_verifies_with_the_signing_key():
    """sign_head with an Ed25519 key gives a head verify_head accepts."""
    head = sign_head(7, ROOT, Ed25519Signer(KEY), "node-a")
    assert verify_head(head, VERIFY)
    assert KEY.public_key().verify(head.signature, head.signed_bytes()) is None


@pytest.mark.parametrize(
    "change",
    [
        {"size": 8},
        {"root_hash": leaf_hash(b"other")},
        {"key_id": "node-b"},
        {"signature": bytes(64)},
        {"prev": (1, leaf_hash(b"forged"))},
    ],
    ids=["size", "root", "key", "signature", "previous"],
)
def test_changing_any_field_of_a_signed_head_breaks_its_signature(change):
    """A different size, root, key id or signature does not verify."""
    head = sign_head(7, ROOT, Ed25519Signer(KEY), "node-a")
    both = verifier_for({"node-a": KEY, "node-b": KEY})
    assert not verify_head(dataclasses.replace(head, **change), both)


def test_a_head_signed_by_another_key_does_not_verify():
    """A head whose key id is right but whose signature is by some other key is refused."""
    head = sign_head(7, ROOT, Ed25519Signer(OTHER_KEY), "node-a")
    assert not verify_head(head, VERIFY)


def test_a_head_survives_its_json_form():
    """from_dict(to_dict()) returns an equal head that still verifies."""
    head = sign_head(0, ROOT, Ed25519Signer(KEY), "node-a")
    data = head.to_dict()
    assert data == {
        "v": 2,
        "size": 0,
        "root": ROOT.hex(),
        "key_id": "node-a",
        "signature": head.signature.hex(),
        "prev_size": 0,
        "prev_root": EMPTY_ROOT.hex(),
    }
    assert TreeHead.from_dict(data) == head
    assert verify_head(TreeHead.from_dict(data), VERIFY)


GOOD = {"v": 1, "size": 3, "root": ROOT.hex(), "key_id": "k", "signature": "abcd"}


@pytest.mark.parametrize(
    "bad",
    [
        {"v": 2},
        {"v": 3},
        {"v": True},
        {"size": -1},
        {"size": True},
        {"size": "3"},
        {"size": 2**53},
        {"root": ROOT.hex()[:-2]},
        {"root": ROOT.hex().upper()},
        {"signature": "abc"},
        {"signature": 5},
        {"key_id": ""},
        {"key_id": 7},
        {"extra": 1},
    ],
    ids=repr,
)
def test_malformed_head_dicts_are_refused(bad):
    """Wrong version, size, hex, key id or an unknown key raise HeadFormatError."""
    with pytest.raises(HeadFormatError):
        TreeHead.from_dict({**GOOD, **bad})


def test_a_head_dict_missing_a_field_is_refused():
    """Every field of the JSON form is required."""
    for key in GOOD:
        with pytest.raises(HeadFormatError):
            TreeHead.from_dict({k: v for k, v in GOOD.items() if k != key})


def test_a_head_cannot_be_built_with_a_short_root():
    """TreeHead itself refuses a root that is not 32 bytes."""
    with pytest.raises(HeadFormatError):
        TreeHead(size=1, root_hash=b"short", signature=b"", key_id="k")
