"""The node's world: built by replaying its records, changed only by records that keep it valid.

Every change is checked the way the world loader checks a file: the records on hand plus the new ones are
replayed into a world file's data, read with :func:`gsomia.scenario.spec_from_data` and compiled into a
:class:`~gsomia.domain.world.World`, all inside the unit of work that would write them. Any error is
raised before anything is written, and it names the record at fault. What is stored is the normalized
form of what was validated (:mod:`gsomia.services.worlddata`), with a ledger leaf for each record.
"""

from __future__ import annotations

import itertools
import json.encoder
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from gsomia.domain.decision import Decision
from gsomia.domain.errors import LifecycleError, WorldError, format_path
from gsomia.domain.model import Item, WorldSpec
from gsomia.domain.validate import validate
from gsomia.domain.world import World
from gsomia.ledger.canonical import canonical
from gsomia.scenario import Lines, gc_paused, locate, read_items, spec_from_data

from . import journal, worlddata
from .ports import Record, Store, UnitOfWork
from .replay import SECTIONS, Data, Replay, replay
from .worlddata import from_record

NODE_FILE = "<node>"
NOUNS = {"parties": "party", "agreements": "agreement", "events": "event", "items": "item"}
_string = json.encoder.encode_basestring  # a string as canonical() writes it (gsomia.ledger.canonical)
_NORMALIZE: dict[str, Callable[[Any], Data]] = {
    "parties": worlddata.party_data,
    "agreements": worlddata.agreement_data,
    "events": worlddata.event_data,
    "items": worlddata.item_data,
    "consents": worlddata.consent_data,
}


@dataclass(frozen=True, slots=True)
class Pending:
    """A record not yet written: what the world would gain."""

    kind: str
    key: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Checked:
    """The world as it would be with the pending records; ``first_new`` is the seq the first would get."""

    world: World
    replay: Replay
    first_new: int

    def normalized(self, section: str, seq: int) -> Data:
        """The validated, normalized form of the entry record ``seq`` adds to ``section``."""
        index = self.replay.index_of(section, seq)
        entries: Sequence[Any] = getattr(self.world.spec, section)
        return _NORMALIZE[section](entries[index])


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import added, by section."""

    file: str
    counts: dict[str, int]


class Worldbook:
    """Reads and changes the node's world through its records.

    The node's world (:meth:`world_in`) holds its parties, agreements, events and consents, compiled once
    and kept while its world records stay the same (the trust check hands every unit the verified list, so
    a write by another process is seen), and the items consents name. Any other item is read from the
    store by id when a decision needs it, checked against its leaf, and kept. A write therefore costs the
    same on a node of a thousand items as on one of a million. What reads every item (an export, the item
    list, a what-if) uses :meth:`full_world`.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: tuple[Hashable, World] | None = None

    # -- reading -----------------------------------------------------------------------------------
    def world(self) -> World:
        """The node's world now, with the items it has read so far (:meth:`decide` reads any other)."""
        with self._store.read() as uow:
            return self.world_in(uow)

    def full_world(self) -> World:
        """The node's world with every item (reads the whole node)."""
        with self._store.read() as uow:
            return World(spec_from_data(replay(uow.records()).data, file=NODE_FILE))

    def world_as_of(self, seq: int) -> World:
        """The world as it stood once record ``seq`` was written (history is never rewritten)."""
        with self._store.read() as uow:
            records = [r for r in uow.records() if r.seq <= seq]
        return World(spec_from_data(replay(records).data, file=NODE_FILE))

    def records(self) -> Sequence[Record]:
        with self._store.read() as uow:
            return uow.records()

    def export_world(self) -> Data:
        """The node's world as a world file's data: load it again and get the same world."""
        with self._store.read() as uow:
            data = replay(uow.records()).data
        return worlddata.world_file({k: v for k, v in data.items() if v or k == "parties"})

    def spec(self) -> WorldSpec:
        return self.world().spec

    def world_in(self, uow: UnitOfWork) -> World:
        """The world of the world records ``uow`` sees, compiled only when they differ from last time.

        The unit's ``world_key`` says whether they are the records of last time: a count is not enough, as
        a unit that added records and then rolled back may leave the next one as many but other ones.
        """
        key = uow.world_key()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        folded = replay(uow.world_records())
        # every consent was checked against the node's items when it was written, and the log proves it
        world = World(spec_from_data(folded.data, file=NODE_FILE), known_items=lambda _item: True)
        self._cache = (key, world)
        return world

    def decide(
        self, uow: UnitOfWork, item: str, to: str, at: date | str, holder: str | None = None
    ) -> Decision:
        """The decision on ``item`` by the world ``uow`` sees, its item read from the store if need be.

        Only committed items are taken into the kept world: no use case adds an item and decides on it in
        one unit of work, and an item read here is one the trust check proved."""
        return self.with_items(uow, [item]).decide(item, to, at, holder)

    def with_items(self, uow: UnitOfWork, items: Sequence[str]) -> World:
        """The world ``uow`` sees, holding ``items`` as far as the node has them (read if need be)."""
        world = self.world_in(uow)
        missing = [i for i in items if isinstance(i, str) and i not in world.items]
        if missing:
            world.admit(_items(uow.item_records(missing)))
        return world

    @staticmethod
    def _consent_items(uow: UnitOfWork, records: Sequence[Record], pending: Sequence[Record]) -> set[str]:
        """The items consents may name: those named by consents on record (checked when written) and
        those new consents name that the node holds (read, and proven, now)."""
        named = {str(r.data["item"]) for r in records if r.kind == "consent" and r.data.get("item")}
        new = {str(r.data["item"]) for r in pending if r.kind == "consent" and r.data.get("item")} - named
        return named | {r.key for r in uow.item_records(new)} if new else named

    @staticmethod
    def _originators(uow: UnitOfWork, pending: Sequence[Record]) -> dict[str, str]:
        """The originator of each item a new consent names together with an originator (read, and proven,
        now): the world refuses such a consent unless it names the item's own."""
        named = {
            str(r.data["item"])
            for r in pending
            if r.kind == "consent" and r.data.get("item") and r.data.get("originator")
        }
        return {r.key: str(r.data["originator"]) for r in uow.item_records(named)} if named else {}

    # -- checking ----------------------------------------------------------------------------------
    def check(
        self,
        uow: UnitOfWork,
        pending: Sequence[Pending],
        *,
        file: str | None = None,
        lines: Lines | None = None,
    ) -> Checked:
        """The world with ``pending`` (world records, not items) added; a WorldError naming the record at
        fault if it is not valid. ``file`` and ``lines`` locate errors in the file a single pending entry
        was read from."""
        records = list(uow.world_records())
        first = (records[-1].seq if records else 0) + 1  # after every world record: the replay's order
        hypothetical = [Record(first + i, p.kind, p.key, dict(p.data)) for i, p in enumerate(pending)]
        folded = replay([*records, *hypothetical])
        known = self._consent_items(uow, records, hypothetical)
        originators = self._originators(uow, hypothetical)
        try:
            spec = spec_from_data(folded.data, file=NODE_FILE)
            world = World(spec, known_items=known.__contains__, item_originator=originators.get)
        except WorldError as error:
            raise _explain(error, folded, first, file, lines) from None
        return Checked(world, folded, first)

    def add_in(
        self,
        uow: UnitOfWork,
        kind: str,
        entry: Mapping[str, Any],
        *,
        file: str | None = None,
        lines: Lines | None = None,
    ) -> Record:
        """Validate and append one party, agreement, event or item in ``uow``; returns its record."""
        if kind == "item":
            return self._add_item(uow, entry, file=file, lines=lines)
        id_key = "agreement" if kind == "event" else "id"
        pending = Pending(kind, str(entry.get(id_key, "")), entry)
        checked = self.check(uow, [pending], file=file, lines=lines)
        data = checked.normalized(SECTIONS[kind], checked.first_new)
        record, _leaf = journal.add_record(uow, kind, str(data[id_key]), worlddata.to_record(data))
        return record

    def _add_item(
        self, uow: UnitOfWork, entry: Mapping[str, Any], *, file: str | None, lines: Lines | None
    ) -> Record:
        """One item, checked against the node's world without reading its other items."""
        source = file if file is not None else NODE_FILE
        try:
            (item,) = spec_from_data({"gsomia": 1, "parties": [], "items": [dict(entry)]}, file=source).items
            self.world_in(uow).fits(item)
            if uow.item_records([item.id]):
                raise WorldError(f"item {item.id!r} is already on the node; " + NO_REUSE, ("items", 0, "id"))
        except WorldError as error:
            rest = error.path[2:]
            if file is not None and lines is not None:
                raise locate(WorldError(error.message, rest), file, lines) from None
            where = f", {format_path(rest)}" if rest else ""
            raise WorldError(f"item {shown(entry)}{where}: {error.message}") from None
        data = worlddata.item_data(item)
        record, _leaf = journal.add_record(uow, "item", item.id, worlddata.to_record(data))
        return record

    # -- writing -----------------------------------------------------------------------------------
    def add_party(self, entry: Mapping[str, Any]) -> Record:
        """Add a party (``{id, name?, levels: [{id, marking}, ...]}``), validated against the world."""
        with self._store.begin() as uow:
            return self.add_in(uow, "party", entry)

    def add_agreement(
        self, entry: Mapping[str, Any], *, file: str | None = None, lines: Lines | None = None
    ) -> Record:
        """Add one agreement, written as in a world file; errors name ``file`` and line when given."""
        with self._store.begin() as uow:
            return self.add_in(uow, "agreement", entry, file=file, lines=lines)

    def import_spec(
        self, spec: WorldSpec, file: str, lines: Lines | None = None, progress: Progress | None = None
    ) -> ImportReport:
        """Add everything a world file holds (already read into ``spec``; ``lines`` locates its errors) in
        one unit of work. The file must hold a valid world on its own, and fit the node's; items come in
        without a body, in batches, each with a new id."""
        with gc_paused():  # millions of objects, none of them garbage: the collector's passes would be
            return self._import(spec, file, lines, progress)

    def _import(
        self, spec: WorldSpec, file: str, lines: Lines | None, progress: Progress | None
    ) -> ImportReport:
        try:
            validate(spec)
        except WorldError as error:
            raise locate(error, file, lines) from None
        with self._store.begin() as uow:
            pending = _pending_of(replace(spec, items=()), _consent_ids(uow.world_records()))
            named = {c.item for c in spec.consents if c.item is not None}
            self.check(uow, [*pending, *_named_items(spec, named)], file=file)
            journal.add_records(uow, [(p.kind, p.key, worlddata.to_record(dict(p.data))) for p in pending])
            _import_items(uow, spec.items, file, lines, progress)
        counts = {section: len(getattr(spec, section)) for section in (*NOUNS, "consents")}
        return ImportReport(file, counts)


NO_REUSE = "item ids are never reused"
Progress = Callable[[int, int], None]  # (items done, items in all)
BATCH = 5_000


def _import_items(
    uow: UnitOfWork, items: Sequence[Item], file: str, lines: Lines | None, progress: Progress | None
) -> None:
    """Append ``items`` (checked with their world already) and their leaves in batches, each id new.

    Every id is looked up on the node before the first item is written (the same answer as batch by batch:
    the file's ids are unique, validation saw to it), so each look-up sees only the unit's few world
    records as its own. Each item's canonical text is built from its class's text, encoded once."""
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        taken = {r.key for r in uow.item_records([i.id for i in batch])}
        if taken:
            index = next(n for n, i in enumerate(batch) if i.id in taken)
            message = f"item {batch[index].id!r} is already on the node; {NO_REUSE}"
            raise locate(WorldError(message, ("items", start + index, "id")), file, lines)
    encode = _ItemText()
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        entries = [("item", i.id, worlddata.item_data(i)) for i in batch]
        journal.add_records(
            uow, entries, [encode(i, data) for i, (_, _, data) in zip(batch, entries, strict=True)]
        )
        if progress is not None:
            progress(start + len(batch), len(items))


class _ItemText:
    """``canonical(item_data(item))`` for many items, most of the text shared by items of one class.

    An item's canonical text is its class's (originator, level, topics, releasable_to, caveats) with the
    id's string written in: the class's text is made once by :func:`canonical` with a marker for the id and
    cut there, and the id is written as canonical writes a string. A class whose text holds the marker
    more than once, and an id that is not UTF-8 text, take :func:`canonical` whole."""

    _MARK = "\ue000gsomia-id\ue000"

    def __init__(self) -> None:
        self._parts: dict[tuple[object, ...], tuple[str, str] | None] = {}

    def __call__(self, item: Item, data: Data) -> bytes:
        key = (item.originator, item.level, item.topics, item.releasable_to, item.caveats)
        if key in self._parts:
            parts = self._parts[key]
        else:
            parts = self._parts[key] = self._split(data)
        if parts is not None:
            try:
                return (parts[0] + _string(item.id) + parts[1]).encode("utf-8")
            except UnicodeEncodeError:
                pass
        return canonical(data)

    def _split(self, data: Data) -> tuple[str, str] | None:
        text = canonical({**data, "id": self._MARK}).decode("utf-8")
        pieces = text.split(_string(self._MARK))
        return (pieces[0], pieces[1]) if len(pieces) == 2 else None


def _named_items(spec: WorldSpec, named: set[str]) -> list[Pending]:
    return [Pending("item", i.id, worlddata.item_data(i)) for i in spec.items if i.id in named]


def _items(records: Sequence[Record]) -> list[Item]:
    """The items these item records hold."""
    return list(read_items([from_record(r.data) for r in records], file=NODE_FILE))


def shown(entry: Mapping[str, Any]) -> str:
    return repr(entry.get("id")) if isinstance(entry.get("id"), str) else "(no id)"


def _pending_of(spec: WorldSpec, consent_ids: Callable[[], str]) -> list[Pending]:
    pending = [Pending("meta", "name", {"name": spec.name})] if spec.name else []
    pending += [Pending("party", p.id, worlddata.party_data(p)) for p in spec.parties]
    pending += [Pending("agreement", a.id, worlddata.agreement_data(a)) for a in spec.agreements]
    pending += [Pending("event", e.agreement, worlddata.event_data(e)) for e in spec.events]
    pending += [Pending("item", i.id, worlddata.item_data(i)) for i in spec.items]
    for consent in spec.consents:
        cid = consent_ids()
        data = {"id": cid, **worlddata.consent_data(consent), "status": "granted"}
        pending.append(Pending("consent", cid, data))
    return pending


def _consent_ids(records: Sequence[Record]) -> Callable[[], str]:
    """A source of consent ids (``C1``, ``C2``...) not yet used on the node."""
    taken = {r.key for r in records if r.kind == "consent"}
    fresh = (f"C{n}" for n in itertools.count(len(taken) + 1) if f"C{n}" not in taken)
    return lambda: next(fresh)


def new_consent_id(records: Sequence[Record]) -> str:
    return _consent_ids(records)()


def _explain(
    error: WorldError, folded: Replay, first_new: int, file: str | None, lines: Lines | None
) -> WorldError:
    """``error`` from the rebuilt world, said in terms of the record that caused it."""
    cls = LifecycleError if isinstance(error, LifecycleError) else WorldError
    path = error.path
    origin = folded.origin(str(path[0]), path[1]) if len(path) >= 2 and isinstance(path[1], int) else None
    if origin is None:
        return cls(f"the node's world would not be valid: {error.message}", path)
    seq, key = origin
    section, rest = str(path[0]), path[2:]
    what = _describe(section, key, folded.data[section][path[1]])
    if seq >= first_new and file is not None and lines is not None:
        return locate(WorldError(error.message, rest), file, lines)
    where = f", {format_path(rest)}" if rest else ""
    source = f"{file}: " if file is not None else ""
    if seq >= first_new:
        return cls(f"{source}{what}{where}: {error.message}")
    return cls(f"{source}this change would make {what} (record {seq}) invalid: {error.message}")


def _describe(section: str, key: str, entry: object) -> str:
    if section == "events" and isinstance(entry, Mapping):
        return f"the {entry.get('kind')} event of {key} on {entry.get('date')}"
    if section == "consents":
        return f"consent {key!r}"
    return f"{NOUNS.get(section, section)} {key!r}"
