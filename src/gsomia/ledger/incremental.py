"""An append-only Merkle tree that keeps every perfect-subtree hash, so proofs cost O(log n).

``levels[0]`` holds the leaf hashes; ``levels[k][i]`` is the hash of the perfect subtree over leaves
``[i * 2**k, (i + 1) * 2**k)``. An append adds one leaf hash and then one parent per level for as long as
it completes a pair: amortised O(1) hashes, at most O(log n). Any RFC 9162 subtree MTH(D[lo:hi]) is a
left-to-right run of stored perfect subtrees folded from the right, so a root at any past size, an
inclusion proof and a consistency proof each cost O(log² n) list lookups and O(log n) hashes.

The levels can be exported and imported as plain lists of bytes so a store can persist them, whole or as
the nodes added since some size (``nodes_since``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from gsomia.ledger import frontier
from gsomia.ledger.errors import HashFormatError
from gsomia.ledger.tree import (
    EMPTY_ROOT,
    HASH_SIZE,
    check_consistency_args,
    check_inclusion_args,
    consistency_path,
    inclusion_path,
    node_hash,
)

Node = tuple[int, int, bytes]
"""``(level, index, hash)`` of one stored perfect-subtree hash."""


class MerkleTree:
    """An append-only RFC 9162 tree over leaf hashes; answers roots and proofs for every size it has had."""

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def __len__(self) -> int:
        return len(self._levels[0])

    def append(self, leaf_hash: bytes) -> int:
        """Add one leaf hash (see ``leaf_hash``) and return its index."""
        if len(leaf_hash) != HASH_SIZE:
            raise HashFormatError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf_hash)}")
        levels = self._levels
        row = levels[0]
        row.append(leaf_hash)
        k = 0
        while not len(row) & 1:
            parent = node_hash(row[-2], row[-1])
            k += 1
            if k == len(levels):
                levels.append([])
            row = levels[k]
            row.append(parent)
        return len(levels[0]) - 1

    @classmethod
    def build(cls, leaf_hashes: Sequence[bytes]) -> MerkleTree:
        """The tree over ``leaf_hashes``, built a level at a time: the same tree as appending each, without a
        Python step per append (a whole-log verification builds a million-leaf tree this way)."""
        for h in leaf_hashes:
            if len(h) != HASH_SIZE:
                raise HashFormatError(f"a leaf hash is {HASH_SIZE} bytes, not {len(h)}")
        tree = cls()
        row = list(leaf_hashes)
        levels = [row]
        sha = hashlib.sha256
        while len(row) > 1:
            row = [sha(b"\x01" + a + b).digest() for a, b in zip(row[0::2], row[1::2], strict=False)]
            levels.append(row)
        if not row:
            levels = [[]]
        tree._levels = levels
        return tree

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append each leaf hash in order."""
        append = self.append
        for h in leaf_hashes:
            append(h)

    def leaf_hash_at(self, index: int) -> bytes:
        """The leaf hash stored at ``index``."""
        check_inclusion_args(index, self.size, self.size)
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all of them)."""
        size = self.size if size is None else size
        check_consistency_args(size, size, self.size)
        return self._subtree(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The RFC 9162 inclusion proof for leaf ``index`` in the tree of size ``size`` (default: now)."""
        size = self.size if size is None else size
        check_inclusion_args(index, size, self.size)
        return inclusion_path(index, size, self._subtree)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The RFC 9162 consistency proof from size ``old_size`` to ``new_size`` (default: now)."""
        new_size = self.size if new_size is None else new_size
        check_consistency_args(old_size, new_size, self.size)
        if old_size in (0, new_size):
            return []
        return consistency_path(old_size, new_size, self._subtree)

    def _subtree(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a node range of some RFC 9162 tree: its stored perfect runs, folded."""
        levels = self._levels
        return frontier.fold([levels[level][index] for level, index in frontier.runs(lo, hi)])

    def export_levels(self) -> list[list[bytes]]:
        """A copy of every stored level, leaves first, for a store to persist."""
        return [list(row) for row in self._levels]

    def nodes_since(self, old_size: int) -> list[Node]:
        """The ``(level, index, hash)`` nodes added since the tree had ``old_size`` leaves."""
        check_consistency_args(old_size, self.size, self.size)
        return [(k, i, row[i]) for k, row in enumerate(self._levels) for i in range(old_size >> k, len(row))]

    @classmethod
    def from_levels(cls, levels: Sequence[Sequence[bytes]], *, check: bool = True) -> MerkleTree:
        """Rebuild a tree from ``export_levels`` output; the shape is always checked.

        With ``check`` (the default) every interior hash is recomputed from its children: O(n) hashes.
        Pass ``check=False`` only for levels this process wrote itself.
        """
        _check_shape(levels)
        if check:
            _check_parents(levels)
        tree = cls()
        tree._levels = [list(row) for row in levels]
        return tree


def _check_shape(levels: Sequence[Sequence[bytes]]) -> None:
    """Raise HashFormatError unless ``levels`` is exactly what appends of ``len(levels[0])`` leaves give."""
    size = len(levels[0]) if levels else 0
    want_rows = max(1, size.bit_length())
    if len(levels) != want_rows:
        raise HashFormatError(f"a tree of {size} leaves has {want_rows} levels, not {len(levels)}")
    for k, row in enumerate(levels):
        if len(row) != size >> k:
            raise HashFormatError(
                f"level {k} of a tree of {size} leaves has {size >> k} nodes, not {len(row)}"
            )
        if any(len(h) != HASH_SIZE for h in row):
            raise HashFormatError(f"level {k} holds a hash that is not {HASH_SIZE} bytes")


def _check_parents(levels: Sequence[Sequence[bytes]]) -> None:
    """Raise HashFormatError at the first interior hash that is not the hash of its two children."""
    for k in range(1, len(levels)):
        below, row = levels[k - 1], levels[k]
        for i, h in enumerate(row):
            if node_hash(below[2 * i], below[2 * i + 1]) != h:
                raise HashFormatError(f"node {i} of level {k} is not the hash of its children")
