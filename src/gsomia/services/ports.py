"""The ports the services depend on: a store with atomic units of work, and a node key ring.

Adapters live in :mod:`gsomia.store` (memory, SQLite, PostgreSQL) and :mod:`gsomia.crypto`. Everything a
node holds is append-only: world records, item bodies, releases, outbox rows, ledger leaves. Nothing is
updated in place or deleted; a revoked consent is a new record, not an edit.

One :class:`UnitOfWork` is one database transaction: everything written inside ``with store.begin() as uow``
commits together when the block ends normally, and none of it does if the block raises (or the process
dies). SQLite adapters take the write lock up front (``BEGIN IMMEDIATE``) so two writers never deadlock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from .errors import StoredRowError

# World records, replayed in ``seq`` order into a world file's structure (see services.worldbook):
RECORD_KINDS = (
    "meta",
    "party",
    "agreement",
    "event",
    "item",
    "consent",
    "consent-status",
    "partner",
    "received",  # a bundle a partner sent: accepted (its item then recorded too) or quarantined, and why
    "receipt",  # a partner's signed receipt for a bundle this node sent it
    "peer-head",  # a partner's signed log head, as this node last checked it
    "incident",  # a loss or compromise of an item, reported by this node or to it by a holder
    "attribution",  # who (which user) made the writes of one transaction
    "consent-note",  # an originator's signed consent decision, kept to pass on with an onward release
    "withheld",  # a recorded release the node no longer serves: its agreements no longer allow it
    "pull-cursor",  # how far this node has taken a partner's collection (its date_added, for added_after)
)
# records read by key (and page by page), never all at once: they grow with the node's use
KEYED_KINDS = (
    "item",
    "received",
    "receipt",
    "peer-head",
    "incident",
    "attribution",
    "consent-note",
    "withheld",
    "pull-cursor",
)
# the world's small part, read whole by every unit of work and vouched for by every signed head
WORLD_KINDS = tuple(kind for kind in RECORD_KINDS if kind not in KEYED_KINDS)


@dataclass(frozen=True, slots=True)
class Record:
    """One append-only fact about the world: ``kind`` is one of RECORD_KINDS, ``data`` its JSON object."""

    seq: int
    kind: str
    key: str  # the id the record is about (party id, agreement id, item id, consent id...)
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SealedBody:
    """An item body encrypted at rest: AES-256-GCM under a per-item key wrapped by the node key."""

    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def digest(self) -> str:
        """The SHA-256 (hex) of its stored bytes, as :func:`parts_digest` defines it: what a body's or a
        payload's leaf names."""
        return parts_digest(self.wrapped_key, self.nonce, len(self.ciphertext), (self.ciphertext,))


@dataclass(frozen=True, slots=True)
class SealedStream:
    """A long body being sealed a segment at a time (the STREAM layout of :mod:`gsomia.crypto.seal`): its
    wrapped data key and nonce prefix, and its ciphertext segments in order, each made as it is taken
    (they can be taken once). A store keeps each segment as a row of its own, so neither the plaintext nor
    the ciphertext is ever whole in memory."""

    wrapped_key: bytes
    nonce: bytes
    segments: Iterator[bytes]


@dataclass(frozen=True, slots=True)
class StoredBody:
    """A stored body read a piece at a time: its wrapped key, nonce and ciphertext length, and ``pieces``,
    which reads the ciphertext from the store again on each call, in order, a bounded piece at a time.
    Valid only inside the unit of work that gave it."""

    item: str
    wrapped_key: bytes
    nonce: bytes
    size: int  # bytes of ciphertext, all pieces together
    pieces: Callable[[], Iterator[bytes]]

    def digest(self) -> str:
        """The SHA-256 (hex) of the stored bytes, as :func:`parts_digest` defines it (one pass);
        StoredRowError if the pieces are not ``size`` bytes."""
        counted = [0]

        def counting() -> Iterator[bytes]:
            for piece in self.pieces():
                counted[0] += len(piece)
                yield piece

        digest = parts_digest(self.wrapped_key, self.nonce, self.size, counting())
        self._check_size(counted[0])
        return digest

    def whole(self) -> bytes:
        """The ciphertext in one value (for a caller that needs it whole); StoredRowError as digest."""
        data = b"".join(self.pieces())
        self._check_size(len(data))
        return data

    def _check_size(self, read: int) -> None:
        if read != self.size:
            raise StoredRowError("body_segments", self.item, f"{read} bytes read, {self.size} stored")


def parts_digest(wrapped_key: bytes, nonce: bytes, size: int, ciphertext: Iterable[bytes]) -> str:
    """The SHA-256 (hex) of a sealed body's stored bytes, each part length-prefixed (8 bytes, big-endian):
    what a body's leaf names. The ciphertext (``size`` bytes) may come in pieces of any sizes."""
    digest = hashlib.sha256()
    for part in (wrapped_key, nonce):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update(size.to_bytes(8, "big"))
    for piece in ciphertext:
        digest.update(piece)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    """A recorded release or refusal: the decision JSON is stored whole, with its reasons."""

    seq: int
    item: str
    recipient: str
    holder: str
    at: str  # the day decided on, YYYY-MM-DD
    allowed: bool
    decision: dict[str, Any]
    recorded: str  # when it was recorded (ISO 8601 UTC timestamp, from the shell's clock)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """What waits to be sent for an allowed release: the body sealed for transport."""

    release_seq: int
    recipient: str
    payload: SealedBody


class OutboxDigest(NamedTuple):
    """An outbox row as the whole-log check needs it: its release, recipient and payload's digest."""

    release_seq: int
    recipient: str
    sha256: str  # parts_digest of its sealed payload


class LeafRow(NamedTuple):
    """A transparency-log leaf: the RFC 8785 canonical bytes of the record it proves.

    A named tuple, not a frozen dataclass: a whole-log verification builds millions of them, and a
    frozen dataclass costs several times as much to construct."""

    index: int  # type: ignore[assignment]  # shadows tuple.index(), which nothing here calls
    kind: str  # decision | release | consent | event | receipt | ...
    ref: str  # which record: "release:12", "record:40"
    data: bytes


class UnitOfWork(Protocol):
    """Reads and appends inside one transaction.

    A stored row that cannot be read back (malformed JSON, a wrong type) raises
    :class:`~gsomia.services.errors.StoredRowError` naming its table and row, never a decoding error.
    """

    def add_record(self, kind: str, key: str, data: dict[str, Any]) -> Record: ...
    # ``texts``: each data's canonical JSON text, when the caller has it already (a big import does)
    def add_records(
        self, entries: Sequence[tuple[str, str, dict[str, Any]]], texts: Sequence[str] | None = None
    ) -> Sequence[Record]: ...
    def records(self, after: int = 0) -> Sequence[Record]: ...  # those with seq > after, in seq order
    # every record as stored, in seq order: (seq, kind, key, data), the data its stored JSON text unparsed
    # (as text or as its UTF-8 bytes); for the whole-log check, which holds each against its leaf byte for
    # byte before parsing any
    def record_texts(self) -> Sequence[tuple[object, object, object, object]]: ...
    # the small part of the world, the records of WORLD_KINDS (seq > after), and the others by key: what
    # a write reads, so that its cost does not grow with the number of items
    def world_records(self, after: int = 0) -> Sequence[Record]: ...
    # equal for two units exactly when their world_records() are equal (so a compiled world can be kept)
    def world_key(self) -> Hashable: ...
    # records of one of KEYED_KINDS (items by default) by key, or page by page (seq > after)
    def item_records(self, keys: Iterable[str], kind: str = "item") -> Sequence[Record]: ...
    def item_records_page(self, after: int, limit: int, kind: str = "item") -> Sequence[Record]: ...
    # a hint: the unit will read these items' bodies after their records (a release), so a logged store
    # proves their body leaves in the same pass as the records; a store that proves nothing ignores it
    def expect_bodies(self, items: Iterable[str]) -> None: ...

    def put_body(self, item: str, body: SealedBody) -> None: ...
    def get_body(self, item: str) -> SealedBody | None: ...
    # those of ``items`` the node holds a body for, read (and, in a logged store, proven) together
    def get_bodies(self, items: Iterable[str]) -> dict[str, SealedBody]: ...
    def bodies(self) -> Iterable[tuple[str, SealedBody]]: ...  # every stored body, streamed
    # a long body stored a segment per row as its segments are made (never whole in memory); then the
    # stored body of one item read a piece at a time (a logged unit proves it before handing it over)
    def put_body_stream(self, item: str, body: SealedStream) -> str: ...  # its digest, read back as stored
    def stored_body(self, item: str) -> StoredBody | None: ...
    def stray_segments(self) -> Sequence[str]: ...  # items with segment rows no segmented body holds
    def body_items(self, items: Iterable[str]) -> set[str]: ...  # which of ``items`` have a body (not read)

    def add_release(
        self,
        item: str,
        recipient: str,
        holder: str,
        at: str,
        allowed: bool,
        decision: dict[str, Any],
        recorded: str,
    ) -> ReleaseRow: ...
    # those with seq > after (and <= until, when given)
    def releases(self, after: int = 0, until: int | None = None) -> Sequence[ReleaseRow]: ...

    def add_outbox(self, release_seq: int, recipient: str, payload: SealedBody) -> OutboxRow: ...
    # those for releases after ``after`` (and up to ``until``, when given)
    def outbox(self, after: int = 0, until: int | None = None) -> Sequence[OutboxRow]: ...
    # every outbox row with its payload's digest, each payload read and dropped in turn (a whole-log
    # check, which must not hold every payload at once); unproven, as stored
    def outbox_digests(self) -> Iterator[OutboxDigest]: ...

    def append_leaf(self, kind: str, ref: str, data: bytes) -> LeafRow: ...
    def append_leaves(self, entries: Sequence[tuple[str, str, bytes]]) -> Sequence[LeafRow]: ...
    def leaves(self, start: int = 0, stop: int | None = None) -> Sequence[LeafRow]: ...
    def leaf_count(self) -> int: ...
    def leaves_by_ref(self, refs: Iterable[str]) -> Sequence[LeafRow]: ...  # every leaf naming one of refs

    # the Merkle tree's interior: (level, index, hash) of every complete subtree, so proofs need no recompute
    def add_tree_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None: ...
    def tree_nodes(self) -> Sequence[tuple[int, int, bytes]]: ...
    def tree_nodes_at(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...
    # signed tree heads the node issued (TreeHead.to_dict() JSON), oldest first
    def add_head(self, head: dict[str, Any]) -> None: ...
    def heads(self) -> Sequence[dict[str, Any]]: ...
    def latest_head(self) -> tuple[int, dict[str, Any]] | None: ...  # (row number, head), the newest


@runtime_checkable
class LogScan(Protocol):
    """Whole-log questions a unit of work may answer inside the database (the SQL stores do), so that a
    whole-log check need not read every row into Python. A "no" only sends the caller to its exact check.
    """

    def schema_as_made(self) -> bool: ...  # the tables have the migrations' columns, types, no collations
    # every record has one leaf holding its record JSON (built from ``pieces`` around the data, key, kind
    # and seq) under the label ``leaf_kinds`` gives its kind; no ref or seq repeats; no record leaf dangles
    def records_match_leaves(self, pieces: Sequence[str], leaf_kinds: Mapping[str, str]) -> bool: ...
    def tree_levels(self) -> list[bytes] | None: ...  # each level's stored hashes joined, if all whole
    # every leaf's data in order, a chunk at a time, if the indices run 0, 1, ... (None if not; a chunk
    # that is not as it should be raises StoredRowError when it is reached)
    def leaf_data(self) -> Iterable[Sequence[bytes]] | None: ...
    def other_leaves(self) -> Sequence[LeafRow]: ...  # the leaves whose ref names no record, in order
    # ``count`` read-only units on connections of their own, all on one snapshot (the newest commit), so
    # that questions can be asked side by side about one state; none when that cannot be had right now
    def shared_snapshot(self, count: int) -> AbstractContextManager[Sequence[UnitOfWork]]: ...


class Store(Protocol):
    """A node's database. ``begin()`` opens a write transaction, ``read()`` a read-only snapshot."""

    def begin(self) -> AbstractContextManager[UnitOfWork]: ...
    def read(self) -> AbstractContextManager[UnitOfWork]: ...
    def close(self) -> None: ...


class KeyRing(Protocol):
    """The node's secrets: a key-wrapping key for bodies at rest, and an Ed25519 signing key."""

    @property
    def key_id(self) -> str: ...
    def seal(self, plaintext: bytes, associated: bytes) -> SealedBody: ...
    def open(self, sealed: SealedBody, associated: bytes) -> bytes: ...
    # the same, a piece at a time: a long body is sealed and opened in segments (gsomia.crypto.seal)
    def seal_chunks(self, chunks: Iterable[bytes], associated: bytes) -> SealedBody: ...
    def open_chunks(self, sealed: SealedBody, associated: bytes) -> Iterator[bytes]: ...
    # a body sealed as its chunks come: short, one message; long, segments made as they are taken
    def seal_stream(self, chunks: Iterable[bytes], associated: bytes) -> SealedBody | SealedStream: ...
    def open_stored(self, body: StoredBody, associated: bytes) -> Iterator[bytes]: ...
    def sign(self, data: bytes) -> bytes: ...
    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool: ...
    @property
    def signing_public(self) -> bytes: ...  # raw Ed25519 public key
    @property
    def hpke_public(self) -> bytes: ...  # raw X25519 public key partners seal bodies to
    def hpke_private(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ShipmentRow:
    """An allowed release as the node serves it to the party it goes to next: its bundle's own objects
    (JSON text of a list), added to that party's collection at ``added`` (a STIX timestamp, UTC)."""

    release_seq: int
    next_hop: str
    added: str
    objects: str


@dataclass(frozen=True, slots=True)
class NotePlaces:
    """A partner's collection as one moment saw it: the newest release shipped to the partner (0 if none)
    and where each note (a signed consent decision) sits in it, ``note id -> (added, number)``: ``added``
    a STIX timestamp, ``number`` counting the partner's notes from 1 in the order they were placed."""

    shipped: int
    places: Mapping[str, tuple[str, int]]


class ShipmentStore(Protocol):
    """Where a node keeps what it serves each partner (derived from its releases, outside the log).

    A partner's collection only grows at its end, whichever process of the node adds to it: each row
    :meth:`add` keeps is added no earlier than the partner's previous row and strictly after (by a
    millisecond) every note :meth:`place` has placed for it, and :meth:`place` puts a new note no earlier
    than the partner's newest row or note. Both run under one lock per node database."""

    # rows already there (same release) are kept; each new row's ``added`` is raised as above if need be
    def add(self, rows: Sequence[ShipmentRow]) -> None: ...
    # ``notes`` as (note id, created: a STIX timestamp), in order: those not yet placed are placed now,
    # after everything in the collection; the answer holds every note placed for ``next_hop`` so far and
    # the newest release shipped to it, as one moment saw them. A store whose lock is held by a long
    # write of another process (SQLite's) may leave new notes for a later call rather than wait for it.
    def place(self, next_hop: str, notes: Sequence[tuple[str, str]]) -> NotePlaces: ...
    def last(self, next_hop: str) -> ShipmentRow | None: ...  # the newest row for ``next_hop``
    def first_at(self, next_hop: str, added: str) -> int | None: ...  # lowest release_seq added at or after
    # rows for ``next_hop`` with release_seq >= ``start`` in release order, at most ``limit``
    def page(self, next_hop: str, start: int, limit: int) -> Sequence[ShipmentRow]: ...
    # how many rows for ``next_hop`` have release_seq >= ``start``, counted up to ``most``
    def count(self, next_hop: str, start: int, most: int) -> int: ...
