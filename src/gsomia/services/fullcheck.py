"""The whole-log check: every row the store holds is what a leaf under the newest signed head holds.

A write never needs this (see :mod:`gsomia.services.trust`, which checks only what a unit reads). It is
for what reads the whole node anyway (exporting the world, a what-if over every item, listing the items)
and for nodes whose heads predate the signed state (heads v1 and v2). :class:`FullTrust` checks that the
store is exactly what a signed head covers:

- the head is well formed, signed by this node's key, and its size is the number of leaves stored (a leaf
  appended without a head, say a forged record with a well-formed leaf, is refused, never signed over);
- the leaves added since the last check hash, from the frontier already verified, to the head's root;
- every record, release and outbox row added since is what its leaf holds, byte for byte, and no row lacks
  a leaf; body leaves give the digest each sealed body must have.

What it verified it remembers (size, root, frontier, records, body digests), so a check costs the rows
added since the last one, not the whole log. Anything else is a
:class:`~gsomia.services.errors.TamperError` naming the first bad row; ``gsomia log verify`` shows the
whole picture.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from gsomia.ledger import EMPTY_ROOT, TreeHead, canonical, frontier, leaf_hash

from . import journal
from .errors import StoredRowError, TamperError
from .ports import LeafRow, OutboxRow, Record, ReleaseRow, UnitOfWork

INVESTIGATE = "the node will not act on it; investigate with gsomia log verify"
RECORD_LEAF_KINDS = frozenset(journal.LEAF_KINDS.values())


@dataclass(frozen=True, slots=True)
class Verified:
    """What a check proved: the log up to ``size`` leaves, and the rows those leaves cover."""

    size: int = 0
    root: bytes = EMPTY_ROOT
    frontier: dict[tuple[int, int], bytes] = field(default_factory=dict)
    records: int = 0  # how many of LogTrust's verified records (seq 1..records) this state covers
    releases: int = 0  # the last release seq covered
    bodies: dict[str, str] = field(default_factory=dict)  # item -> SHA-256 of its sealed body


class FullTrust:
    """The whole verified log of one node, shared by every unit of work of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = Verified()
        self._records: list[Record] = []

    def check(self, uow: UnitOfWork, head: TreeHead) -> tuple[Verified, list[Record]]:
        """The whole log up to ``head`` (a head already checked as the node's newest, signed by its key)
        and every record it covers; TamperError if any row is not what its leaf holds."""
        with self._lock:
            state = self._state
            if head.size < state.size or (head.size == state.size and head.root_hash != state.root):
                raise TamperError(
                    f"the newest signed head (size {head.size}) does not extend the log this node verified "
                    f"(size {state.size}): the store was rolled back or replaced; {INVESTIGATE}"
                )
            if head.size > state.size:
                self._state, records = self._advance(uow, state, head)
                self._records[state.records :] = records
            return self._state, self._records[: self._state.records]

    def _advance(self, uow: UnitOfWork, state: Verified, head: TreeHead) -> tuple[Verified, list[Record]]:
        leaves = uow.leaves(state.size, head.size)
        size, created, root = frontier.extend(state.size, state.frontier, (leaf_hash(r.data) for r in leaves))
        if size != head.size or root != head.root_hash:
            raise TamperError(
                f"leaves {state.size} to {head.size - 1} do not hash to the root the newest signed head "
                f"signs: a leaf or the tree was rewritten; {INVESTIGATE}"
            )
        nodes = {**state.frontier, **{(level, index): digest for level, index, digest in created}}
        last = self._records[state.records - 1].seq if state.records else 0
        try:
            records = uow.records(after=last)
            releases = uow.releases(after=state.releases)
            outbox = uow.outbox(after=state.releases)
        except StoredRowError as exc:
            raise TamperError(f"{exc.table} row {exc.row} is malformed; {INVESTIGATE}") from None
        bodies = dict(state.bodies)
        _match(leaves, _expected(records, releases, outbox), bodies)
        verified = Verified(
            size,
            root,
            {key: nodes[key] for key in frontier.runs(0, size)},
            state.records + len(records),
            releases[-1].seq if releases else state.releases,
            bodies,
        )
        return verified, list(records)


def refuse_unsigned(uow: UnitOfWork, covered: int) -> None:
    """TamperError if the store holds leaves or rows past the ``covered`` leaves a head signs."""
    extra = uow.leaves(covered, covered + 1)
    if extra:
        raise TamperError(
            f"leaf {extra[0].index} ({extra[0].ref}) is not covered by a signed head of this node; "
            + INVESTIGATE
        )
    if covered == 0 and (uow.records() or uow.releases()):
        raise TamperError(f"the store holds records or releases but no signed head; {INVESTIGATE}")


def _expected(
    records: Sequence[Record], releases: Sequence[ReleaseRow], outbox: Sequence[OutboxRow]
) -> dict[str, tuple[str, bytes]]:
    """The (leaf kind, leaf bytes) each row's leaf must hold, by ref."""
    payloads: dict[int, OutboxRow] = {}
    by_seq = {r.seq: r for r in releases}
    for row in outbox:
        release = by_seq.get(row.release_seq)
        if release is None or not release.allowed or row.release_seq in payloads:
            raise TamperError(
                f"an outbox row for release {row.release_seq} is not that release's; {INVESTIGATE}"
            )
        if row.recipient != release.recipient:
            raise TamperError(f"the outbox row of release {row.release_seq} is misaddressed; {INVESTIGATE}")
        payloads[row.release_seq] = row
    expected = {
        journal.record_ref(r.seq): (journal.LEAF_KINDS.get(r.kind, "?"), canonical(journal.record_json(r)))
        for r in records
    }
    for r in releases:
        payload = payloads.get(r.seq)
        if r.allowed and payload is None:
            raise TamperError(
                f"allowed release {r.seq} has no outbox row: its payload was removed; {INVESTIGATE}"
            )
        leaf = journal.release_leaf_json(r, None if payload is None else payload.payload)
        expected[journal.release_ref(r.seq)] = ("release", canonical(leaf))
    return expected


def _match(leaves: Sequence[LeafRow], expected: dict[str, tuple[str, bytes]], bodies: dict[str, str]) -> None:
    """Each leaf is its row (``expected`` is emptied as rows are found); body leaves fill ``bodies``."""
    for leaf in leaves:
        if leaf.kind == "body":
            item, digest = _body_leaf(leaf)
            bodies[item] = digest
            continue
        want = expected.pop(leaf.ref, None)
        if want is None:
            raise TamperError(
                f"leaf {leaf.index} proves {leaf.ref}, which the store does not hold as a new row; "
                + INVESTIGATE
            )
        if want != (leaf.kind, leaf.data):
            raise TamperError(
                f"{leaf.ref} as stored is not what leaf {leaf.index} holds: it was edited; {INVESTIGATE}"
            )
    if expected:
        ref = next(iter(expected))
        raise TamperError(f"{ref} is in the store but in no leaf: it was never logged; {INVESTIGATE}")


def _body_leaf(leaf: LeafRow) -> tuple[str, str]:
    try:
        data = json.loads(leaf.data)
        item, digest = data["item"], data["sha256"]
    except (ValueError, TypeError, KeyError):
        raise TamperError(f"body leaf {leaf.index} is malformed; {INVESTIGATE}") from None
    if not isinstance(item, str) or not isinstance(digest, str) or leaf.ref != journal.body_ref(item):
        raise TamperError(f"body leaf {leaf.index} does not name its item; {INVESTIGATE}")
    return item, digest
