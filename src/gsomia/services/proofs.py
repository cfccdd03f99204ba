"""Checking the rows a unit of work reads, one by one, against the signed log.

A row is trusted when the leaf that names it holds exactly the row's canonical bytes and that leaf is in
the tree the newest signed head signs: an RFC 9162 inclusion proof, built from the stored tree's nodes
and checked against the signed root. Forging a row then needs a leaf the head covers with those bytes,
which needs a new signature. The cost is a lookup of the leaf by its ``ref`` and O(log n) stored nodes,
whatever the size of the node.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from gsomia.ledger import frontier, leaf_hash

from . import journal
from .errors import StoredRowError, TamperError
from .fullcheck import INVESTIGATE
from .ports import LeafRow, UnitOfWork
from .trust import Verified


def prove(uow: UnitOfWork, state: Verified, rows: Sequence[tuple[str, str, bytes]]) -> None:
    """Each ``(ref, leaf kind, leaf bytes)`` is a leaf under ``state``'s signed root, or TamperError."""
    prove_with_bodies(uow, state, rows, [])


def prove_with_bodies(
    uow: UnitOfWork, state: Verified, rows: Sequence[tuple[str, str, bytes]], items: Sequence[str]
) -> dict[str, str | None]:
    """:func:`prove` of ``rows`` and :func:`body_digests` of ``items`` in one pass (their leaves looked
    up together, the stored nodes their paths share read once): each item's body digest, None for an
    item no leaf names a body for."""
    if not rows and not items:
        return {}
    refs = {journal.body_ref(item): item for item in items}
    found = _leaves(uow, state, [ref for ref, _kind, _data in rows] + list(refs))
    chosen: list[LeafRow] = []
    for ref, kind, data in rows:
        leaves = found.get(ref, [])
        leaf = next((lf for lf in leaves if lf.kind == kind and lf.data == data), None)
        if leaf is None:
            if leaves:
                raise TamperError(
                    f"{ref} as stored is not what leaf {leaves[0].index} holds: it was edited; " + INVESTIGATE
                )
            raise TamperError(
                f"{ref} is in the store but in no leaf a signed head covers: it was never "
                f"logged; {INVESTIGATE}"
            )
        chosen.append(leaf)
    bodies = {ref: found[ref][0] for ref in refs if ref in found}
    # proven first: only a leaf the head covers is parsed
    _included(uow, state, chosen + list(bodies.values()))
    digests: dict[str, str | None] = dict.fromkeys(items)
    for ref, leaf in bodies.items():
        digests[refs[ref]] = _body_digest(leaf, refs[ref])
    return digests


def body_digest(uow: UnitOfWork, state: Verified, item: str) -> str | None:
    """The SHA-256 a stored body of ``item`` must have, by its proven leaf; None if no leaf names one."""
    return body_digests(uow, state, [item]).get(item)


def body_digests(uow: UnitOfWork, state: Verified, items: Sequence[str]) -> dict[str, str]:
    """:func:`body_digest` of each of ``items`` that a leaf names a body for, the leaves proven together
    (the stored nodes their paths share read once)."""
    found = prove_with_bodies(uow, state, [], items)
    return {item: digest for item, digest in found.items() if digest is not None}


def _body_digest(leaf: LeafRow, item: str) -> str:
    """The digest a proven body leaf names for ``item``; TamperError if it is malformed or names another."""
    try:
        data = json.loads(leaf.data)
        named, digest = data["item"], data["sha256"]
    except (ValueError, TypeError, KeyError, RecursionError):
        raise TamperError(f"body leaf {leaf.index} is malformed; {INVESTIGATE}") from None
    if named != item or not isinstance(digest, str):
        raise TamperError(f"body leaf {leaf.index} does not name item {item!r}; {INVESTIGATE}")
    return digest


def _leaves(uow: UnitOfWork, state: Verified, refs: Sequence[str]) -> dict[str, list[LeafRow]]:
    """The leaves the signed head covers that name one of ``refs``, by ref."""
    try:
        stored = uow.leaves_by_ref(refs)
    except StoredRowError as exc:
        raise TamperError(f"{exc.table} row {exc.row} is malformed; {INVESTIGATE}") from None
    found: dict[str, list[LeafRow]] = {}
    for leaf in stored:
        if leaf.index < state.size:
            found.setdefault(leaf.ref, []).append(leaf)
    return found


def _included(uow: UnitOfWork, state: Verified, leaves: Sequence[LeafRow]) -> None:
    """Each leaf is in the tree of ``state``: climbed from its hash through stored sibling nodes to the
    frontier run holding it (the verified frontier folds to the signed root, so this is an RFC 9162
    inclusion proof to that root)."""
    size, edge = state.size, state.frontier
    needed: set[tuple[int, int]] = set()
    for leaf in leaves:
        needed.update(frontier.siblings(leaf.index, size))
    nodes = uow.tree_nodes_at(needed) if needed else {}
    for leaf in leaves:
        if not frontier.included(nodes, edge, leaf_hash(leaf.data), leaf.index, size):
            raise TamperError(
                f"leaf {leaf.index} ({leaf.ref}) is not in the tree the newest signed head signs: the leaf "
                f"or the tree was rewritten; {INVESTIGATE}"
            )
