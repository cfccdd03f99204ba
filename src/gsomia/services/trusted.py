"""A unit of work that hands use cases only rows the signed log proves (see :mod:`gsomia.services.trust`).

World records come from the list the trust check verified; items, bodies, releases and outbox rows are
checked as they are read, each against its leaf with an inclusion proof (:mod:`gsomia.services.proofs`);
whole-node reads (every record) go through the whole-log check. The unit's own writes are trusted as
written, and :meth:`TrustedUnit.check_own` makes sure, before they are sealed, that each has its leaf.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Any

from gsomia.ledger import canonical

from . import journal, proofs
from .errors import TamperError
from .fullcheck import INVESTIGATE
from .ports import (
    WORLD_KINDS,
    LeafRow,
    OutboxDigest,
    OutboxRow,
    Record,
    ReleaseRow,
    SealedBody,
    SealedStream,
    StoredBody,
    UnitOfWork,
)
from .trust import LogTrust, Verified

BODY_MEMO = 1_000_000  # proven body digests kept per process (64 bytes and an id each)


class TrustedUnit:
    """A unit of work over ``raw`` that returns only verified rows; everything else passes through."""

    def __init__(self, raw: UnitOfWork, trust: LogTrust, verified: Verified) -> None:
        self._raw = raw
        self._trust = trust
        self._verified = verified
        self._records: list[Record] = []  # written by this unit
        # kept as rows are written, not worked out again on every read: a unit adding 10,000 items reads
        # after each one, and going over everything written so far each time made it quadratic
        self._world: list[Record] = []  # those of them of WORLD_KINDS
        self._own: set[int] = set()  # their numbers
        self._releases: dict[int, ReleaseRow] = {}
        self._payloads: dict[int, SealedBody] = {}
        self._bodies: dict[str, str] = {}
        self._expected: set[str] = set()  # items whose bodies are proven with their records (expect_bodies)
        self._proven_bodies: dict[str, str | None] = {}  # body digests so proven (None: no body leaf)
        self._leaves: list[LeafRow] = []  # appended by this unit, in order
        # releases proven by this unit, by range: releases() and outbox() of one range prove it once
        self._proven: dict[tuple[int, int | None], tuple[Sequence[ReleaseRow], Sequence[OutboxRow]]] = {}

    # -- what this unit wrote --------------------------------------------------------------------------
    def new_world(self) -> list[Record]:
        return list(self._world)

    @property
    def start(self) -> int:
        """The first leaf this unit appends (the size of the log it was checked against)."""
        return self._verified.size

    def written(self) -> tuple[list[int], list[int]]:
        """The record and release numbers this unit wrote."""
        return [r.seq for r in self._records], sorted(self._releases)

    def last_record(self) -> int:
        return self._records[-1].seq if self._records else 0

    def last_release(self) -> int:
        return max(self._releases, default=0)

    def check_own(self, leaves: Sequence[LeafRow]) -> None:
        """Every row this unit wrote has a leaf among ``leaves`` (the unit's new leaves). The bytes are
        :mod:`gsomia.services.journal`'s, the one writer of rows and leaves, and every later reader checks
        them; this guards against a use case that writes a row some other way."""
        held = {(leaf.ref, leaf.kind) for leaf in leaves}
        wanted = [(journal.record_ref(r.seq), journal.LEAF_KINDS.get(r.kind, "?")) for r in self._records]
        wanted += [(journal.release_ref(seq), "release") for seq in self._releases]
        wanted += [(journal.body_ref(item), "body") for item in self._bodies]
        missing = next((ref for ref, kind in wanted if (ref, kind) not in held), None)
        if missing is not None:
            raise TamperError(f"{missing} was written without its leaf; nothing was committed")

    # -- world records ---------------------------------------------------------------------------------
    def add_record(self, kind: str, key: str, data: dict[str, Any]) -> Record:
        record = self._raw.add_record(kind, key, data)
        self._wrote([record])
        return record

    def add_records(
        self, entries: Sequence[tuple[str, str, dict[str, Any]]], texts: Sequence[str] | None = None
    ) -> Sequence[Record]:
        records = self._raw.add_records(entries, texts)
        self._wrote(records)
        return records

    def _wrote(self, records: Sequence[Record]) -> None:
        self._records.extend(records)
        self._world.extend(r for r in records if r.kind in WORLD_KINDS)
        self._own.update(r.seq for r in records)

    def records(self, after: int = 0) -> Sequence[Record]:
        everything = [*self._trust.full(self._raw, self._verified), *self._records]
        return tuple(r for r in everything if r.seq > after)

    def record_texts(self) -> Sequence[tuple[object, object, object, object]]:
        return self._raw.record_texts()  # unproven, as stored: only the whole-log check reads them

    def outbox_digests(self) -> Iterator[OutboxDigest]:
        return self._raw.outbox_digests()  # unproven, as stored: only the whole-log check reads them

    def world_records(self, after: int = 0) -> Sequence[Record]:
        world = [*self._trust.world(self._verified), *self.new_world()]
        return tuple(r for r in world if r.seq > after)

    def world_key(self) -> Hashable:
        """The verified world mark and this unit's own new world records: equal keys, equal records."""
        return self._verified.world, tuple(self._world)

    def item_records(self, keys: Iterable[str], kind: str = "item") -> Sequence[Record]:
        return self._proven_records(self._raw.item_records(keys, kind))

    def item_records_page(self, after: int, limit: int, kind: str = "item") -> Sequence[Record]:
        return self._proven_records(self._raw.item_records_page(after, limit, kind))

    def expect_bodies(self, items: Iterable[str]) -> None:
        self._expected.update(items)

    def _proven_records(self, rows: Sequence[Record]) -> Sequence[Record]:
        own = self._own
        for row in rows:
            if row.seq > self._verified.records and row.seq not in own:
                raise TamperError(
                    f"{journal.record_ref(row.seq)} is in the store but in no leaf a signed head covers: "
                    f"it was never logged; {INVESTIGATE}"
                )
        checked = [_record_leaf(r) for r in rows if r.seq not in own]
        bodies = [r.key for r in rows if r.kind == "item" and r.key in self._expected]
        bodies = [item for item in bodies if self._known_digest(item) is None]
        found = proofs.prove_with_bodies(self._raw, self._verified, checked, bodies)
        self._proven_bodies |= found
        self._expected.difference_update(bodies)
        for item, digest in found.items():
            if digest is not None and len(self._trust.bodies) < BODY_MEMO:
                self._trust.bodies[item] = digest
        return rows

    # -- bodies ----------------------------------------------------------------------------------------
    def put_body(self, item: str, body: SealedBody) -> None:
        self._raw.put_body(item, body)
        self._bodies[item] = journal.sealed_digest(body)

    def bodies(self) -> Iterable[tuple[str, SealedBody]]:
        for item, _unchecked in self._raw.bodies():
            sealed = self.get_body(item)
            if sealed is not None:
                yield item, sealed

    def body_items(self, items: Iterable[str]) -> set[str]:
        return self._raw.body_items(items)

    def put_body_stream(self, item: str, body: SealedStream) -> str:
        digest = self._bodies[item] = self._raw.put_body_stream(item, body)
        return digest

    def get_body(self, item: str) -> SealedBody | None:
        return self.get_bodies([item]).get(item)

    def get_bodies(self, items: Iterable[str]) -> dict[str, SealedBody]:
        wanted = list(dict.fromkeys(items))
        stored = self._raw.get_bodies(wanted)
        proven = self._proven_digests(wanted)
        for item in wanted:
            sealed = stored.get(item)
            _check_body(item, None if sealed is None else journal.sealed_digest(sealed), proven.get(item))
        return {item: stored[item] for item in wanted if item in stored}

    def stored_body(self, item: str) -> StoredBody | None:
        """The stored body, its digest checked (one pass over its pieces) against the proven leaf before
        it is handed over: nothing of it is opened unless it is the body the log holds."""
        stored = self._raw.stored_body(item)
        expected = self._proven_digests([item]).get(item)
        _check_body(item, None if stored is None else stored.digest(), expected)
        return stored

    def stray_segments(self) -> Sequence[str]:
        return self._raw.stray_segments()

    def _proven_digests(self, items: Sequence[str]) -> dict[str, str]:
        """The digest each of ``items`` must have, by this unit's own writes or a proven leaf."""
        proven: dict[str, str] = {}
        unknown: list[str] = []
        for item in items:
            known = self._known_digest(item)
            if known is None and item not in self._proven_bodies:
                unknown.append(item)
            elif known is not None:
                proven[item] = known
        if unknown:
            found = proofs.body_digests(self._raw, self._verified, unknown)
            proven |= found
            for item, digest in found.items():
                if len(self._trust.bodies) < BODY_MEMO:
                    self._trust.bodies[item] = digest  # a body is never replaced: its proven digest stands
        return proven

    def _known_digest(self, item: str) -> str | None:
        """The digest ``item``'s body must have, if this unit wrote it or it was proven already."""
        return self._bodies.get(item) or self._trust.bodies.get(item) or self._proven_bodies.get(item)

    # -- releases and the outbox -----------------------------------------------------------------------
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
        row = self._raw.add_release(item, recipient, holder, at, allowed, decision, recorded)
        self._releases[row.seq] = row
        return row

    def releases(self, after: int = 0, until: int | None = None) -> Sequence[ReleaseRow]:
        return self._proven_releases(after, until)[0]

    def add_outbox(self, release_seq: int, recipient: str, payload: SealedBody) -> OutboxRow:
        row = self._raw.add_outbox(release_seq, recipient, payload)
        self._payloads[release_seq] = payload
        return row

    def outbox(self, after: int = 0, until: int | None = None) -> Sequence[OutboxRow]:
        return self._proven_releases(after, until)[1]

    def _proven_releases(
        self, after: int, until: int | None = None
    ) -> tuple[Sequence[ReleaseRow], Sequence[OutboxRow]]:
        """The releases after ``after`` (up to ``until``) and their outbox rows, each release proven by
        its leaf (which carries its payload's digest), none missing up to the last one the head covers."""
        found = self._proven.get((after, until))
        if found is not None and not self._releases:  # a unit that released since reads again
            return found
        rows, outbox = self._raw.releases(after, until), self._raw.outbox(after, until)
        last = self._verified.releases
        wanted = last if until is None else min(last, until)
        signed = [r.seq for r in rows if r.seq <= last]
        if signed != list(range(after + 1, wanted + 1)):
            raise TamperError(f"releases {after + 1} to {wanted} are not all in the store; {INVESTIGATE}")
        payloads: dict[int, OutboxRow] = {}
        for box in outbox:
            if box.release_seq in payloads:
                raise TamperError(f"release {box.release_seq} has two outbox rows; {INVESTIGATE}")
            payloads[box.release_seq] = box
        checked = []
        for row in rows:
            paid = payloads.get(row.seq)
            if paid is not None and (not row.allowed or paid.recipient != row.recipient):
                raise TamperError(f"the outbox row of release {row.seq} is not that release's; {INVESTIGATE}")
            if row.seq in self._releases:
                continue
            if row.seq > last:
                raise TamperError(f"release {row.seq} is in the store but in no signed head; {INVESTIGATE}")
            leaf = journal.release_leaf_json(row, None if paid is None else paid.payload)
            checked.append((journal.release_ref(row.seq), "release", canonical(leaf)))
        if set(payloads) - {r.seq for r in rows}:
            raise TamperError(f"an outbox row names a release that is not in the store; {INVESTIGATE}")
        proofs.prove(self._raw, self._verified, checked)
        self._proven[after, until] = (rows, outbox)
        return rows, outbox

    # -- the log itself: the tree and heads it keeps, read and written as they are ---------------------
    def append_leaf(self, kind: str, ref: str, data: bytes) -> LeafRow:
        leaf = self._raw.append_leaf(kind, ref, data)
        self._leaves.append(leaf)
        return leaf

    def append_leaves(self, entries: Sequence[tuple[str, str, bytes]]) -> Sequence[LeafRow]:
        leaves = self._raw.append_leaves(entries)
        self._leaves.extend(leaves)
        return leaves

    def new_leaves(self) -> Sequence[LeafRow]:
        """The leaves this unit appended (the store holds exactly these past the verified size: it is the
        one writer while the unit is open); read back from the store if anything else appended some."""
        start = self._verified.size
        if len(self._leaves) == self._raw.leaf_count() - start and all(
            leaf.index == start + n for n, leaf in enumerate(self._leaves)
        ):
            return self._leaves
        return self._raw.leaves(start)

    def leaves(self, start: int = 0, stop: int | None = None) -> Sequence[LeafRow]:
        return self._raw.leaves(start, stop)

    def leaves_by_ref(self, refs: Iterable[str]) -> Sequence[LeafRow]:
        return self._raw.leaves_by_ref(refs)

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


def _record_leaf(record: Record) -> tuple[str, str, bytes]:
    """(ref, leaf kind, leaf bytes) of the leaf that proves ``record``."""
    kind = journal.LEAF_KINDS.get(record.kind, "?")
    return journal.record_ref(record.seq), kind, canonical(journal.record_json(record))


def _check_body(item: str, digest: str | None, expected: str | None) -> None:
    """A stored body (``digest``, None: none stored) is the one its leaf proves (``expected``)."""
    if digest is None:
        if expected is not None:
            raise TamperError(f"the body of item {item!r} is gone from the store; {INVESTIGATE}")
        return
    if expected is None:
        raise TamperError(f"item {item!r} has a stored body that no leaf proves; {INVESTIGATE}")
    if digest != expected:
        raise TamperError(
            f"the stored body of item {item!r} is not the one its leaf proves (swapped or edited); "
            f"{INVESTIGATE}"
        )
