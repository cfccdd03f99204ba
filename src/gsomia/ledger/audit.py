"""Check a whole log: recompute every leaf and the tree, then hold each kept head against it.

Pure: the caller reads the records, any stored leaf hashes and the heads, and passes them in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gsomia.ledger.canonical import canonical
from gsomia.ledger.errors import CanonicalError
from gsomia.ledger.head import TreeHead, Verifier, verify_head
from gsomia.ledger.incremental import MerkleTree
from gsomia.ledger.tree import leaf_hash


@dataclass(frozen=True, slots=True)
class LogFault:
    """The first thing wrong with a log: leaf ``index`` of the records, or head ``index`` of the heads."""

    kind: Literal["leaf", "head"]
    index: int
    reason: str


def verify_log(
    records: Sequence[bytes],
    heads: Sequence[TreeHead],
    verify_fn: Verifier | None = None,
    *,
    leaf_hashes: Sequence[bytes] | None = None,
    check_canonical: bool = False,
) -> LogFault | None:
    """The first fault in the log, or None if every check passes.

    Leaves are checked first, in order: with ``check_canonical`` each record must be its own RFC 8785
    form; with ``leaf_hashes`` (as a store kept them) each must equal the recomputed hash. Then each head,
    in the order given: with ``verify_fn`` its signature must be valid, its size within the log and its root
    the recomputed root at that size. Without stored leaf hashes an edited record shows up as the
    first head whose size covers it.
    """
    hashes = [leaf_hash(record) for record in records]
    fault = _leaf_fault(records, hashes, leaf_hashes, check_canonical)
    if fault is not None:
        return fault
    tree = MerkleTree(hashes)
    for index, head in enumerate(heads):
        reason = _head_problem(tree, head, verify_fn)
        if reason:
            return LogFault("head", index, reason)
    return None


def _leaf_fault(
    records: Sequence[bytes], hashes: list[bytes], stored: Sequence[bytes] | None, check_canonical: bool
) -> LogFault | None:
    if check_canonical:
        for index, record in enumerate(records):
            if not _is_canonical(record):
                return LogFault("leaf", index, "record is not RFC 8785 canonical JSON")
    if stored is None:
        return None
    for index, (mine, kept) in enumerate(zip(hashes, stored, strict=False)):
        if mine != kept:
            return LogFault("leaf", index, "record does not hash to the stored leaf hash")
    if len(stored) != len(hashes):
        return LogFault("leaf", min(len(stored), len(hashes)), "record count differs from stored leaf hashes")
    return None


def _is_canonical(record: bytes) -> bool:
    try:
        return canonical(json.loads(record)) == record
    except (ValueError, CanonicalError):  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return False


def _head_problem(tree: MerkleTree, head: TreeHead, verify_fn: Verifier | None) -> str:
    if verify_fn is not None and not verify_head(head, verify_fn):
        return "head signature does not verify"
    if head.size > tree.size:
        return f"head size {head.size} exceeds the log's {tree.size} records"
    if tree.root(head.size) != head.root_hash:
        return f"head root differs from the log's root at size {head.size}"
    return ""
