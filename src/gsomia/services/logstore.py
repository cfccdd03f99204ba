"""The node's transparency log: a store that keeps the Merkle tree and signs a head in every write.

:class:`LoggedStore` wraps the node's store. Every unit it opens is first checked against the newest
signed head (:mod:`gsomia.services.trust`): a use case sees only records the log proves. Each write
unit of work that appended leaves (every record, body and release goes in with its leaf, see
:mod:`gsomia.services.journal`) also, before it commits, appends those leaves to the RFC 9162 tree,
stores the interior nodes that the appends completed, and stores a head signed with the node's key and
chained to the head before it. So the record, its leaf, the tree that proves it and a signed head commit
together or not at all, and a proof never recomputes the tree (it reads the stored nodes).

Extending the tree starts from the verified right edge (one node per set bit of the size), so a write
costs O(log n) plus the rows written since the last check, whatever the log's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from gsomia.ledger import MerkleTree, frontier, leaf_hash, sign_head

from . import journal
from .errors import TamperError
from .ports import KeyRing, LeafRow, OutboxRow, Record, ReleaseRow, SealedBody, Store, UnitOfWork
from .trust import INVESTIGATE, LogTrust, Verified


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
        accepted: tuple[Verified, list[Record]] | None = None
        with self._inner.begin() as raw:
            verified = self._trust.check(raw)
            yield TrustedUnit(raw, verified, self._trust.records(verified))
            if raw.leaf_count() > verified.size:
                accepted = self._seal(raw, verified)
        if accepted is not None:  # committed: what this unit wrote is now part of the verified log
            self._trust.accept(*accepted)

    def _seal(self, uow: UnitOfWork, verified: Verified) -> tuple[Verified, list[Record]]:
        """Extend the verified tree by this unit's leaves, store the nodes, sign the new head (chained to
        the last), and check the unit's rows against their leaves as any later reader will."""
        hashes = (leaf_hash(row.data) for row in uow.leaves(verified.size))
        size, created, root = frontier.extend(verified.size, verified.frontier, hashes)
        uow.add_tree_nodes(created)
        head = sign_head(size, root, self._keys, self._keys.key_id, (verified.size, verified.root))
        uow.add_head(head.to_dict())
        return self._trust.advance(uow, verified, head)

    @contextmanager
    def read(self) -> Iterator[UnitOfWork]:
        with self._inner.read() as raw:
            verified = self._trust.check(raw)
            yield TrustedUnit(raw, verified, self._trust.records(verified))

    def close(self) -> None:
        self._inner.close()


class TrustedUnit:
    """A unit of work whose world records are the verified ones (plus its own writes) and whose bodies
    open only if they are the ones their leaves prove. Everything else passes through."""

    def __init__(self, raw: UnitOfWork, verified: Verified, records: list[Record]) -> None:
        self._raw = raw
        self._verified = verified
        self._records = records  # this unit's own list: its writes are appended here
        self._bodies: dict[str, str] = {}

    def add_record(self, kind: str, key: str, data: dict[str, Any]) -> Record:
        record = self._raw.add_record(kind, key, data)
        self._records.append(record)
        return record

    def records(self, after: int = 0) -> Sequence[Record]:
        if after <= 0:
            return tuple(self._records)
        return tuple(r for r in self._records if r.seq > after)

    def put_body(self, item: str, body: SealedBody) -> None:
        self._raw.put_body(item, body)
        self._bodies[item] = journal.sealed_digest(body)

    def bodies(self) -> Iterable[tuple[str, SealedBody]]:
        for item, _unchecked in self._raw.bodies():
            sealed = self.get_body(item)
            if sealed is not None:
                yield item, sealed

    def get_body(self, item: str) -> SealedBody | None:
        sealed = self._raw.get_body(item)
        proven = self._bodies.get(item) or self._verified.bodies.get(item)
        if sealed is None:
            if proven is not None:
                raise TamperError(f"the body of item {item!r} is gone from the store; {INVESTIGATE}")
            return None
        if proven is None:
            raise TamperError(f"item {item!r} has a stored body that no leaf proves; {INVESTIGATE}")
        if journal.sealed_digest(sealed) != proven:
            raise TamperError(
                f"the stored body of item {item!r} is not the one its leaf proves (swapped or edited); "
                f"{INVESTIGATE}"
            )
        return sealed

    def add_release(
        self,
        item: str,
        recipient: str,
        holder: str,
        at: str,
        allowed: bool,
        decision: dict[str, Any],
        recorded: str,
    ) -> ReleaseRow:
        return self._raw.add_release(item, recipient, holder, at, allowed, decision, recorded)

    def releases(self, after: int = 0) -> Sequence[ReleaseRow]:
        return self._raw.releases(after)

    def add_outbox(self, release_seq: int, recipient: str, payload: SealedBody) -> OutboxRow:
        return self._raw.add_outbox(release_seq, recipient, payload)

    def outbox(self, after: int = 0) -> Sequence[OutboxRow]:
        return self._raw.outbox(after)

    def append_leaf(self, kind: str, ref: str, data: bytes) -> LeafRow:
        return self._raw.append_leaf(kind, ref, data)

    def append_leaves(self, entries: Sequence[tuple[str, str, bytes]]) -> Sequence[LeafRow]:
        return self._raw.append_leaves(entries)

    def leaves(self, start: int = 0, stop: int | None = None) -> Sequence[LeafRow]:
        return self._raw.leaves(start, stop)

    def leaf_count(self) -> int:
        return self._raw.leaf_count()

    def add_tree_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        self._raw.add_tree_nodes(nodes)

    def tree_nodes(self) -> Sequence[tuple[int, int, bytes]]:
        return self._raw.tree_nodes()

    def tree_nodes_at(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        return self._raw.tree_nodes_at(keys)

    def add_head(self, head: dict[str, Any]) -> None:
        self._raw.add_head(head)

    def heads(self) -> Sequence[dict[str, Any]]:
        return self._raw.heads()

    def latest_head(self) -> tuple[int, dict[str, Any]] | None:
        return self._raw.latest_head()
