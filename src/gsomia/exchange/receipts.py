"""Receipts: a node's signed word that it took a partner's bundle (accepted, or quarantined and why).

A receipt travels back to the sender as a STIX 2.1 ``note`` (TAXII add-objects into the collection the
sender keeps for the receiver) carrying gsomia's property extension::

    {"receipt": {"type": "gsomia/receipt", "v": 1, "bundle": <bundle id>, "sender": <party>, "seq": <n>,
                 "receiver": <party>, "status": "accepted" | "forwarding" | "quarantined", "reason": <text>,
                 "at": <timestamp>, "receiver_head": <the receiver's newest signed log head>},
     "signature": {"alg": "Ed25519", "key_id": <receiver's key id>, "value": <hex>}}

The signature covers the RFC 8785 bytes of ``receipt``; the sender checks it against the receiver's card.
Ids are derived from the bundle and the receiver, so sending a receipt twice adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gsomia.ledger.canonical import canonical

from .bundle import EXTENSION_ID
from .cards import Card, key_id_of
from .errors import BundleError

RECEIPT_TYPE = "gsomia/receipt"
STATUSES = ("accepted", "forwarding", "quarantined")
_NAMESPACE = uuid.UUID("0b5f3c55-1f0d-4b5e-9d0c-9b8f1f8f5a21")
MAX_REASON = 2000


@dataclass(frozen=True, slots=True)
class Receipt:
    bundle: str
    sender: str
    seq: int
    receiver: str
    status: str
    reason: str
    at: str
    receiver_head: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": RECEIPT_TYPE,
            "v": 1,
            "bundle": self.bundle,
            "sender": self.sender,
            "seq": self.seq,
            "receiver": self.receiver,
            "status": self.status,
            "reason": self.reason[:MAX_REASON],
            "at": self.at,
            "receiver_head": self.receiver_head,
        }


def build_receipt(receipt: Receipt, sign: Callable[[bytes], bytes], key_id: str) -> dict[str, Any]:
    """The receipt as a signed STIX 2.1 ``note`` about the bundle's report."""
    body = receipt.to_dict()
    signature = {"alg": "Ed25519", "key_id": key_id, "value": sign(canonical(body)).hex()}
    note_id = uuid.uuid5(_NAMESPACE, f"{receipt.bundle}|{receipt.receiver}")
    return {
        "type": "note",
        "spec_version": "2.1",
        "id": f"note--{note_id}",
        "created": receipt.at,
        "modified": receipt.at,
        "content": f"gsomia receipt: {receipt.status}",
        "object_refs": [receipt.bundle.replace("bundle--", "report--", 1)],
        "extensions": {
            EXTENSION_ID: {"extension_type": "property-extension", "receipt": body, "signature": signature}
        },
    }


def open_receipt(note: object, receiver_card: Card) -> Receipt:
    """The receipt a ``note`` carries, signed by the key on ``receiver_card``; BundleError if not."""
    try:
        extension = note["extensions"][EXTENSION_ID]  # type: ignore[index]
        body, signature = extension["receipt"], extension["signature"]
        if not isinstance(body, Mapping) or not isinstance(signature, Mapping):
            raise TypeError("receipt or signature is not an object")
        value = bytes.fromhex(str(signature["value"]))
        key_id = str(signature["key_id"])
    except (KeyError, TypeError, ValueError):
        raise BundleError("not a gsomia receipt (a note with a signed receipt extension)") from None
    if key_id != key_id_of(receiver_card.signing_key):
        raise BundleError(f"the receipt is signed by key {key_id[:16]}, not {receiver_card.party}'s")
    try:
        Ed25519PublicKey.from_public_bytes(receiver_card.signing_key).verify(value, canonical(dict(body)))
    except (InvalidSignature, ValueError):
        raise BundleError(f"the receipt's signature is not {receiver_card.party}'s") from None
    try:
        receipt = Receipt(
            str(body["bundle"]),
            str(body["sender"]),
            int(body["seq"]),
            str(body["receiver"]),
            str(body["status"]),
            str(body["reason"]),
            str(body["at"]),
            dict(body["receiver_head"]),
        )
    except (KeyError, TypeError, ValueError):
        raise BundleError("the receipt lacks a field") from None
    if body.get("type") != RECEIPT_TYPE or receipt.status not in STATUSES:
        raise BundleError("the receipt's type or status is not gsomia's")
    if receipt.receiver != receiver_card.party:
        raise BundleError(f"the receipt names {receipt.receiver} as receiver, not {receiver_card.party}")
    return receipt
