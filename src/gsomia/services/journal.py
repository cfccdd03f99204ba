"""Writing to the node: every record, body and release goes in with its transparency-log leaf.

The only way services append a world record, an item body or a release is through here, inside the
caller's unit of work, so a row and its leaf commit together or not at all. A leaf's bytes are the RFC 8785
canonical JSON of what it proves; its ``ref`` says which row (``record:<seq>``, ``release:<seq>``,
``body:<item>``). Leaves commit to the sealed bytes they protect: a body's leaf carries the SHA-256 of the
sealed body, a release's leaf that of its outbox payload, so a swapped, edited or deleted body or payload
no longer matches its leaf.
"""

from __future__ import annotations

import json.encoder
from collections.abc import Sequence
from typing import Any

from gsomia.ledger.canonical import canonical

from .ports import LeafRow, Record, ReleaseRow, SealedBody, SealedStream, UnitOfWork

# RFC 8785 writes a string as the standard library's encoder does with ensure_ascii=False (the same
# escapes); gsomia.ledger.canonical says why, and a unit test holds record leaves equal to canonical()
_string = json.encoder.encode_basestring

# the leaf kind of each record kind (consent changes share one kind: a consent's history is one story)
LEAF_KINDS = {
    "meta": "meta",
    "party": "party",
    "agreement": "agreement",
    "event": "event",
    "item": "item",
    "consent": "consent",
    "consent-status": "consent",
    "partner": "partner",  # a partner node registered or changed (its card, URL and token digest)
    "received": "received",  # a bundle from a partner, accepted or quarantined
    "receipt": "receipt",  # a partner's signed receipt for a bundle of ours
    "peer-head": "peer-head",  # a partner's signed head, checked to extend the one kept before
    "incident": "incident",  # an item's loss or compromise, reported here or by a holder
    "attribution": "attribution",  # the user a transaction's writes were made for
    "consent-note": "consent",  # an originator's signed consent decision, as received
    "withheld": "withheld",  # a release no longer served, and why
    "pull-cursor": "pull-cursor",  # how far a partner's collection was taken (a sync's resume point)
}


def record_json(record: Record) -> dict[str, Any]:
    """The JSON a record's leaf is the canonical form of."""
    return {"seq": record.seq, "kind": record.kind, "key": record.key, "data": record.data}


def release_json(row: ReleaseRow) -> dict[str, Any]:
    """The JSON a release's leaf is the canonical form of (the decision whole, allowed or denied)."""
    return {
        "seq": row.seq,
        "item": row.item,
        "recipient": row.recipient,
        "holder": row.holder,
        "at": row.at,
        "allowed": row.allowed,
        "decision": row.decision,
        "recorded": row.recorded,
    }


def sealed_digest(sealed: SealedBody) -> str:
    """The SHA-256 (hex) of a sealed body's stored bytes, each part length-prefixed."""
    return sealed.digest()


def release_leaf_json(row: ReleaseRow, payload: SealedBody | None) -> dict[str, Any]:
    """What a release's leaf is the canonical form of: the release, and its payload's digest if allowed."""
    return release_leaf_of(row, None if payload is None else sealed_digest(payload))


def release_leaf_of(row: ReleaseRow, payload_sha256: str | None) -> dict[str, Any]:
    """:func:`release_leaf_json` from the payload's digest (``None``: a refusal, no payload)."""
    return {**release_json(row), "payload_sha256": payload_sha256}


def body_json(item: str, sealed: SealedBody) -> dict[str, Any]:
    """What a body's leaf is the canonical form of: which item, and the digest of its sealed bytes."""
    return body_leaf_of(item, sealed_digest(sealed))


def body_leaf_of(item: str, sha256: str) -> dict[str, Any]:
    """:func:`body_json` from the sealed body's digest (a long body's, taken as it was stored)."""
    return {"item": item, "sha256": sha256}


def add_record(uow: UnitOfWork, kind: str, key: str, data: dict[str, Any]) -> tuple[Record, LeafRow]:
    """Append a world record and its leaf."""
    record = uow.add_record(kind, key, data)
    return record, uow.append_leaf(LEAF_KINDS[kind], record_ref(record.seq), canonical(record_json(record)))


def add_records(
    uow: UnitOfWork,
    entries: Sequence[tuple[str, str, dict[str, Any]]],
    texts: Sequence[bytes] | None = None,
) -> Sequence[Record]:
    """Append many world records and their leaves, two statements in all. Each data is encoded once: its
    canonical text is what the store keeps and what the leaf embeds (:func:`record_leaf`). ``texts``, when
    given, are those canonical bytes already (``canonical(data)`` for each entry: a bulk import builds
    them from parts it encoded once, see :mod:`gsomia.services.worldbook`)."""
    if texts is None:
        texts = [canonical(data) for _, _, data in entries]
    records = uow.add_records(entries, [text.decode("utf-8") for text in texts])
    keys: dict[str, bytes] = {}  # the canonical bytes of each kind, and of its leaf kind, computed once
    leaves = []
    for r, text in zip(records, texts, strict=True):
        kind = keys.get(r.kind)
        if kind is None:
            kind = keys[r.kind] = canonical(r.kind)
        leaves.append((LEAF_KINDS[r.kind], record_ref(r.seq), _record_leaf(r, text, kind)))
    uow.append_leaves(leaves)
    return records


def record_leaf(record: Record, data: bytes) -> bytes:
    """``canonical(record_json(record))`` from ``data``, the canonical bytes of ``record.data``: the four
    members in RFC 8785 order (data, key, kind, seq), the data's bytes written in as they are."""
    return _record_leaf(record, data, canonical(record.kind))


def _record_leaf(record: Record, data: bytes, kind: bytes) -> bytes:
    return stored_record_leaf(record.seq, kind, record.key, data)


def stored_record_leaf(seq: int, kind: bytes, key: str, data: bytes) -> bytes:
    """The leaf a record would have if ``data`` (its stored text, as UTF-8) is its data's canonical form,
    which is how records are stored; ``kind`` is ``canonical(kind)``. Equal to the leaf only if the stored
    row is exactly what was logged (a different but equivalent text needs :func:`record_json`)."""
    try:  # a string's canonical form is the standard encoder's (see gsomia.ledger.canonical)
        named = _string(key).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: canonical() says what is wrong
        named = canonical(key)
    first, after_data, after_key, after_kind, last = _PIECES
    return b"".join((first, data, after_data, named, after_key, kind, after_kind, b"%d" % seq, last))


# the constant parts of a record's leaf around its data, key, kind and seq (RFC 8785 member order)
RECORD_LEAF_PIECES = ('{"data":', ',"key":', ',"kind":', ',"seq":', "}")
_PIECES = tuple(piece.encode("ascii") for piece in RECORD_LEAF_PIECES)


def add_release_leaf(uow: UnitOfWork, row: ReleaseRow, payload: SealedBody | None) -> LeafRow:
    """Append the leaf of a release (allowed, with its outbox ``payload``, or refused) added in ``uow``."""
    return uow.append_leaf("release", release_ref(row.seq), canonical(release_leaf_json(row, payload)))


def add_body(uow: UnitOfWork, item: str, sealed: SealedBody | SealedStream) -> LeafRow:
    """Store an item's sealed body (a long one a segment at a time, as its segments are made) and append
    its leaf."""
    if isinstance(sealed, SealedStream):
        digest = uow.put_body_stream(item, sealed)
    else:
        uow.put_body(item, sealed)
        digest = sealed_digest(sealed)
    return uow.append_leaf("body", body_ref(item), canonical(body_leaf_of(item, digest)))


def record_ref(seq: int) -> str:
    return f"record:{seq}"


def release_ref(seq: int) -> str:
    return f"release:{seq}"


def body_ref(item: str) -> str:
    return f"body:{item}"
