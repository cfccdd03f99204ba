"""The adapters of :class:`gsomia.services.ports.ShipmentStore`: the node's SQL database, or memory.

:func:`shipment_store_for` picks the one beside a node's store (:mod:`gsomia.store.beside`), as for users:
a SQLite or PostgreSQL node keeps its shipments in the same database (migration 0005), so every server
worker of one node serves the same bundles; a memory node keeps them in memory. Each method is one short
transaction of its own, outside the node's writer lock: shipments are derived from the releases, not part
of the log. Two workers building the same release race harmlessly: the first row stays, the other is
dropped, and both serve what the table holds.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..services.ports import ShipmentRow, ShipmentStore, Store
from . import schema as s
from .beside import Beside


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

    def add(self, rows: Sequence[ShipmentRow]) -> None:
        if not rows:
            return
        with self._connection() as conn:
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
                    for r in rows
                ],
            )

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


class MemoryShipmentStore:
    """Shipments of a memory node, per next hop in release order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, list[ShipmentRow]] = {}
        self._seqs: dict[str, list[int]] = {}
        self._taken: set[int] = set()

    def add(self, rows: Sequence[ShipmentRow]) -> None:
        with self._lock:
            for row in rows:
                if row.release_seq in self._taken:
                    continue
                self._taken.add(row.release_seq)
                seqs = self._seqs.setdefault(row.next_hop, [])
                at = bisect.bisect(seqs, row.release_seq)
                seqs.insert(at, row.release_seq)
                self._rows.setdefault(row.next_hop, []).insert(at, row)

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


_BESIDE: Beside[ShipmentStore] = Beside("shipment", SqlShipmentStore, MemoryShipmentStore)
