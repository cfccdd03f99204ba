"""Releasing an item: decide with the node's world, and record the decision, its payload and its leaf.

One unit of work holds it all: the release row (the decision JSON whole, allowed or refused, with every
reason), for an allowed release the body re-sealed for transport in an outbox row, and the release's
transparency-log leaf. They commit together or not at all; a refusal is recorded too, with no outbox row.

The transport seal uses a fresh data key and associated data binding the release and its recipient
(:func:`transport_aad`), so a payload cannot be replayed as another release or sent to someone else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from gsomia.domain.decision import Decision
from gsomia.domain.errors import GsomiaError

from . import journal
from .errors import ServiceError
from .items import body_aad, stored_pieces
from .ports import KeyRing, LeafRow, OutboxRow, ReleaseRow, SealedBody, Store, UnitOfWork
from .worldbook import Worldbook

TRANSPORT_AAD = b"gsomia/outbox/v1|"
MAX_BATCH = 10_000  # releases in one unit of work (gsomia release-many)
BODIES_AT_ONCE = 200  # sealed bodies a batch holds in memory at once
Clock = Callable[[], datetime]
Wanted = tuple[str, str, date | str, str | None]
"""One release asked for: ``(item, to, at, holder)``."""


def next_hop(row: ReleaseRow, me: str) -> str | None:
    """Whom the node of party ``me`` hands a release to: the party after it on the release's route; None
    if ``me`` hands it to no one. A node may record a release decided for another holder (the record of a
    decision made for it); such a release is not this node's to send, and never leaves it."""
    route = [str(p) for p in row.decision.get("route", [])]
    return route[route.index(me) + 1] if me in route[:-1] else None


def transport_aad(release_seq: int, recipient: str) -> bytes:
    """The associated data of a release's payload: which release, for whom."""
    return TRANSPORT_AAD + f"{release_seq}|{recipient}".encode()


@dataclass(frozen=True, slots=True)
class ReleaseOutcome:
    """What one release wrote: the row, the decision, the outbox row (allowed only) and the leaf."""

    release: ReleaseRow
    decision: Decision
    outbox: OutboxRow | None
    leaf: LeafRow

    def to_dict(self) -> dict[str, Any]:
        """The decision JSON (docs/cli.md), with where it was recorded."""
        return {
            **self.decision.to_dict(),
            "release": self.release.seq,
            "recorded": self.release.recorded,
            "outbox": self.outbox is not None,
            "leaf": self.leaf.index,
        }


class Releases:
    def __init__(self, store: Store, keys: KeyRing, worldbook: Worldbook, clock: Clock) -> None:
        self._store = store
        self._keys = keys
        self._worldbook = worldbook
        self._clock = clock

    def release(self, item: str, to: str, at: date | str, holder: str | None = None) -> ReleaseOutcome:
        """Decide whether ``item`` may go to ``to`` on ``at`` and record it, allowed or refused.

        Bad input (unknown ids, a bad day, holder = recipient) raises and writes nothing; so does an
        allowed release of an item whose body this node does not hold.
        """
        with self._store.begin() as uow:
            return self._release_in(uow, item, to, at, holder)

    def release_many(self, wanted: Sequence[Wanted]) -> list[ReleaseOutcome]:
        """:meth:`release` for each ``(item, to, at, holder)`` of ``wanted``, in order, in one unit of work:
        every release (allowed or refused) recorded with its leaf, or, if any is bad input, none of them
        (the ServiceError names the entry, counted from 1). At most :data:`MAX_BATCH` at once."""
        if len(wanted) > MAX_BATCH:
            raise ServiceError(f"{len(wanted):,} releases at once; give at most {MAX_BATCH:,} per batch")
        out: list[ReleaseOutcome] = []
        with self._store.begin() as uow:
            # the items read (and proven against the log) together, not one by one; then every entry
            # decided (bad input stops the batch, naming the entry) before anything is written
            named = dict.fromkeys(w[0] for w in wanted if isinstance(w[0], str))
            uow.expect_bodies(named)  # their bodies' leaves proven with their records
            self._worldbook.with_items(uow, list(named))
            decided: list[Decision] = []
            for number, (item, to, at, holder) in enumerate(wanted, start=1):
                try:
                    decided.append(self._worldbook.decide(uow, item, to, at, holder))
                except GsomiaError as exc:
                    raise ServiceError(f"release {number} of {len(wanted)} ({item} to {to}): {exc}") from None
            # the allowed ones' bodies read and proven a few hundred at a time (bounded memory), then recorded
            for start in range(0, len(decided), BODIES_AT_ONCE):
                chunk = decided[start : start + BODIES_AT_ONCE]
                bodies = uow.get_bodies(d.item for d in chunk if d.allowed)
                for number, decision in enumerate(chunk, start=start + 1):
                    try:
                        out.append(self._record(uow, decision, bodies))
                    except GsomiaError as exc:
                        where = f"release {number} of {len(wanted)} ({decision.item} to {decision.recipient})"
                        raise ServiceError(f"{where}: {exc}") from None
        return out

    def _release_in(
        self, uow: UnitOfWork, item: str, to: str, at: date | str, holder: str | None
    ) -> ReleaseOutcome:
        uow.expect_bodies([item])  # its body's leaf proven with its record, if the world must read it
        return self._record(uow, self._worldbook.decide(uow, item, to, at, holder), None)

    def _record(
        self, uow: UnitOfWork, decision: Decision, bodies: Mapping[str, SealedBody] | None
    ) -> ReleaseOutcome:
        """Record ``decision`` (its body, if allowed, from ``bodies`` when there, else read on its own)."""
        item = decision.item
        body = None  # opened a segment at a time as the transport seal takes it: never whole as plaintext
        if decision.allowed:
            sealed = None if bodies is None else bodies.get(item)
            if sealed is not None:
                body = self._keys.open_chunks(sealed, body_aad(item))
            else:  # read on its own, proven, then a piece at a time (MissingBodyError if the node holds none)
                body = self._keys.open_stored(stored_pieces(uow, item), body_aad(item))
        row = uow.add_release(
            decision.item,
            decision.recipient,
            decision.holder,
            decision.at.isoformat(),
            decision.allowed,
            decision.to_dict(),
            self._clock().astimezone(UTC).isoformat(),
        )
        outbox = None
        if body is not None:
            payload = self._keys.seal_chunks(body, transport_aad(row.seq, row.recipient))
            outbox = uow.add_outbox(row.seq, row.recipient, payload)
        leaf = journal.add_release_leaf(uow, row, None if outbox is None else outbox.payload)
        return ReleaseOutcome(row, decision, outbox, leaf)

    def releases(self) -> list[ReleaseRow]:
        """Every release and refusal, oldest first."""
        with self._store.read() as uow:
            return list(uow.releases())

    def outbox(self) -> list[OutboxRow]:
        """Every payload waiting to be sent, oldest first."""
        with self._store.read() as uow:
            return list(uow.outbox())

    def open_payload(self, row: OutboxRow) -> bytes:
        """The body an outbox row carries (the node can open what it sealed)."""
        return self._keys.open(row.payload, transport_aad(row.release_seq, row.recipient))
