"""Signed notes: what partner nodes tell each other besides bundles (consent requests and decisions).

A note is a STIX 2.1 ``note`` carrying gsomia's property extension ``{"<kind>": body, "signature": ...}``,
the signature an Ed25519 signature over the RFC 8785 bytes of ``body`` by the sending node's key; the
receiver checks it against the sender's card. Receipts (:mod:`.receipts`) are notes of the same shape.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gsomia.ledger.canonical import canonical

from .bundle import EXTENSION_ID
from .cards import Card, key_id_of
from .errors import BundleError

KINDS = ("consent-request", "consent-decision", "incident")
_NAMESPACE = uuid.UUID("6a2c1f0e-2d7b-4c1e-8f9a-3b5d7e9f1a2c")


def build_note(
    kind: str, body: Mapping[str, Any], at: str, sign: Callable[[bytes], bytes], key_id: str
) -> dict[str, Any]:
    """``body`` as a signed note of ``kind``; its id is derived from the kind and the body, so the same
    statement sent twice is one object."""
    data = dict(body)
    signature = {"alg": "Ed25519", "key_id": key_id, "value": sign(canonical(data)).hex()}
    note_id = uuid.uuid5(_NAMESPACE, canonical({"kind": kind, "body": data}).decode())
    return {
        "type": "note",
        "spec_version": "2.1",
        "id": f"note--{note_id}",
        "created": at,
        "modified": at,
        "content": f"gsomia {kind}",
        "object_refs": [f"note--{note_id}"],
        "extensions": {
            EXTENSION_ID: {"extension_type": "property-extension", kind: data, "signature": signature}
        },
    }


def note_kind(note: object) -> str | None:
    """Which of :data:`KINDS` (or ``receipt``) a note carries, or None."""
    try:
        extension = note["extensions"][EXTENSION_ID]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    if not isinstance(extension, Mapping):
        return None
    return next((k for k in (*KINDS, "receipt") if k in extension), None)


def open_note(note: object, kind: str, sender: Card) -> dict[str, Any]:
    """The body of a ``kind`` note signed by the key on ``sender``'s card; BundleError if not."""
    try:
        extension = note["extensions"][EXTENSION_ID]  # type: ignore[index]
        body, signature = extension[kind], extension["signature"]
        if not isinstance(body, Mapping) or not isinstance(signature, Mapping):
            raise TypeError("body or signature is not an object")
        value = bytes.fromhex(str(signature["value"]))
        key_id = str(signature["key_id"])
    except (KeyError, TypeError, ValueError):
        raise BundleError(f"not a gsomia {kind} (a note with a signed {kind} extension)") from None
    if key_id != key_id_of(sender.signing_key):
        raise BundleError(f"the {kind} is signed by key {key_id[:16]}, not {sender.party}'s")
    try:
        Ed25519PublicKey.from_public_bytes(sender.signing_key).verify(value, canonical(dict(body)))
    except (InvalidSignature, ValueError):
        raise BundleError(f"the {kind}'s signature is not {sender.party}'s") from None
    return dict(body)
