"""The node's transparency log: a store that keeps the Merkle tree and signs a head in every write.

:class:`LoggedStore` wraps the node's store. Each write unit of work that appended leaves (every record and
every release goes in with its leaf, see :mod:`gsomia.services.journal`) also, before it commits, appends
those leaves to the RFC 9162 tree, stores the interior nodes that the appends completed, and stores a tree
head signed with the node's key. So the record, its leaf, the tree that proves it and a signed head commit
together or not at all, and a proof never recomputes the tree (it reads the stored nodes).

The tree of the last commit is kept in memory; when another process wrote since, it is rebuilt from the
stored nodes before extending it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from gsomia.ledger import MerkleTree, TreeHead, leaf_hash, sign_head

from .ports import KeyRing, Store, UnitOfWork


def tree_of(uow: UnitOfWork) -> MerkleTree:
    """The tree as stored, extended by any leaf not yet in it (none, once the writer committed)."""
    tree = stored_tree(uow)
    tree.extend(leaf_hash(row.data) for row in uow.leaves(tree.size))
    return tree


def stored_tree(uow: UnitOfWork) -> MerkleTree:
    """The tree from its stored interior nodes, not recomputed."""
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
        self._tree: MerkleTree | None = None  # the tree as of the last commit through this object

    @contextmanager
    def begin(self) -> Iterator[UnitOfWork]:
        try:
            with self._inner.begin() as uow:
                before = uow.leaf_count()
                yield uow
                if uow.leaf_count() > before:
                    self._seal(uow, before)
        except BaseException:
            self._tree = None  # whatever it held may not have committed
            raise

    def _seal(self, uow: UnitOfWork, before: int) -> None:
        tree = self._tree if self._tree is not None and self._tree.size == before else stored_tree(uow)
        if tree.size != before:
            raise ValueError(
                f"the stored tree covers {tree.size} leaves, the log {before}; run gsomia log verify"
            )
        self._tree = None
        tree.extend(leaf_hash(row.data) for row in uow.leaves(before))
        uow.add_tree_nodes(tree.nodes_since(before))
        uow.add_head(sign_head(tree.size, tree.root(), self._keys, self._keys.key_id).to_dict())
        self._tree = tree

    def read(self) -> AbstractContextManager[UnitOfWork]:
        return self._inner.read()

    def close(self) -> None:
        self._inner.close()


def heads_of(uow: UnitOfWork) -> Sequence[TreeHead]:
    return [TreeHead.from_dict(h) for h in uow.heads()]
