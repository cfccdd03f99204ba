"""Where a node keeps what became of each envelope a partner pushed: its database, or memory.

A partner that pushes receipts, consent requests or incident reports gets a TAXII status resource back,
and may ask for it again later by its id, from whichever server worker answers. So the statuses of a
SQLite or PostgreSQL node live in its database (migration 0006), every worker reading what any worker
wrote; a memory node keeps them in memory, shared by every source over the same store.
:func:`status_store_for` picks the one beside a node's store, as ``gsomia.store.shipments`` does.

Each method is one short transaction of its own, outside the node's writer lock: a status is the answer
to a push, not part of the log (what the push brought is recorded there). The store keeps the newest
:data:`STATUSES_KEPT` statuses of the node: a SQL store drops the older rows when the number it gives a
new row is a multiple of ``prune_every``, so the table holds at most about ``keep + prune_every`` rows and
pays for a delete once every ``prune_every`` pushes. A status is read only by the party that pushed it;
another party gets None, as if there were no such status.

The rows are plain data (the status as a JSON object): the store knows nothing of TAXII, the web layer
turns them into its status resources (see ``gsomia.web.node_source``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, delete, insert, select

from ..services.ports import Store
from . import schema as s
from .beside import Beside, write_transaction

STATUSES_KEPT = 10_000  # a push's status can be read back until this many newer pushes were taken
PRUNE_EVERY = 100  # a SQL store drops the statuses past the newest kept once per this many pushes


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One push's status: its id, the party that pushed (the only one that may read it), and the status
    resource as a JSON object."""

    id: str
    party: str
    status: Mapping[str, Any]


class StatusStore(Protocol):
    """Where a node keeps its push statuses, for any of its server workers to read back."""

    def add(self, row: StatusRow) -> None:
        """Keep ``row`` (dropping statuses older than the newest kept); a second row with the same id is
        refused by the database (status ids are fresh UUIDs)."""
        ...

    def get(self, status_id: str, party: str) -> StatusRow | None:
        """The status ``party`` pushed under ``status_id``; None if unknown, dropped, or another party's."""
        ...


def status_store_for(store: Store) -> StatusStore:
    """The status store beside ``store`` (a node's store, or the store a LoggedStore wraps)."""
    return _BESIDE(store)


class SqlStatusStore:
    """Push statuses in the node's SQLite or PostgreSQL database."""

    def __init__(self, engine: Engine, *, keep: int = STATUSES_KEPT, prune_every: int = PRUNE_EVERY) -> None:
        if keep < 1 or prune_every < 1:
            raise ValueError(f"keep ({keep}) and prune_every ({prune_every}) must be at least 1")
        self._engine = engine
        self._keep = keep
        self._prune_every = prune_every

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    def add(self, row: StatusRow) -> None:
        t = s.push_statuses.c
        values = {"id": row.id, "party": row.party, "status": s.dump_json(dict(row.status))}
        with self._write() as conn:
            seq = int(conn.execute(insert(s.push_statuses).returning(t.seq), values).scalar_one())
            if seq % self._prune_every == 0:
                conn.execute(delete(s.push_statuses).where(t.seq <= seq - self._keep))

    def get(self, status_id: str, party: str) -> StatusRow | None:
        t = s.push_statuses.c
        query = select(t.status).where(t.id == status_id, t.party == party)
        with self._engine.connect() as conn, conn.begin():
            found = conn.execute(query).scalar()
        if found is None:
            return None
        try:
            return StatusRow(status_id, party, s.load_json(found))
        except (ValueError, TypeError, RecursionError):  # edited behind the node's back: as good as gone
            return None


class MemoryStatusStore:
    """Push statuses of a memory node: the newest ``keep``, in the order they were added."""

    def __init__(self, *, keep: int = STATUSES_KEPT) -> None:
        if keep < 1:
            raise ValueError(f"keep ({keep}) must be at least 1")
        self._keep = keep
        self._lock = threading.Lock()
        self._rows: OrderedDict[str, tuple[str, str]] = OrderedDict()  # id -> (party, JSON text)

    def add(self, row: StatusRow) -> None:
        text = s.dump_json(dict(row.status))  # kept as text: what is read back is a copy, as from SQL
        with self._lock:
            if row.id in self._rows:
                raise ValueError(f"status {row.id!r} is already kept; a push's status id must be new")
            self._rows[row.id] = (row.party, text)
            while len(self._rows) > self._keep:
                self._rows.popitem(last=False)

    def get(self, status_id: str, party: str) -> StatusRow | None:
        with self._lock:
            owner, text = self._rows.get(status_id, ("", ""))
        return StatusRow(status_id, party, s.load_json(text)) if text and owner == party else None


_BESIDE: Beside[StatusStore] = Beside("status", SqlStatusStore, MemoryStatusStore)
