"""The adapters of :class:`gsomia.services.ports.ShipmentStore`: the node's SQL database, or memory.

:func:`shipment_store_for` picks the one beside a node's store (:mod:`gsomia.store.beside`), as for users:
a SQLite or PostgreSQL node keeps its shipments (migration 0005) and the places of the consent decisions
it served (migration 0009) in the same database, so every server worker of one node, and the node after a
restart, serves the same bundles in the same order; a memory node keeps them in memory. Each method is one
short transaction of its own, outside the node's writer lock: shipments are derived from the releases,
not part of the log. Two workers building the same release race harmlessly: the first row stays, the
other is dropped, and both serve what the table holds.

What keeps a partner's collection growing only at its end is one lock, taken by :meth:`add` and
:meth:`place` alike (SQLite's write lock, a transaction-level advisory lock on PostgreSQL): each reads the
partner's newest row and notes inside it, so a row is added after every note placed before it and a note
after every row added before it, whichever process does either.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from ..services.ports import NotePlaces, ShipmentRow, ShipmentStore, Store
from . import schema as s
from .beside import Beside, write_transaction
from .sqlite import BUSY_TIMEOUT_S

PLACE_WAIT_S = 0.25  # how long placing a note waits for SQLite's write lock before leaving it for later
# the advisory lock add and place take on PostgreSQL: "gsomia shipments", and the schema's hash (the
# node's writer lock is another class: serving partners never waits for a release being recorded)
_LOCK = text("SELECT pg_advisory_xact_lock(1734625360, hashtext(coalesce(current_schema(), '')))")


def shipment_store_for(store: Store) -> ShipmentStore:
    """The shipment store beside ``store`` (a node's store, or the store a LoggedStore wraps)."""
    return _BESIDE(store)


def _row(row: Row[Any]) -> ShipmentRow:
    return ShipmentRow(int(row.release_seq), row.next_hop, row.added, row.objects)


class SqlShipmentStore:
    """Shipments in the node's SQLite or PostgreSQL database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _locked(self) -> Iterator[Connection]:
        """A write transaction holding the shipments' lock, seeing every row committed before it."""
        if self._engine.dialect.name != "postgresql":
            with write_transaction(self._engine) as conn:  # SQLite: BEGIN IMMEDIATE, the write lock
                yield conn
            return
        with self._engine.connect() as raw:
            # READ COMMITTED whatever the server's default: each statement after the lock sees what the
            # last holder committed (at REPEATABLE READ the snapshot would predate the wait for the lock)
            conn = raw.execution_options(isolation_level="READ COMMITTED")
            with conn.begin():
                conn.execute(_LOCK)
                yield conn

    @contextmanager
    def _locked_briefly(self) -> Iterator[Connection | None]:
        """:meth:`_locked`, or None if on SQLite the database's write lock is not free within
        :data:`PLACE_WAIT_S` (another process is writing, say a long import)."""
        if self._engine.dialect.name != "sqlite":
            with self._locked() as conn:
                yield conn
            return
        with self._engine.connect() as raw:
            driver = raw.connection.dbapi_connection
            assert driver is not None
            driver.execute(f"PRAGMA busy_timeout = {int(PLACE_WAIT_S * 1000)}")
            try:
                try:
                    began = raw.execution_options(gsomia_sqlite_begin="BEGIN IMMEDIATE").begin()
                except OperationalError as exc:
                    if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                        raise
                    yield None
                    return
                with began:
                    yield raw
            finally:
                driver.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    def add(self, rows: Sequence[ShipmentRow]) -> None:
        if not rows:
            return
        with self._locked() as conn:
            t = s.shipments.c
            there = {
                int(seq)
                for seq in conn.execute(
                    select(t.release_seq).where(t.release_seq.in_([r.release_seq for r in rows]))
                ).scalars()
            }
            kept = _ordered([r for r in rows if r.release_seq not in there], lambda hop: _newest(conn, hop))
            if not kept:
                return
            maker = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            statement = maker(s.shipments).on_conflict_do_nothing(index_elements=["release_seq"])
            conn.execute(
                statement,
                [
                    {
                        "release_seq": r.release_seq,
                        "next_hop": r.next_hop,
                        "added": r.added,
                        "objects": r.objects,
                    }
                    for r in kept
                ],
            )

    def place(self, next_hop: str, notes: Sequence[tuple[str, str]]) -> NotePlaces:
        # a look in one snapshot, which no writer blocks; the lock only when a note must be placed (on
        # SQLite it is the node's write lock, which a long write such as an import holds for its length)
        with self._snapshot() as conn:
            shipped, placed = _look(conn, next_hop)
        if all(note in placed for note, _created in notes):
            return NotePlaces(shipped, placed)
        with self._locked_briefly() as conn:
            if conn is None:  # placed by a later call: this one's caller serves what is placed
                return NotePlaces(shipped, placed)
            shipped, placed = _look(conn, next_hop)
            t = s.shipments.c
            newest = conn.execute(
                select(t.added).where(t.next_hop == next_hop, t.release_seq == shipped)
            ).scalar()
            new = _placed(placed, notes, None if newest is None else str(newest))
            if new:
                conn.execute(
                    insert(s.note_places),
                    [{"next_hop": next_hop, "note": k, "added": a, "seq": q} for k, (a, q) in new.items()],
                )
            return NotePlaces(shipped, {**placed, **new})

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read-only transaction whose reads all see one snapshot (SQLite: a deferred transaction in WAL
        mode; PostgreSQL: REPEATABLE READ)."""
        with self._engine.connect() as raw:
            conn = (
                raw.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                if raw.dialect.name == "postgresql"
                else raw
            )
            with conn.begin():
                yield conn

    def last(self, next_hop: str) -> ShipmentRow | None:
        t = s.shipments.c
        with self._connection() as conn:
            found = conn.execute(
                select(s.shipments).where(t.next_hop == next_hop).order_by(t.release_seq.desc()).limit(1)
            ).first()
        return None if found is None else _row(found)

    def first_at(self, next_hop: str, added: str) -> int | None:
        t = s.shipments.c
        with self._connection() as conn:
            found = conn.execute(
                select(func.min(t.release_seq)).where(t.next_hop == next_hop, t.added >= added)
            ).scalar()
        return None if found is None else int(found)

    def page(self, next_hop: str, start: int, limit: int) -> Sequence[ShipmentRow]:
        t = s.shipments.c
        query = (
            select(s.shipments)
            .where(t.next_hop == next_hop, t.release_seq >= start)
            .order_by(t.release_seq)
            .limit(limit)
        )
        with self._connection() as conn:
            return [_row(r) for r in conn.execute(query)]

    def count(self, next_hop: str, start: int, most: int) -> int:
        t = s.shipments.c
        rows = select(t.release_seq).where(t.next_hop == next_hop, t.release_seq >= start).limit(most)
        with self._connection() as conn:
            return int(conn.execute(select(func.count()).select_from(rows.subquery())).scalar() or 0)


class MemoryShipmentStore:
    """Shipments of a memory node, per next hop in release order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, list[ShipmentRow]] = {}
        self._seqs: dict[str, list[int]] = {}
        self._taken: set[int] = set()
        self._notes: dict[str, dict[str, tuple[str, int]]] = {}  # next hop -> note id -> (added, number)

    def add(self, rows: Sequence[ShipmentRow]) -> None:
        with self._lock:
            fresh = [row for row in rows if row.release_seq not in self._taken]
            for row in _ordered(fresh, self._newest):
                self._taken.add(row.release_seq)
                seqs = self._seqs.setdefault(row.next_hop, [])
                at = bisect.bisect(seqs, row.release_seq)
                seqs.insert(at, row.release_seq)
                self._rows.setdefault(row.next_hop, []).insert(at, row)

    def _newest(self, next_hop: str) -> tuple[str | None, str | None]:
        rows = self._rows.get(next_hop)
        notes = self._notes.get(next_hop, {}).values()
        return (rows[-1].added if rows else None), max((a for a, _ in notes), default=None)

    def place(self, next_hop: str, notes: Sequence[tuple[str, str]]) -> NotePlaces:
        with self._lock:
            placed = self._notes.setdefault(next_hop, {})
            rows = self._rows.get(next_hop)
            placed.update(_placed(placed, notes, rows[-1].added if rows else None))
            return NotePlaces(rows[-1].release_seq if rows else 0, dict(placed))

    def last(self, next_hop: str) -> ShipmentRow | None:
        with self._lock:
            rows = self._rows.get(next_hop)
            return rows[-1] if rows else None

    def first_at(self, next_hop: str, added: str) -> int | None:
        with self._lock:
            later = [r.release_seq for r in self._rows.get(next_hop, []) if r.added >= added]
        return min(later) if later else None

    def page(self, next_hop: str, start: int, limit: int) -> Sequence[ShipmentRow]:
        with self._lock:
            at = bisect.bisect_left(self._seqs.get(next_hop, []), start)
            return list(self._rows.get(next_hop, [])[at : at + limit])

    def count(self, next_hop: str, start: int, most: int) -> int:
        with self._lock:
            seqs = self._seqs.get(next_hop, [])
            return min(most, len(seqs) - bisect.bisect_left(seqs, start))


def _look(conn: Connection, next_hop: str) -> tuple[int, dict[str, tuple[str, int]]]:
    """The newest release shipped to ``next_hop`` (0 if none) and every note placed for it."""
    t, n = s.shipments.c, s.note_places.c
    shipped = conn.execute(select(func.max(t.release_seq)).where(t.next_hop == next_hop)).scalar()
    placed = {
        str(r.note): (str(r.added), int(r.seq))
        for r in conn.execute(select(n.note, n.added, n.seq).where(n.next_hop == next_hop))
    }
    return (0 if shipped is None else int(shipped)), placed


def _newest(conn: Connection, next_hop: str) -> tuple[str | None, str | None]:
    """The ``added`` of ``next_hop``'s newest row and of its newest note (None for none)."""
    t, n = s.shipments.c, s.note_places.c
    row = conn.execute(
        select(t.added).where(t.next_hop == next_hop).order_by(t.release_seq.desc()).limit(1)
    ).scalar()
    note = conn.execute(select(func.max(n.added)).where(n.next_hop == next_hop)).scalar()
    return (None if row is None else str(row)), (None if note is None else str(note))


def _ordered(
    rows: Sequence[ShipmentRow], newest: Callable[[str], tuple[str | None, str | None]]
) -> list[ShipmentRow]:
    """``rows`` (in release order), each ``added`` no earlier than the row before it for its next hop and
    a millisecond after the newest note placed for that hop (``newest(hop)``: its newest row's and note's
    ``added``)."""
    floors: dict[str, str] = {}
    out = []
    for row in rows:
        floor = floors.get(row.next_hop)
        if floor is None:
            last, note = newest(row.next_hop)
            floor = max(last or "", _millisecond_after(note) if note is not None else "")
        added = max(row.added, floor)
        floors[row.next_hop] = added
        out.append(row if added == row.added else replace(row, added=added))
    return out


def _placed(
    placed: dict[str, tuple[str, int]], notes: Sequence[tuple[str, str]], newest_row: str | None
) -> dict[str, tuple[str, int]]:
    """Places for those of ``notes`` (id, created) not in ``placed``, in order: each no earlier than its
    creation, the newest row (``added``) and every note placed before it, numbered after them."""
    floor = max([newest_row or "", *(a for a, _ in placed.values())])
    number = max((q for _, q in placed.values()), default=0)
    new: dict[str, tuple[str, int]] = {}
    for note, created in notes:
        if note in placed or note in new:
            continue
        floor = max(floor, created)
        number += 1
        new[note] = (floor, number)
    return new


def _millisecond_after(stamp: str) -> str:
    """The STIX timestamp (UTC, to the millisecond) one millisecond after ``stamp``."""
    moment = datetime.fromisoformat(stamp) + timedelta(milliseconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_BESIDE: Beside[ShipmentStore] = Beside("shipment", SqlShipmentStore, MemoryShipmentStore)
