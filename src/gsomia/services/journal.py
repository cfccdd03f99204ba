"""Writing to the node: every record and every release goes in with its transparency-log leaf.

The only way services append a world record or a release is through here, inside the caller's unit of
work, so a record and its leaf commit together or not at all (issue 5 builds proofs on these leaves). A
leaf's bytes are the RFC 8785 canonical JSON of the row it proves, as :func:`record_json` and
:func:`release_json` give it; its ``ref`` says which row (``record:<seq>``, ``release:<seq>``).
"""

from __future__ import annotations

from typing import Any

from gsomia.ledger.canonical import canonical

from .ports import LeafRow, Record, ReleaseRow, UnitOfWork

# the leaf kind of each record kind (consent changes share one kind: a consent's history is one story)
LEAF_KINDS = {
    "meta": "meta",
    "party": "party",
    "agreement": "agreement",
    "event": "event",
    "item": "item",
    "consent": "consent",
    "consent-status": "consent",
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


def add_record(uow: UnitOfWork, kind: str, key: str, data: dict[str, Any]) -> tuple[Record, LeafRow]:
    """Append a world record and its leaf."""
    record = uow.add_record(kind, key, data)
    return record, uow.append_leaf(LEAF_KINDS[kind], record_ref(record.seq), canonical(record_json(record)))


def add_release_leaf(uow: UnitOfWork, row: ReleaseRow) -> LeafRow:
    """Append the leaf of a release (allowed or refused) just added in ``uow``."""
    return uow.append_leaf("release", release_ref(row.seq), canonical(release_json(row)))


def record_ref(seq: int) -> str:
    return f"record:{seq}"


def release_ref(seq: int) -> str:
    return f"release:{seq}"
