"""The node's world: built by replaying its records, changed only by records that keep it valid.

Every change is checked the way the world loader checks a file: the records on hand plus the new ones are
replayed into a world file's data, read with :func:`gsomia.scenario.spec_from_data` and compiled into a
:class:`~gsomia.domain.world.World`, all inside the unit of work that would write them. Any error is
raised before anything is written, and it names the record at fault. What is stored is the normalized
form of what was validated (:mod:`gsomia.services.worlddata`), with a ledger leaf for each record.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gsomia.domain.errors import LifecycleError, WorldError, format_path
from gsomia.domain.model import WorldSpec
from gsomia.domain.world import World
from gsomia.scenario import Lines, load_world, locate, spec_from_data

from . import journal, worlddata
from .ports import Record, Store, UnitOfWork
from .replay import SECTIONS, Data, Replay, replay

NODE_FILE = "<node>"
NOUNS = {"parties": "party", "agreements": "agreement", "events": "event", "items": "item"}
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
    """Reads and changes the node's world through its records."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: tuple[tuple[Record, ...], World] | None = None

    # -- reading -----------------------------------------------------------------------------------
    def world(self) -> World:
        """The node's world now."""
        with self._store.read() as uow:
            return self.world_in(uow)

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
        """The world of the records ``uow`` sees, rebuilt only when they differ from last time.

        The whole record list is compared, not just its length: a unit of work that added records and
        then rolled back may leave the next one with the same count and seqs but other records.
        """
        records = tuple(uow.records())
        if self._cache is not None and self._cache[0] == records:
            return self._cache[1]
        world = World(spec_from_data(replay(records).data, file=NODE_FILE))
        self._cache = (records, world)
        return world

    # -- checking ----------------------------------------------------------------------------------
    def check(
        self,
        uow: UnitOfWork,
        pending: Sequence[Pending],
        *,
        file: str | None = None,
        lines: Lines | None = None,
    ) -> Checked:
        """The world with ``pending`` added; a WorldError naming the record at fault if it is not valid.

        ``file`` and ``lines`` locate errors in the file a single pending entry was read from.
        """
        records = list(uow.records())
        first = (records[-1].seq if records else 0) + 1
        hypothetical = [Record(first + i, p.kind, p.key, dict(p.data)) for i, p in enumerate(pending)]
        folded = replay([*records, *hypothetical])
        try:
            world = World(spec_from_data(folded.data, file=NODE_FILE))
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
        id_key = "agreement" if kind == "event" else "id"
        pending = Pending(kind, str(entry.get(id_key, "")), entry)
        checked = self.check(uow, [pending], file=file, lines=lines)
        data = checked.normalized(SECTIONS[kind], checked.first_new)
        record, _leaf = journal.add_record(uow, kind, str(data[id_key]), worlddata.to_record(data))
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

    def import_world(self, path: str | os.PathLike[str]) -> ImportReport:
        """Add everything a world file holds, in one unit of work; items come in without a body."""
        spec = load_world(path).spec
        with self._store.begin() as uow:
            pending = _pending_of(spec, _consent_ids(uow.records()))
            self.check(uow, pending, file=os.fspath(path))
            for p in pending:
                journal.add_record(uow, p.kind, p.key, worlddata.to_record(dict(p.data)))
        counts = {section: len(getattr(spec, section)) for section in (*NOUNS, "consents")}
        return ImportReport(os.fspath(path), counts)


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
