"""The node's transparency log: a store that keeps the Merkle tree and signs a head in every write.

:class:`LoggedStore` wraps the node's store. Each write unit of work that appended leaves (every record and
every release goes in with its leaf, see :mod:`gsomia.services.journal`) also, before it commits, appends
those leaves to the RFC 9162 tree, stores the interior nodes that the appends completed, and stores a tree
head signed with the node's key. So the record, its leaf, the tree that proves it and a signed head commit
together or not at all, and a proof never recomputes the tree (it reads the stored nodes).

Extending the tree reads only its right edge (one stored node per set bit of the size), so a write costs
O(log n) whatever the log's size and whichever process wrote last.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from gsomia.ledger import MerkleTree, frontier, leaf_hash, sign_head

from .ports import KeyRing, Store, UnitOfWork


def tree_of(uow: UnitOfWork) -> MerkleTree:
    """The whole tree from its stored interior nodes (not recomputed), for whole-log work."""
    levels: list[list[bytes]] = [[]]
    for level, index, digest in uow.tree_nodes():
        while len(levels) <= level:
            levels.append([])
        if index != len(levels[level]):
            raise ValueError(
                f"the stored tree lacks node ({level}, {len(levels[level])}); run gsomia log verify"
            )
        levels[level].append(digest)
    return MerkleTree.from_levels(levels, check=False)


class LoggedStore:
    """A :class:`~gsomia.services.ports.Store` whose write units keep the log's tree and heads current."""

    def __init__(self, inner: Store, keys: KeyRing) -> None:
        self._inner = inner
        self._keys = keys

    @contextmanager
    def begin(self) -> Iterator[UnitOfWork]:
        with self._inner.begin() as uow:
            before = uow.leaf_count()
            yield uow
            if uow.leaf_count() > before:
                self._seal(uow, before)

    def _seal(self, uow: UnitOfWork, before: int) -> None:
        """Extend the stored tree by this unit's leaves, from its frontier alone, and sign the new head."""
        wanted = frontier.runs(0, before)
        edge = uow.tree_nodes_at(wanted)
        if len(edge) != len(wanted):
            raise ValueError(f"the stored tree lacks its right edge at size {before}; run gsomia log verify")
        hashes = (leaf_hash(row.data) for row in uow.leaves(before))
        size, created, root = frontier.extend(before, edge, hashes)
        uow.add_tree_nodes(created)
        uow.add_head(sign_head(size, root, self._keys, self._keys.key_id).to_dict())

    def read(self) -> AbstractContextManager[UnitOfWork]:
        return self._inner.read()

    def close(self) -> None:
        self._inner.close()
