"""A node acts only on what its signed log proves, and checks only what it reads.

Before a unit of work reaches a use case, :class:`LogTrust` checks the store against the node's newest
signed head, at a cost that does not grow with the log:

- the head is well formed and signed by this node's key, and its size is the number of leaves stored (a
  leaf appended without a head, say a forged record with a well-formed leaf, is refused, never signed over);
- the stored tree's right edge hashes to the head's root, and the head extends (a consistency proof) the
  one this process verified before: O(log n) stored nodes;
- the head vouches (in its signed ``state``) for the world's small records (parties, agreements, events,
  consents: everything but items) by their count and a running digest, and for the last record and release
  numbers. The records read since the last check must extend the digest to the signed one, so an edited,
  inserted or deleted world record is caught before anything acts on it.

Everything else a unit reads (an item's record, a body, a release, an outbox row) is checked when it is
read, against its leaf, with an inclusion proof from the stored tree to the signed root
(:mod:`gsomia.services.proofs`). What reads the whole node uses the whole-log check of
:mod:`gsomia.services.fullcheck`, as do heads signed before the state existed. Anything amiss is a
:class:`~gsomia.services.errors.TamperError` naming it; ``gsomia log verify`` shows the whole picture.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gsomia.ledger import EMPTY_ROOT, LedgerError, TreeHead, canonical, frontier, verify_consistency

from . import journal
from .errors import NodeError, StoredRowError, TamperError
from .fullcheck import INVESTIGATE, FullTrust, refuse_unsigned
from .ports import WORLD_KINDS, KeyRing, Record, UnitOfWork

ZERO = "0" * 64
RECENT = 16  # earlier states kept for units whose snapshot began before the newest one's


class StaleSnapshotError(NodeError):
    """A unit's snapshot is older than the state this process holds, and that older state is no longer
    kept: the caller opens a new unit and checks it ``fresh`` (never shown to a user)."""

    def __init__(self, size: int, held: int) -> None:
        super().__init__(f"a snapshot of {size} leaves is older than the {held} this process verified")


@dataclass(frozen=True, slots=True)
class WorldMark:
    """The world records (all but items) up to record ``last``: how many, and their running digest."""

    count: int = 0
    digest: str = ZERO
    last: int = 0

    def extend(self, records: Sequence[Record]) -> WorldMark:
        """This mark after ``records`` (world records with higher seqs, in seq order)."""
        digest, last = self.digest, self.last
        for record in records:
            leaf = canonical(journal.record_json(record))
            digest = hashlib.sha256(bytes.fromhex(digest) + hashlib.sha256(leaf).digest()).hexdigest()
            last = record.seq
        return WorldMark(self.count + len(records), digest, last)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "digest": self.digest, "last": self.last}


@dataclass(frozen=True, slots=True)
class Verified:
    """What a check proved: the log up to ``size`` leaves, the world records and the row numbers it covers."""

    size: int = 0
    root: bytes = EMPTY_ROOT
    frontier: dict[tuple[int, int], bytes] = field(default_factory=dict)
    world: WorldMark = WorldMark()
    records: int = 0  # the last record seq the head covers
    releases: int = 0  # the last release seq the head covers

    def state_json(self) -> dict[str, Any]:
        """What a head signed over this state vouches for (a v3 head's ``state``)."""
        return {"records": self.records, "releases": self.releases, "world": self.world.to_json()}


def _state_of(head: TreeHead, row: int) -> tuple[WorldMark, int, int]:
    """(world mark, last record, last release) a v3 head vouches for; TamperError if malformed."""
    state: Mapping[str, Any] = head.state or {}
    try:
        world = state["world"]
        mark = WorldMark(int(world["count"]), str(world["digest"]), int(world["last"]))
        records, releases = int(state["records"]), int(state["releases"])
    except (KeyError, TypeError, ValueError):
        raise TamperError(f"signed head {row} has a malformed state; {INVESTIGATE}") from None
    return mark, records, releases


class LogTrust:
    """The verified state of one node's log, shared by every unit of work of this process."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys
        self._lock = threading.Lock()
        self._state = Verified()
        self._recent: tuple[Verified, ...] = ()  # the states held before this one, newest first
        self._world: list[Record] = []  # the verified world records, seq order, up to _state.world.last
        self._full = FullTrust()
        self._head: tuple[dict[str, Any], TreeHead] | None = None  # the last head known to be ours
        self.bodies: dict[str, str] = {}  # item -> its sealed body's digest, once its leaf was proven

    def world(self, state: Verified) -> list[Record]:
        """The verified world records ``state`` covers, in seq order."""
        with self._lock:
            return self._world[: state.world.count]

    def check(self, uow: UnitOfWork, *, fresh: bool = False) -> Verified:
        """The verified state of the log ``uow`` sees; TamperError if the store is not what it signed.

        The unit's newest head and leaf count are read without holding this process's lock, so readers
        on a database server do not queue behind each other's round trips. The state held before that
        first read is the floor: every leaf it covers was committed before the unit's snapshot began, so
        a unit that sees less (or another log of that size) sees a store rolled back or replaced. A unit
        that sees more than that floor but less than the state held now (a newer unit was checked
        meanwhile) gets the state of its own head if this process held it lately; otherwise
        StaleSnapshotError, and the caller opens a new unit and checks it ``fresh``: with the lock held
        while the unit first reads, so its snapshot is at least as new as the state."""
        if fresh:
            with self._lock:
                floor = self._state
                return self._settle(uow, *self._read_head(uow), floor, locked=True)
        floor = self._state  # read before the unit's first read: its snapshot holds all of it
        return self._settle(uow, *self._read_head(uow), floor, locked=False)

    def _read_head(self, uow: UnitOfWork) -> tuple[int, TreeHead | None]:
        """The unit's newest signed head (checked) and its row, after checking that no leaf lies beyond
        it; (0, None) for a log with no head (and no leaf)."""
        found = self._newest_head(uow)
        if found is None:
            refuse_unsigned(uow, 0)
            return 0, None
        row, head = found
        count = uow.leaf_count()
        if count > head.size:
            refuse_unsigned(uow, head.size)
        if count != head.size:
            raise TamperError(
                f"the newest signed head covers {head.size} leaves, but the store holds only {count}: "
                f"leaves were deleted; {INVESTIGATE}"
            )
        return row, head

    def _settle(
        self, uow: UnitOfWork, row: int, head: TreeHead | None, floor: Verified, *, locked: bool
    ) -> Verified:
        """The state ``head`` proves: the ``floor`` itself, one held lately, or one reached from the state
        held now (under the lock)."""
        size = 0 if head is None else head.size
        if size <= floor.size:
            root = EMPTY_ROOT if head is None else head.root_hash
            if size == floor.size and root == floor.root:
                return floor
            raise TamperError(
                f"the newest signed head (size {size}) does not extend the log this node verified "
                f"(size {floor.size}): the store was rolled back or replaced; {INVESTIGATE}"
            )
        assert head is not None  # size > floor.size >= 0
        held = self._held(head)
        if held is not None:
            return held
        if not locked:
            with self._lock:
                return self._settle(uow, row, head, floor, locked=True)
        if size <= self._state.size:  # newer than the floor, older than now, and no longer kept
            raise StaleSnapshotError(size, self._state.size)
        self._hold(self._legacy(uow, head) if head.state is None else self._advance(uow, row, head))
        return self._state

    def _held(self, head: TreeHead) -> Verified | None:
        """The state for ``head`` if this process holds it now or held it lately (no lock needed: each
        name is rebound whole, and a state once held stays true of the log)."""
        for state in (self._state, *self._recent):
            if state.size == head.size and state.root == head.root_hash:
                return state
        return None

    def _hold(self, state: Verified) -> None:
        """Make ``state`` current (under the lock), keeping the last few for units with older snapshots."""
        self._recent = (self._state, *self._recent[: RECENT - 1])
        self._state = state

    def full(self, uow: UnitOfWork, state: Verified) -> list[Record]:
        """Every record ``state`` covers, each checked against its leaf by rehashing the whole log (cached:
        later calls cost only what was added since). For what reads the whole node anyway."""
        if state.size == 0:
            return []
        found = self._newest_head(uow)
        if found is None or found[1].size != state.size or found[1].root_hash != state.root:
            raise TamperError(f"the store changed while it was read; {INVESTIGATE}")
        _, records = self._full.check(uow, found[1])
        return records

    def accept(self, state: Verified, world: Sequence[Record], head: TreeHead) -> None:
        """Make ``state`` current once the unit that wrote it committed; ``world``: its new world records,
        ``head``: the head it signed (no need to check its signature again)."""
        with self._lock:
            self._head = (head.to_dict(), head)
            if state.size > self._state.size and self._state.world.count + len(world) == state.world.count:
                del self._world[self._state.world.count :]
                self._world.extend(world)
                self._hold(state)

    # -- the checks ---------------------------------------------------------------------------------------

    def _newest_head(self, uow: UnitOfWork) -> tuple[int, TreeHead] | None:
        try:
            latest = uow.latest_head()
        except StoredRowError as exc:
            raise TamperError(f"{exc.table} row {exc.row} is malformed; {INVESTIGATE}") from None
        if latest is None:
            return None
        row, data = latest
        if self._head is not None and self._head[0] == data:
            return row, self._head[1]  # the very head checked (or signed) before: one check per head
        try:
            head = TreeHead.from_dict(data)
        except (LedgerError, ValueError, TypeError, KeyError) as exc:
            raise TamperError(f"signed head {row} is malformed ({exc}); {INVESTIGATE}") from None
        if head.key_id != self._keys.key_id or not self._keys.verify(
            head.key_id, head.signed_bytes(), head.signature
        ):
            raise TamperError(f"signed head {row} is not signed by this node's key; {INVESTIGATE}")
        self._head = (data, head)
        return row, head

    def _advance(self, uow: UnitOfWork, row: int, head: TreeHead) -> Verified:
        """The state ``head`` signs, checked in O(log n) nodes plus the world records added since."""
        state = self._state
        nodes = uow.tree_nodes_at(frontier.needed_for_consistency(state.size, head.size))
        try:
            root = frontier.root_from(nodes, head.size)
            proof = frontier.consistency_from(nodes, state.size, head.size)
        except KeyError:
            raise TamperError(
                f"the stored tree lacks nodes of the signed head's tree; {INVESTIGATE}"
            ) from None
        if root != head.root_hash:
            raise TamperError(
                f"the stored tree does not hash to the root the newest signed head signs: a leaf or the "
                f"tree was rewritten; {INVESTIGATE}"
            )
        if state.size and not verify_consistency(state.size, head.size, state.root, head.root_hash, proof):
            raise TamperError(
                f"the newest signed head (size {head.size}) does not extend the log this node verified "
                f"(size {state.size}): the store was rolled back or replaced; {INVESTIGATE}"
            )
        mark, records, releases = _state_of(head, row)
        try:
            added = list(uow.world_records(after=state.world.last))
        except StoredRowError as exc:
            raise TamperError(f"{exc.table} row {exc.row} is malformed; {INVESTIGATE}") from None
        if mark.count < state.world.count:
            raise TamperError(f"signed head {row} vouches for fewer world records than before; {INVESTIGATE}")
        reached = state.world.extend(added)
        if reached != mark or any(r.seq > records for r in added):
            raise TamperError(
                "the world records (parties, agreements, events, consents) are not the ones the newest "
                f"signed head vouches for: one was edited, inserted or deleted; {INVESTIGATE}"
            )
        self._world[state.world.count :] = added
        edge = {key: nodes[key] for key in frontier.runs(0, head.size)}
        return Verified(head.size, head.root_hash, edge, mark, records, releases)

    def _legacy(self, uow: UnitOfWork, head: TreeHead) -> Verified:
        """A head signed before heads carried a state: check the whole log once (then incrementally)."""
        full, records = self._full.check(uow, head)
        world = [r for r in records if r.kind in WORLD_KINDS]
        self._world[:] = world
        mark = WorldMark().extend(world)
        last = records[-1].seq if records else 0
        return Verified(full.size, full.root, full.frontier, mark, last, full.releases)


def sealed(state: Verified, created: Sequence[tuple[int, int, bytes]], head: TreeHead) -> Verified:
    """The state a unit of work reaches once it commits ``head``, having created the tree ``nodes``."""
    nodes = {**state.frontier, **{(level, index): digest for level, index, digest in created}}
    mark, records, releases = _state_of(head, 0)
    edge = {key: nodes[key] for key in frontier.runs(0, head.size)}
    return Verified(head.size, head.root_hash, edge, mark, records, releases)
