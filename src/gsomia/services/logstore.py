"""The node's transparency log: a store that keeps the Merkle tree and signs a head in every write.

:class:`LoggedStore` wraps the node's store. Every unit it opens is first checked against the newest
signed head (:mod:`gsomia.services.trust`): a use case sees only records the log proves. Each write
unit of work that appended leaves (every record, body and release goes in with its leaf, see
:mod:`gsomia.services.journal`) also, before it commits, appends those leaves to the RFC 9162 tree,
stores the interior nodes that the appends completed, and stores a head signed with the node's key and
chained to the head before it. So the record, its leaf, the tree that proves it and a signed head commit
together or not at all, and a proof never recomputes the tree (it reads the stored nodes).

Extending the tree starts from the verified right edge (one node per set bit of the size), so a write
costs O(log n) plus the rows it writes and reads, whatever the log's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from gsomia.ledger import MerkleTree, TreeHead, frontier, leaf_hash, sign_head

from . import journal
from .actor import ACTOR
from .ports import KeyRing, Record, Store, UnitOfWork
from .trust import LogTrust, StaleSnapshotError, Verified, sealed
from .trusted import TrustedUnit


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
    """A :class:`~gsomia.services.ports.Store` whose units see only what the signed log proves, and whose
    write units keep the log's tree and heads current."""

    def __init__(self, inner: Store, keys: KeyRing) -> None:
        self._inner = inner
        self._keys = keys
        self._trust = LogTrust(keys)

    @property
    def inner(self) -> Store:
        """The store underneath, unchecked: for ``gsomia log verify``, which must read what is there."""
        return self._inner

    @contextmanager
    def begin(self) -> Iterator[UnitOfWork]:
        accepted: tuple[Verified, list[Record], TreeHead] | None = None
        with self._inner.begin() as raw:
            verified = self._trust.check(raw, fresh=True)  # a writer's snapshot is the newest
            unit = TrustedUnit(raw, self._trust, verified)
            yield unit
            if raw.leaf_count() > verified.size:
                _attribute(unit)
                accepted = self._seal(raw, unit, verified)
        if accepted is not None:  # committed: what this unit wrote is now part of the verified log
            self._trust.accept(*accepted)

    def _seal(
        self, uow: UnitOfWork, unit: TrustedUnit, verified: Verified
    ) -> tuple[Verified, list[Record], TreeHead]:
        """Extend the verified tree by this unit's leaves, store the nodes, sign the new head (chained to
        the last, vouching for the world records and row numbers), after checking that every row the unit
        wrote has its leaf."""
        leaves = unit.new_leaves()
        unit.check_own(leaves)
        size, created, root = frontier.extend(
            verified.size, verified.frontier, (leaf_hash(r.data) for r in leaves)
        )
        uow.add_tree_nodes(created)
        world = unit.new_world()
        reached = Verified(
            size,
            root,
            {},
            verified.world.extend(world),
            max(verified.records, unit.last_record()),
            max(verified.releases, unit.last_release()),
        )
        prev = (verified.size, verified.root)
        head = sign_head(size, root, self._keys, self._keys.key_id, prev, reached.state_json())
        uow.add_head(head.to_dict())
        return sealed(verified, created, head), world, head

    @contextmanager
    def read(self) -> Iterator[UnitOfWork]:
        with ExitStack() as stack:
            raw = stack.enter_context(self._inner.read())
            try:
                verified = self._trust.check(raw)
            except StaleSnapshotError:  # began before a newer unit was checked: a new one, checked fresh
                stack.close()
                raw = stack.enter_context(self._inner.read())
                verified = self._trust.check(raw, fresh=True)
            yield TrustedUnit(raw, self._trust, verified)

    def close(self) -> None:
        self._inner.close()


def _attribute(unit: TrustedUnit) -> None:
    """An ``attribution`` record for the unit's writes, if they were made for a user (see ACTOR)."""
    actor = ACTOR.get()
    if actor is None:
        return
    records, releases = unit.written()
    data = {"actor": actor, "records": records, "releases": releases}
    # named after the first row it covers (a body alone: after the leaf it starts at)
    key = (
        f"record:{records[0]}" if records else f"release:{releases[0]}" if releases else f"leaf:{unit.start}"
    )
    journal.add_record(unit, "attribution", key, data)
