"""Items: their metadata is a world record; their body is kept only sealed by the node's key ring.

A body is sealed with associated data that names the item (:func:`body_aad`), so a sealed body copied onto
another item's row does not open. A body, once stored, is never replaced.

Items come one at a time (:meth:`Items.add_item`) or up to :data:`MAX_BATCH` in one unit of work
(:meth:`Items.add_items`): one commit and one signed head for the batch instead of one per item, each item
checked as a single add checks it, and none written if any is bad.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gsomia.domain.errors import GsomiaError

from . import journal
from .errors import MissingBodyError, ServiceError
from .ports import KeyRing, Record, Store, StoredBody, UnitOfWork
from .worldbook import Worldbook
from .worlddata import from_record

BODY_AAD = b"gsomia/body/v1|"
PAGE = 5_000
Body = bytes | Iterable[bytes]  # a body whole, or its pieces in order (read as they are sealed)
MAX_BATCH = 10_000  # items in one unit of work (gsomia item add-many), as releases (release.MAX_BATCH)


def body_aad(item: str) -> bytes:
    """The associated data an item's body is sealed with at rest."""
    return BODY_AAD + item.encode("utf-8")


@dataclass(frozen=True, slots=True)
class ItemView:
    """An item's metadata and whether this node holds its body."""

    data: dict[str, Any]
    has_body: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.data, "has_body": self.has_body}


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item to add: its metadata as a world file's entry writes it, and its body if the node holds one."""

    id: str
    originator: str
    level: str
    topics: Sequence[str] = ()
    releasable_to: Sequence[str] | None = None
    caveats: Sequence[str] = ()
    body: Body | None = None

    def entry(self) -> dict[str, Any]:
        """The item as a world file's ``items`` entry (what the worldbook validates)."""
        entry: dict[str, Any] = {
            "id": self.id,
            "originator": self.originator,
            "level": self.level,
            "topics": list(self.topics),
        }
        if self.releasable_to is not None:
            entry["releasable_to"] = list(self.releasable_to)
        entry["caveats"] = list(self.caveats)
        return entry


class Items:
    def __init__(self, store: Store, keys: KeyRing, worldbook: Worldbook) -> None:
        self._store = store
        self._keys = keys
        self._worldbook = worldbook

    def add_item(
        self,
        id: str,
        originator: str,
        level: str,
        topics: Sequence[str] = (),
        releasable_to: Sequence[str] | None = None,
        caveats: Sequence[str] = (),
        body: Body | None = None,
    ) -> Record:
        """Add an item (validated as the world loader would) and, if given, its body sealed at rest (bytes,
        or pieces of it taken one at a time: a long body is sealed a segment at a time)."""
        new = NewItem(id, originator, level, topics, releasable_to, caveats, body)
        with self._store.begin() as uow:
            return self._add_in(uow, new)

    def add_items(self, items: Iterable[NewItem]) -> list[Record]:
        """:meth:`add_item` for each of ``items``, in order, in one unit of work: every item and body
        written, or, if any is bad (invalid in the node's world, an id already on the node or given twice),
        none of them (the ServiceError names the item, counted from 1). At most :data:`MAX_BATCH` at once.

        ``items`` is taken one at a time, so a caller may read each body as it is wanted (a generator):
        only the body being sealed need be in memory, and an error it raises writes nothing either."""
        out: list[Record] = []
        first: dict[str, int] = {}  # each id of the batch, and the number of the item that gave it
        with self._store.begin() as uow:
            for number, new in enumerate(items, start=1):
                if number > MAX_BATCH:
                    raise ServiceError(f"more than {MAX_BATCH:,} items at once; add them in several batches")
                if new.id in first:
                    raise ServiceError(
                        f"item {number} of the batch: id {new.id!r} is item {first[new.id]}'s too; each "
                        "item needs its own id; nothing was added"
                    )
                first[new.id] = number
                try:
                    out.append(self._add_in(uow, new))
                except GsomiaError as exc:
                    raise ServiceError(f"item {number} of the batch: {exc}; nothing was added") from None
        return out

    def _add_in(self, uow: UnitOfWork, new: NewItem) -> Record:
        record = self._worldbook.add_in(uow, "item", new.entry())
        if new.body is not None:
            journal.add_body(uow, record.key, self._keys.seal_stream(_pieces(new.body), body_aad(record.key)))
        return record

    def attach_body(self, item: str, body: Body) -> None:
        """Give a metadata-only item (one imported from a world file) its body; a body is never replaced."""
        with self._store.begin() as uow:
            if not uow.item_records([item]):
                raise ServiceError(f"unknown item {item!r}; add it first with its metadata")
            if uow.body_items([item]):  # not read: a long body need not be read to know it is there
                raise ServiceError(f"item {item!r} already has a body; bodies are never replaced")
            journal.add_body(uow, item, self._keys.seal_stream(_pieces(body), body_aad(item)))

    def item(self, item: str) -> ItemView:
        """One item's metadata (checked against its leaf) and whether the node holds its body."""
        with self._store.read() as uow:
            found = uow.item_records([item])
            if not found:
                raise ServiceError(f"unknown item {item!r}; see: gsomia item list")
            return ItemView(from_record(found[-1].data), bool(uow.body_items([item])))

    def body(self, item: str) -> bytes:
        """The plaintext body of ``item`` (opened in memory, never written anywhere)."""
        return b"".join(self.body_chunks(item))

    def body_chunks(self, item: str) -> BodyPieces:
        """The plaintext body of ``item`` a segment at a time, each checked as it is opened: neither the
        plaintext nor the ciphertext of a long body is ever whole in memory (a segment that fails stops
        it with a SealError). The stored body is read and proven against the log before this returns
        (errors are raised here), and opened from the same read, which stays open (a connection of the
        node's pool) until the last piece is taken or the pieces are closed: take them while the node is
        open, or close them (``with contextlib.closing(...)``)."""
        return BodyPieces(self._opened(item))

    def _opened(self, item: str) -> Generator[bytes, None, None]:
        with self._store.read() as uow:
            yield from self._keys.open_stored(stored_pieces(uow, item), body_aad(item))

    def items(self, after: int = 0, limit: int | None = None) -> list[ItemView]:
        """The items on the node in the order added (those added after record ``after``, at most
        ``limit``), each checked against its leaf; no body is read."""
        out: list[ItemView] = []
        with self._store.read() as uow:
            while limit is None or len(out) < limit:
                want = PAGE if limit is None else min(PAGE, limit - len(out))
                page = uow.item_records_page(after, want)
                if not page:
                    break
                held = uow.body_items(r.key for r in page)
                out += [ItemView(from_record(r.data), r.key in held) for r in page]
                after = page[-1].seq
        return out


class BodyPieces(Iterator[bytes]):
    """An opened body's pieces (see :meth:`Items.body_chunks`): its first is opened at once, so that a
    missing, unproven or unopenable body fails before any piece is taken; ``close`` ends the read."""

    def __init__(self, opened: Generator[bytes, None, None]) -> None:
        self._opened = opened
        self._first: bytes | None = next(opened, None)

    def __next__(self) -> bytes:
        first, self._first = self._first, None
        return first if first is not None else next(self._opened)

    def close(self) -> None:
        self._first = None
        self._opened.close()


def stored_pieces(uow: UnitOfWork, item: str) -> StoredBody:
    """The item's stored body, to be read a piece at a time (proven first by a logged unit);
    MissingBodyError if none."""
    found = uow.stored_body(item)
    if found is None:
        raise _missing(item)
    return found


def _missing(item: str) -> MissingBodyError:
    return MissingBodyError(
        f"this node holds no body for item {item!r} (imported as metadata only); "
        f"attach one with: gsomia item body {item} --body-file FILE"
    )


def _pieces(body: Body) -> Iterable[bytes]:
    return [body] if isinstance(body, bytes) else body
