"""Working on a stored tree through a few of its nodes, not all of them.

A tree of ``size`` leaves is, left to right, a run of perfect subtrees (one per set bit of ``size``): its
*frontier*. Appending needs only the frontier (each new leaf pairs with unpaired right-edge nodes), and an
RFC 9162 proof needs only the O(log n) perfect subtrees its path folds. These functions say which stored
``(level, index)`` nodes a step needs, so a store can fetch exactly those, and then compute from them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

from gsomia.ledger.tree import EMPTY_ROOT, consistency_path, inclusion_path, node_hash

Key = tuple[
    int, int
]  # (level, index) of a perfect subtree: leaves [index * 2**level, (index + 1) * 2**level)
Nodes = Mapping[Key, bytes]


def runs(lo: int, hi: int) -> list[Key]:
    """The perfect subtrees that MTH(D[lo:hi]) folds, left to right (for the node ranges RFC 9162 uses)."""
    out: list[Key] = []
    while lo < hi:
        n = hi - lo
        width = n if not n & (n - 1) else 1 << ((n - 1).bit_length() - 1)
        level = width.bit_length() - 1
        out.append((level, lo >> level))
        lo += width
    return out


def fold(pieces: list[bytes]) -> bytes:
    """Fold perfect-subtree hashes, given left to right, from the right: the MTH of their whole range."""
    acc = pieces.pop()
    while pieces:
        acc = node_hash(pieces.pop(), acc)
    return acc


def _fold(nodes: Nodes, lo: int, hi: int) -> bytes:
    return fold([nodes[key] for key in runs(lo, hi)])


def _recording(needed: set[Key]) -> Callable[[int, int], bytes]:
    def subtree(lo: int, hi: int) -> bytes:
        needed.update(runs(lo, hi))
        return b"\0" * 32

    return subtree


def needed_for_inclusion(index: int, size: int) -> set[Key]:
    """Every node the inclusion proof of ``index`` in a tree of ``size``, its leaf and its root need."""
    needed = {(0, index), *runs(0, size)}
    inclusion_path(index, size, _recording(needed))
    return needed


def run_of(index: int, size: int) -> Key:
    """The frontier run (perfect subtree of ``runs(0, size)``) that holds leaf ``index`` (``< size``)."""
    lo = 0
    while True:
        n = size - lo
        width = n if not n & (n - 1) else 1 << ((n - 1).bit_length() - 1)
        if index < lo + width:
            level = width.bit_length() - 1
            return level, lo >> level
        lo += width


def siblings(index: int, size: int) -> list[Key]:
    """The stored nodes that climb leaf ``index`` to its frontier run: its sibling at each level, leaf-side
    first. With the frontier (whose fold is the root) they are exactly an RFC 9162 inclusion proof."""
    level, _ = run_of(index, size)
    return [(h, (index >> h) ^ 1) for h in range(level)]


def included(nodes: Nodes, edge: Nodes, digest: bytes, index: int, size: int) -> bool:
    """Whether the leaf hash ``digest`` is leaf ``index`` of the tree of ``size`` whose frontier is ``edge``.

    The leaf is climbed through its :func:`siblings` (looked up in ``nodes``) to the frontier run holding
    it and compared with that run's hash. ``edge`` must already be known to fold to a trusted root (as a
    verified state's frontier is): then this is that root's inclusion proof, the other runs being the rest
    of the path. A missing node is a False, not an error.
    """
    if not 0 <= index < size:
        return False
    level, at = run_of(index, size)
    acc = digest
    sha = hashlib.sha256
    try:
        for h in range(level):
            sibling = nodes[(h, (index >> h) ^ 1)]
            acc = (
                sha(b"\x01" + sibling + acc).digest()
                if (index >> h) & 1
                else sha(b"\x01" + acc + sibling).digest()
            )
        return acc == edge[(level, at)]
    except KeyError:
        return False


def needed_for_consistency(old: int, new: int) -> set[Key]:
    """Every node the consistency proof from ``old`` to ``new`` and both roots need."""
    needed = {*runs(0, old), *runs(0, new)}
    if 0 < old < new:
        consistency_path(old, new, _recording(needed))
    return needed


def root_from(nodes: Nodes, size: int) -> bytes:
    return _fold(nodes, 0, size) if size else EMPTY_ROOT


def inclusion_from(nodes: Nodes, index: int, size: int) -> list[bytes]:
    return inclusion_path(index, size, lambda lo, hi: _fold(nodes, lo, hi))


def consistency_from(nodes: Nodes, old: int, new: int) -> list[bytes]:
    if old in (0, new):
        return []
    return consistency_path(old, new, lambda lo, hi: _fold(nodes, lo, hi))


def extend(
    size: int, frontier: Nodes, leaf_hashes: Iterable[bytes]
) -> tuple[int, list[tuple[int, int, bytes]], bytes]:
    """Append ``leaf_hashes`` to a tree of ``size`` leaves whose frontier (``runs(0, size)``) is given.

    Returns the new size, the nodes the appends created (to store) and the new root.
    """
    unpaired = {level: frontier[(level, index)] for level, index in runs(0, size)}
    created: list[tuple[int, int, bytes]] = []
    add, pop, sha = created.append, unpaired.pop, hashlib.sha256  # an import appends millions of leaves
    for digest in leaf_hashes:
        index, level = size, 0
        add((0, index, digest))
        while index & 1:
            digest = sha(b"\x01" + pop(level) + digest).digest()  # node_hash, inlined
            index, level = index >> 1, level + 1
            add((level, index, digest))
        unpaired[level] = digest
        size += 1
    pieces = [unpaired[level] for level in sorted(unpaired, reverse=True)]
    return size, created, fold(pieces) if pieces else EMPTY_ROOT
