"""One unit of work over SQLAlchemy Core, shared by the SQLite and PostgreSQL adapters.

It runs inside a transaction its store opened (``SqlStore.begin`` or ``SqlStore.read``) and never commits
itself. Only INSERT and SELECT are issued. Row numbers come from counters read once per unit under the
writer lock (``max + 1``), so they are contiguous and follow commit order; see :mod:`gsomia.store.schema`.

A write unit sends its small inserts later than they are asked for, in the order asked: with its next
read, or when its store ends the unit (:meth:`SqlUnitOfWork.flush`, before the commit). On PostgreSQL they
travel in one pipeline with that read, so a release's statements cost a few round trips instead of one
each; the database still runs them in order, and every read still sees every write the unit made before
it. A PostgreSQL writer's lock is taken before the unit is handed over, in one pipeline with the unit's
first look (:meth:`SqlUnitOfWork.lock_and_look`). An insert that fails (the database refuses
it) fails the unit all the same, at that read or at the end, and the store rolls the unit back.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol

from sqlalchemy import Connection, Select, select
from sqlalchemy import exc as sqlalchemy_exc

from ..services.errors import StoredRowError
from ..services.ports import (
    LeafRow,
    OutboxDigest,
    OutboxRow,
    Record,
    ReleaseRow,
    SealedBody,
    SealedStream,
    StoredBody,
    parts_digest,
)
from . import scan, scanproc
from . import schema as s

# every counter in one round trip; each is a max() over a primary key, so an index lookup
_COUNTERS = "SELECT " + ", ".join(
    f"(SELECT max({column.name}) FROM {table.name})" for table, column, _ in s.NUMBERED.values()
)


_LATEST_HEAD = "SELECT seq, data FROM heads ORDER BY seq DESC LIMIT 1"
# the newest head (NULLs if there is none) and every counter, in one statement: one snapshot, one round trip
_HEAD_AND_COUNTERS = (
    "SELECT newest.seq, newest.data, "
    + _COUNTERS.removeprefix("SELECT ")
    + f" FROM (SELECT 1 AS one) AS here LEFT JOIN ({_LATEST_HEAD}) AS newest ON 1 = 1"
)

_INSERT_RECORD = "INSERT INTO records (seq, kind, key, data) VALUES ({}, {}, {}, {})"
# inserts of at most this many rows, or bytes of blobs, wait for the unit's next read (the rows of one
# release, say); more (an import's batch, sealed bodies) go at once, after whatever waits, so that waiting
# rows never pile up in memory
LATER_ROWS = 64
LATER_BYTES = 1 << 20

# how a segmented body's rows are numbered, and its ciphertext's length (a SUM is numeric on PostgreSQL)
_SEGMENTS_SHAPE = (
    "SELECT count(*), min(n), max(n), CAST(SUM(length(data)) AS BIGINT) FROM body_segments WHERE item = {}"
)
# items with segment rows but no body of segments to hold them (added behind the node's back)
_STRAY_SEGMENTS = (
    "SELECT DISTINCT s.item FROM body_segments s LEFT JOIN bodies b ON b.item = s.item "
    "WHERE b.item IS NULL OR length(b.ciphertext) > 0 ORDER BY s.item"
)
# what the whole-log check reads of the outbox at a time (see outbox_digests)
DIGEST_BATCH_BYTES = 4 << 20
DIGEST_BATCH_ROWS = 1_000


class SqlUnitOfWork:
    """Reads and appends on one connection, inside the transaction its store began."""

    def __init__(self, conn: Connection, writable: bool) -> None:
        self._conn = conn
        self._writable = writable
        self._next: dict[str, int] = {}
        self._bad: dict[str, object] = {}  # tables whose highest number is not an integer (see _count)
        self._dbapi: Any = None
        self._mark = "?"
        # statements (formatted for the driver) with their rows (executemany) or parameters (execute),
        # waiting to be sent with the next read; see the module's docstring
        self._later: list[tuple[str, Sequence[Any], bool]] = []
        self._later_rows = self._later_bytes = 0
        self._looked: list[Any] | None = None  # the newest head as lock_and_look found it, until used

    def _write(self) -> Connection:
        if not self._writable:
            raise PermissionError("this unit of work is read-only; use store.begin() to write")
        return self._conn

    def _peek(self, table: str) -> int:
        """The number the next row of ``table`` gets (read once per unit, then counted here)."""
        if not self._next:
            # a statement of its own, after the writer lock's: at READ COMMITTED it then sees every commit
            self._count(self._fetch_raw(_COUNTERS, ())[0])
        if table in self._bad:
            raise StoredRowError(table, repr(self._bad[table]), "its number is not an integer")
        return self._next[table]

    def _count(self, tops: Sequence[Any]) -> None:
        """The counters from the tables' highest numbers (``_COUNTERS``' row)."""
        for (name, (_, _, first)), top in zip(s.NUMBERED.items(), tops, strict=True):
            if top is not None and type(top) is not int:  # SQLite keeps what it is given: a rewritten row
                self._bad[name] = top  # refused when a row of that table is numbered, not before
                top = None
            self._next[name] = first if top is None else top + 1

    def _take(self, table: str) -> int:
        number = self._peek(table)
        self._next[table] = number + 1
        return number

    # -- world records --------------------------------------------------------------------------------

    def add_record(self, kind: str, key: str, data: dict[str, Any]) -> Record:
        self._write()
        text = s.dump_json(data)
        seq = self._take("records")
        self._insert_raw(_INSERT_RECORD, [(seq, kind, key, text)])
        return Record(seq, kind, key, s.load_json(text))

    def add_records(
        self, entries: Sequence[tuple[str, str, dict[str, Any]]], texts: Sequence[str] | None = None
    ) -> Sequence[Record]:
        """Append many records in one statement: what ``add_record`` does, many at once. Each record keeps
        the caller's ``data`` (a fresh object the caller no longer changes), stored as canonical text
        (``texts`` when given: the caller computed it already)."""
        self._write()
        first = self._peek("records")
        if texts is None:
            texts = [s.dump_json(data) for _, _, data in entries]
        records = tuple(Record(first + i, kind, key, data) for i, (kind, key, data) in enumerate(entries))
        rows = [(r.seq, r.kind, r.key, text) for r, text in zip(records, texts, strict=True)]
        if rows:
            self._insert_raw(_INSERT_RECORD, rows)
            self._next["records"] = first + len(rows)
        return records

    def records(self, after: int = 0) -> Sequence[Record]:
        t = s.records.c
        return self._records(select(t.seq, t.kind, t.key, t.data).where(t.seq > after).order_by(t.seq))

    def record_texts(self) -> Sequence[tuple[object, object, object, object]]:
        # the data as its UTF-8 bytes, straight from the database: no text decoded only to be encoded again
        # (on SQLite only a value stored as text: any other storage class comes back NULL, a malformed row)
        sqlite = "CASE WHEN typeof(data) = 'text' THEN CAST(data AS BLOB) END"
        as_bytes = sqlite if self._driver()[1] == "?" else "convert_to(data, 'UTF8')"
        return self._fetch_raw(f"SELECT seq, kind, key, {as_bytes} FROM records ORDER BY seq", ())

    def world_records(self, after: int = 0) -> Sequence[Record]:
        # the partial index of the world's records by number: only those after ``after`` are read
        if self._driver()[1] != "?":
            rows = self._fetch_raw(s.WORLD_RECORDS_AFTER, (after,))
        else:
            self.flush()  # first: an error of what waits is never taken for the missing index below
            try:
                rows = self._fetch_raw(s.WORLD_RECORDS_AFTER_SQLITE, (after,))
            except sqlite3.OperationalError as exc:  # the index is gone (dropped, the table rebuilt): the
                if "no such index" not in str(exc):  # same rows, by the plan SQLite chooses itself
                    raise
                rows = self._fetch_raw(s.WORLD_RECORDS_AFTER, (after,))
        return tuple(Record(int(q), k, key, _stored_json("records", q, d)) for q, k, key, d in rows)

    def world_key(self) -> Hashable:
        return tuple(self.world_records())  # the records themselves: nothing cheaper is known unverified

    def item_records(self, keys: Iterable[str], kind: str = "item") -> Sequence[Record]:
        wanted = sorted(set(keys))
        found: list[Record] = []
        for start in range(0, len(wanted), 500):  # bounded IN lists, each an index lookup per key
            chunk = wanted[start : start + 500]
            marks = ", ".join(["{}"] * len(chunk))
            sql = f"SELECT seq, kind, key, data FROM records WHERE kind = {{}} AND key IN ({marks})"
            found += [
                Record(int(q), k, key, _stored_json("records", q, d))
                for q, k, key, d in self._fetch_raw(sql, [kind, *chunk])
            ]
        return tuple(sorted(found, key=lambda r: r.seq))

    def expect_bodies(self, items: Iterable[str]) -> None:
        """Nothing to do: this store proves nothing (a logged store over it does)."""

    def item_records_page(self, after: int, limit: int, kind: str = "item") -> Sequence[Record]:
        t = s.records.c
        query = select(t.seq, t.kind, t.key, t.data).where(t.seq > after, t.kind == kind)
        return self._records(query.order_by(t.seq).limit(limit))

    def _records(self, query: Select[Any]) -> tuple[Record, ...]:
        return tuple(
            Record(int(r.seq), r.kind, r.key, _stored_json("records", r.seq, r.data))
            for r in self._reads().execute(query)
        )

    # -- sealed bodies --------------------------------------------------------------------------------

    def put_body(self, item: str, body: SealedBody) -> None:
        self._write()
        # checked first, not caught after: a failed INSERT would abort the whole PostgreSQL transaction
        if self.get_body(item) is not None:
            raise KeyError(f"item {item!r} already has a body; bodies are never replaced")
        self._insert_raw(
            "INSERT INTO bodies (item, wrapped_key, nonce, ciphertext) VALUES ({}, {}, {}, {})",
            [(item, *_sealed_row(body))],
        )

    def put_body_stream(self, item: str, body: SealedStream) -> str:
        """The body's row with an empty ciphertext, then each segment a row as it is sealed; its digest
        from the rows read back, which must be the very bytes just sealed (else nothing is kept)."""
        self._write()
        if self.body_items([item]):
            raise KeyError(f"item {item!r} already has a body; bodies are never replaced")
        if self._fetch_raw(_SEGMENTS_SHAPE, (item,))[0][0]:
            raise StoredRowError("body_segments", item, "rows are stored for an item with no body")
        row = (item, bytes(body.wrapped_key), bytes(body.nonce), b"")
        self._insert_raw(
            "INSERT INTO bodies (item, wrapped_key, nonce, ciphertext) VALUES ({}, {}, {}, {})", [row]
        )
        sealed, size = hashlib.sha256(), 0
        for n, segment in enumerate(body.segments):  # each over LATER_BYTES: sent as it comes
            sealed.update(segment)
            size += len(segment)
            self._insert_raw(
                "INSERT INTO body_segments (item, n, data) VALUES ({}, {}, {})", [(item, n, segment)]
            )
        stored = self.stored_body(item)
        assert stored is not None  # written just now, in this transaction
        read = hashlib.sha256()

        def pieces() -> Iterator[bytes]:
            for piece in stored.pieces():
                read.update(piece)
                yield piece

        digest = parts_digest(stored.wrapped_key, stored.nonce, stored.size, pieces())
        if stored.size != size or read.digest() != sealed.digest():
            raise StoredRowError("body_segments", item, "the rows read back are not the segments written")
        return digest

    def stored_body(self, item: str) -> StoredBody | None:
        found = self._fetch_raw("SELECT wrapped_key, nonce, ciphertext FROM bodies WHERE item = {}", (item,))
        if not found:
            return None
        head = _sealed("bodies", item, *found[0])
        whole = head.ciphertext
        if whole:  # kept whole (short, or stored before migration 0008): read in this one statement
            return StoredBody(item, head.wrapped_key, head.nonce, len(whole), lambda: iter((whole,)))
        count, low, high, total = self._fetch_raw(_SEGMENTS_SHAPE, (item,))[0]
        if not count:
            raise StoredRowError("bodies", item, "its ciphertext is empty and no segment rows hold it")
        if low != 0 or high != count - 1 or type(total) is not int:
            raise StoredRowError(
                "body_segments", item, f"its {count} rows are not numbered 0 to {count - 1}, each with bytes"
            )
        return StoredBody(item, head.wrapped_key, head.nonce, total, lambda: self._segments(item, count))

    def _segments(self, item: str, count: int) -> Iterator[bytes]:
        """A segmented body's ``count`` rows in order, one query and one row at a time (bounded memory)."""
        for n in range(count):
            found = self._fetch_raw("SELECT data FROM body_segments WHERE item = {} AND n = {}", (item, n))
            if len(found) != 1:
                raise StoredRowError("body_segments", f"{item}/{n}", "the segment is missing")
            yield _sealed("body_segments", f"{item}/{n}", b"", b"", found[0][0]).ciphertext

    def stray_segments(self) -> Sequence[str]:
        return [str(item) for (item,) in self._fetch_raw(_STRAY_SEGMENTS, ())]

    def get_body(self, item: str) -> SealedBody | None:
        return self.get_bodies([item]).get(item)

    def get_bodies(self, items: Iterable[str]) -> dict[str, SealedBody]:
        wanted = sorted(set(items))
        found: dict[str, SealedBody] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join(["{}"] * len(chunk))
            sql = f"SELECT item, wrapped_key, nonce, ciphertext FROM bodies WHERE item IN ({marks})"
            for item, *sealed in self._fetch_raw(sql, chunk):
                found[item] = self._joined(_sealed("bodies", item, *sealed), item)
        return found

    def _joined(self, sealed: SealedBody, item: str) -> SealedBody:
        """``sealed`` whole: a segmented body's segments read and put together (a caller that takes
        the whole body; those that stream read :meth:`stored_body`)."""
        if sealed.ciphertext:
            return sealed
        stored = self.stored_body(item)
        assert stored is not None  # its row was just read, in this unit's snapshot
        return SealedBody(sealed.wrapped_key, sealed.nonce, stored.whole())

    def bodies(self) -> Iterable[tuple[str, SealedBody]]:
        t = s.bodies.c
        query = select(t.item, t.wrapped_key, t.nonce, t.ciphertext).order_by(t.item)
        segmented: list[tuple[str, SealedBody]] = []
        for row in self._reads().execute(query).yield_per(64):  # streamed: bodies can be large
            sealed = _sealed("bodies", row.item, row.wrapped_key, row.nonce, row.ciphertext)
            if sealed.ciphertext:
                yield row.item, sealed
            else:  # put together once this query is done (its cursor may be the connection's only one)
                segmented.append((row.item, sealed))
        for item, sealed in segmented:
            yield item, self._joined(sealed, item)

    def body_items(self, items: Iterable[str]) -> set[str]:
        wanted = sorted(set(items))
        t = s.bodies.c
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            rows = self._reads().execute(select(t.item).where(t.item.in_(wanted[start : start + 500])))
            found.update(r.item for r in rows)
        return found

    # -- releases and the outbox ----------------------------------------------------------------------

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
        self._write()
        text = s.dump_json(decision)
        seq = self._take("releases")
        self._insert_raw(
            "INSERT INTO releases (seq, item, recipient, holder, at, allowed, decision, recorded) "
            "VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            [(seq, item, recipient, holder, at, bool(allowed), text, recorded)],
        )
        return ReleaseRow(seq, item, recipient, holder, at, allowed, s.load_json(text), recorded)

    def releases(self, after: int = 0, until: int | None = None) -> Sequence[ReleaseRow]:
        t = s.releases.c
        query = select(s.releases).where(t.seq > after)
        if until is not None:
            query = query.where(t.seq <= until)
        rows = self._reads().execute(query.order_by(t.seq))
        return tuple(
            ReleaseRow(
                int(r.seq),
                r.item,
                r.recipient,
                r.holder,
                r.at,
                bool(r.allowed),
                _stored_json("releases", r.seq, r.decision),
                r.recorded,
            )
            for r in rows
        )

    def add_outbox(self, release_seq: int, recipient: str, payload: SealedBody) -> OutboxRow:
        self._write()
        if not 1 <= release_seq < self._peek("releases"):
            raise KeyError(f"no release {release_seq}; an outbox row belongs to a recorded release")
        seq = self._take("outbox")
        sealed = _sealed_row(payload)
        self._insert_raw(
            "INSERT INTO outbox (seq, release_seq, recipient, wrapped_key, nonce, ciphertext) "
            "VALUES ({}, {}, {}, {}, {}, {})",
            [(seq, release_seq, recipient, *sealed)],
        )
        return OutboxRow(release_seq, recipient, payload)

    def outbox(self, after: int = 0, until: int | None = None) -> Sequence[OutboxRow]:
        t = s.outbox.c
        columns = select(t.release_seq, t.recipient, t.wrapped_key, t.nonce, t.ciphertext)
        query = columns.where(t.release_seq > after)
        if until is not None:
            query = query.where(t.release_seq <= until)
        query = query.order_by(t.seq)
        return tuple(
            OutboxRow(
                _release_number(r.release_seq),
                r.recipient,
                _sealed("outbox", r.release_seq, r.wrapped_key, r.nonce, r.ciphertext),
            )
            for r in self._reads().execute(query)
        )

    def outbox_digests(self) -> Iterator[OutboxDigest]:
        """Read in batches of at most DIGEST_BATCH_BYTES of payloads (or one payload, if larger) or
        DIGEST_BATCH_ROWS rows, by their stored lengths: never every payload at once."""
        batch: list[int] = []
        held = 0
        for seq, length in self._fetch_raw("SELECT seq, length(ciphertext) FROM outbox ORDER BY seq", ()):
            if type(seq) is not int:  # NULL or text (a table rebuilt by hand): no IN would find it
                raise StoredRowError("outbox", repr(seq), "its number is not an integer")
            size = length if type(length) is int else 0
            if batch and (held + size > DIGEST_BATCH_BYTES or len(batch) >= DIGEST_BATCH_ROWS):
                yield from self._outbox_batch(batch)
                batch, held = [], 0
            batch.append(seq)
            held += size
        if batch:
            yield from self._outbox_batch(batch)

    def _outbox_batch(self, seqs: Sequence[int]) -> Iterator[OutboxDigest]:
        marks = ", ".join(["{}"] * len(seqs))
        sql = (
            "SELECT seq, release_seq, recipient, wrapped_key, nonce, ciphertext FROM outbox "
            f"WHERE seq IN ({marks}) ORDER BY seq"
        )
        rows = self._fetch_raw(sql, seqs)
        if sorted(row[0] for row in rows) != sorted(seqs):  # the rows listed, each once: none missed
            raise StoredRowError("outbox", seqs[0], "its rows are not the ones its numbers list")
        rows.reverse()
        while rows:
            _, release_seq, recipient, *parts = rows.pop()  # each payload dropped once its digest is taken
            sealed = _sealed("outbox", release_seq, *parts)
            del parts
            digest = sealed.digest()
            yield OutboxDigest(_release_number(release_seq), recipient, digest)

    # -- the transparency log -------------------------------------------------------------------------

    def append_leaf(self, kind: str, ref: str, data: bytes) -> LeafRow:
        return self.append_leaves([(kind, ref, data)])[0]

    def append_leaves(self, entries: Sequence[tuple[str, str, bytes]]) -> Sequence[LeafRow]:
        """Append ``(kind, ref, data)`` leaves in one statement: what ``append_leaf`` does, many at once."""
        self._write()
        first = self._peek("leaves")
        rows = tuple(
            LeafRow(first + i, kind, ref, data if type(data) is bytes else bytes(data))
            for i, (kind, ref, data) in enumerate(entries)
        )
        if rows:
            self._insert_raw("INSERT INTO leaves (idx, kind, ref, data) VALUES ({}, {}, {}, {})", rows)
            self._next["leaves"] = first + len(rows)
        return rows

    def leaves(self, start: int = 0, stop: int | None = None) -> Sequence[LeafRow]:
        # the same window as ``list[start:stop]``, negative bounds included
        lo, hi, _ = slice(start, stop).indices(self.leaf_count())
        if lo >= hi:
            return ()
        sql = "SELECT idx, kind, ref, data FROM leaves WHERE idx >= {} AND idx < {} ORDER BY idx"
        rows = tuple(LeafRow._make(row) for row in self._fetch_raw(sql, (lo, hi)))
        for row in rows:
            if not isinstance(row.data, bytes) or not isinstance(row.ref, str) or _has_surrogate(row.ref):
                raise StoredRowError("leaves", row.index, "its data is not bytes or its ref not text")
        return rows

    def leaf_count(self) -> int:
        return self._peek("leaves")

    def leaves_by_ref(self, refs: Iterable[str]) -> Sequence[LeafRow]:
        wanted = sorted(set(refs))
        out: list[LeafRow] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            sql = (
                "SELECT idx, kind, ref, data FROM leaves WHERE ref IN ("
                + ", ".join(["{}"] * len(chunk))
                + ")"
            )
            out += _leaf_rows(self._fetch_raw(sql, chunk))
        return tuple(out)

    # -- whole-log questions the database answers itself (the LogScan port, see gsomia.store.scan) ------

    def schema_as_made(self) -> bool:
        return scan.schema_as_made(self._fetch_raw, self._driver()[1] == "?")

    def records_match_leaves(self, pieces: Sequence[str], leaf_kinds: Mapping[str, str]) -> bool:
        return scan.records_match_leaves(self._fetch_raw, self._driver()[1] == "?", pieces, leaf_kinds)

    def tree_levels(self) -> list[bytes] | None:
        return scan.tree_levels(self._fetch_raw, self._driver()[1] == "?")

    def leaf_data(self) -> Iterator[list[bytes]] | None:
        return scan.leaf_data(self._fetch_raw)

    def other_leaves(self) -> Sequence[LeafRow]:
        return _leaf_rows(scan.other_leaves(self._fetch_raw))

    @contextmanager
    def shared_snapshot(self, count: int) -> Iterator[Sequence[SqlUnitOfWork]]:
        """``count`` read-only units, each on a connection of its own, all reading one snapshot (the
        newest commit), so that whole-log questions can run side by side and still be answers about one
        state of the database; none when that cannot be had at once (another writer holds SQLite's lock,
        say). This unit's own snapshot plays no part: the caller works on the units given.

        SQLite (WAL) has no way to hand a snapshot to another connection, so the database's write lock is
        taken (``BEGIN IMMEDIATE``, waiting at most :data:`SHARE_WAIT_S`) while each unit makes its first
        read, which fixes its snapshot: no commit can come between them. PostgreSQL exports the first
        unit's snapshot (``pg_export_snapshot``) and the others import it (``SET TRANSACTION SNAPSHOT``).
        Either way each unit then reads the log's size and newest head, and they must all agree.

        On SQLite, from :data:`gsomia.store.scanproc.APART_FROM_LEAVES` leaves, every unit but the first
        asks its whole-log questions (``records_match_leaves``, ``tree_levels``) of a child process of its
        own (:class:`gsomia.store.scanproc.ChildScan`), started while the lock is held: its snapshot mark
        must agree too. SQLite's allocator serialises the threads of one process; processes run apart."""
        with ExitStack() as stack:
            yield self._share(stack, count)

    def _share(self, stack: ExitStack, count: int) -> list[SqlUnitOfWork]:
        """The units of :meth:`shared_snapshot`, closed by ``stack``; ``[]`` if they cannot share one.

        Their connections are checked out of the pool (and begun) before SQLite's write lock is taken, so
        that a busy pool keeps verify waiting, never the node's writers; a pool that gives none in time,
        a database error, or no process or thread to be had means no shared snapshot (the caller works on
        its own unit, as it always could)."""
        try:
            return self._shared_units(stack, count)
        except (sqlalchemy_exc.SQLAlchemyError, OSError, RuntimeError):
            return []  # whatever was started is ended, and the lock let go, by ``stack``

    def _shared_units(self, stack: ExitStack, count: int) -> list[SqlUnitOfWork]:
        engine, options = self._conn.engine, self._conn.get_execution_options()
        sqlite = self._driver()[1] == "?"
        path = engine.url.database if sqlite else None
        if sqlite and not path:
            return []

        def connection() -> Connection:
            conn = stack.enter_context(engine.connect()).execution_options(**options)
            stack.callback(conn.begin().rollback)  # a reader keeps nothing
            return conn

        conns = [connection() for _ in range(count)]  # before any lock: a busy pool blocks no writer
        units: list[SqlUnitOfWork] = []
        marks: list[object] = []

        def started(unit: SqlUnitOfWork) -> None:
            marks.append(unit.snapshot_mark())  # on SQLite its first read: its snapshot is now fixed
            units.append(unit)

        if path:
            lock = stack.enter_context(_sqlite_write_lock(path))
            if lock is None:
                return []
            started(SqlUnitOfWork(conns[0], writable=False))
            children = _children(stack, path, count - 1, marks[0])
            for conn, child in zip(conns[1:], children, strict=False):
                started(_AskedApart(conn, child))
            for conn in conns[1 + len(children) :]:
                started(SqlUnitOfWork(conn, writable=False))
            if children and all(mark == marks[0] for mark in marks):
                _release_when_marked(stack, lock, children, marks[0])  # meanwhile the caller starts
            else:
                lock.release()
        else:
            first = SqlUnitOfWork(conns[0], writable=False)
            try:
                ((exported,),) = first._fetch_raw("SELECT pg_export_snapshot()", ())
                if not isinstance(exported, str) or _SNAPSHOT_ID.fullmatch(exported) is None:
                    return []
                started(first)
                for conn in conns[1:]:
                    other = SqlUnitOfWork(conn, writable=False)
                    other._execute_raw(f"SET TRANSACTION SNAPSHOT '{exported}'")
                    started(other)
            except engine.dialect.loaded_dbapi.Error:  # a server that cannot (a standby, say): one unit
                return []
        return units if all(mark == marks[0] for mark in marks) else []

    def snapshot_mark(self) -> tuple[object, ...]:
        """What any commit changes (the log's last leaf, the newest head): equal on units that share one
        snapshot. On SQLite the first read of a unit, which fixes its snapshot."""
        return tuple(self._fetch_raw(scan.SNAPSHOT_MARK, ())[0])

    def _execute_raw(self, sql: str) -> None:
        """Run one statement that returns no rows (on this unit's connection, in its transaction)."""
        self.flush()
        cursor = self._driver()[0].cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def add_tree_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        self._write()
        fresh = self._new_tree_nodes(nodes)
        if fresh:
            self._insert_raw("INSERT INTO tree_nodes (level, idx, hash) VALUES ({}, {}, {})", fresh)

    def _new_tree_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> list[tuple[int, int, bytes]]:
        """The nodes not stored yet; one stored with another hash is an error (the tree only grows)."""
        if not nodes:
            return []
        if all(type(lv) is int and type(ix) is int and type(h) is bytes for lv, ix, h in nodes):
            wanted = {(lv, ix): h for lv, ix, h in nodes}  # as given (an import's millions: no copies)
        else:
            wanted = {(int(lv), int(ix)): bytes(h) for lv, ix, h in nodes}
        lowest: dict[int, int] = {}
        for lv, ix in wanted:
            if ix < lowest.get(lv, ix + 1):
                lowest[lv] = ix
        # plain SQL, like tree_nodes_at: every write runs it, and the expression tree cost more than the
        # index range scans (normally empty: the tree grows to the right of what is stored)
        where = " OR ".join("(level = {} AND idx >= {})" for _ in lowest)
        params = tuple(v for pair in lowest.items() for v in pair)
        rows = self._fetch_raw(f"SELECT level, idx, hash FROM tree_nodes WHERE {where}", params)
        stored = {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}
        for key, digest in wanted.items():
            if key in stored and stored[key] != digest:
                raise ValueError(f"tree node {key} is already stored with another hash; the tree only grows")
        return [(lv, ix, h) for (lv, ix), h in wanted.items() if (lv, ix) not in stored]

    def tree_nodes(self) -> Sequence[tuple[int, int, bytes]]:
        rows = tuple(self._fetch_raw("SELECT level, idx, hash FROM tree_nodes ORDER BY level, idx", ()))
        for level, index, digest in rows:
            if not isinstance(digest, bytes):
                raise StoredRowError("tree_nodes", f"({level}, {index})", "its hash is not bytes")
        return rows

    # -- the driver's own cursor ----------------------------------------------------------------------
    # The statements every release and every proof runs go to the driver's cursor on this connection
    # (same transaction), ``{}`` standing for its placeholder: SQLAlchemy's statement and row handling cost
    # several times what the database spent (measured: a release 2.6 ms through it, see
    # benchmarks/README.md; a whole-log read 0.8 s against 0.15 s per 200,000 rows). Both drivers return
    # BLOB/bytea columns as bytes and integers as int, as the typed path does.

    def _driver(self) -> tuple[Any, str]:
        if self._dbapi is None:
            self._dbapi = self._conn.connection.dbapi_connection
            self._mark = "?" if self._conn.dialect.paramstyle == "qmark" else "%s"
        return self._dbapi, self._mark

    def _insert_raw(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Insert ``rows`` with the driver's executemany: with the next read if they are few, else now."""
        mark = self._driver()[1]
        params = rows if all(type(r) is tuple for r in rows) else [tuple(r) for r in rows]
        self._later.append((sql.format(*([mark] * len(rows[0]))), params, True))
        self._later_rows += len(params)
        if self._later_rows <= LATER_ROWS:
            self._later_bytes += sum(len(v) for row in params for v in row if type(v) is bytes)
        if self._later_rows > LATER_ROWS or self._later_bytes > LATER_BYTES:
            self.flush()

    def lock_and_look(self, sql: str, params: Sequence[object]) -> None:
        """Take the writer lock with ``sql`` (``{}`` for each parameter) and, in the same round trip, make
        the unit's first look (the newest head and every counter), kept for :meth:`latest_head`: how a
        PostgreSQL writer takes its lock, at once, without a round trip of its own. The head cannot change
        while the lock is held."""
        self._later.insert(0, (sql.format(*([self._driver()[1]] * len(params))), tuple(params), False))
        found = self._fetch_raw(_HEAD_AND_COUNTERS, ())[0]
        self._count(found[2:])
        self._looked = [found[:2]] if found[0] is not None else []

    def flush(self) -> None:
        """Send whatever waits (see the module's docstring): its store calls this before committing."""
        if self._later:
            self._send(None, ())

    def _reads(self) -> Connection:
        """The connection, for a read through SQLAlchemy: whatever waits is sent first."""
        self.flush()
        return self._conn

    def _send(self, sql: str | None, params: Sequence[object]) -> list[Any]:
        """Send whatever waits, then ``sql`` (if any), and return the rows it selects. On PostgreSQL all of
        it goes in one pipeline: one round trip."""
        driver, mark = self._driver()
        later, self._later, self._later_rows, self._later_bytes = self._later, [], 0, 0
        cursor = driver.cursor()
        try:
            if later and mark != "?":
                with driver.pipeline():
                    self._run(cursor, later)
                    if sql is not None:
                        cursor.execute(sql, tuple(params))
            else:
                self._run(cursor, later)
                if sql is not None:
                    cursor.execute(sql, tuple(params))
            return list(cursor.fetchall()) if sql is not None else []
        finally:
            cursor.close()

    @staticmethod
    def _run(cursor: _Cursor, later: Sequence[tuple[str, Sequence[Any], bool]]) -> None:
        for statement, values, many in later:
            if many:
                cursor.executemany(statement, values)
            else:
                cursor.execute(statement, values)

    def _fetch_raw(self, sql: str, params: Sequence[object]) -> list[Any]:
        """Every row ``sql`` selects.

        On SQLite, text is first decoded by the driver's own UTF-8 decoder (in C) rather than by the
        connection's lenient one (a Python call per value, see gsomia.store.sqlite): a whole-log check
        reads millions of values. Text that is not UTF-8 fails that read, which is then made again the
        lenient way, so the caller still sees the row and names it as malformed."""
        driver, mark = self._driver()
        statement = sql.format(*([mark] * len(params)))
        if mark != "?":
            return self._select(statement, params)
        self.flush()  # what waits goes first: an error of its own is never taken for a decoding failure
        lenient = driver.text_factory
        driver.text_factory = str
        try:
            return self._select(statement, params)
        except sqlite3.OperationalError:  # "Could not decode to UTF-8": read it again leniently below
            pass
        finally:
            driver.text_factory = lenient
        return self._select(statement, params)

    def _select(self, sql: str, params: Sequence[object]) -> list[Any]:
        return self._send(sql, params)

    def tree_nodes_at(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        # plain SQL: one (level, idx) equality pair per node, each a primary-key lookup; proofs run this
        # on every call, and building the equivalent expression tree cost more than the lookups themselves.
        # At most 200 pairs a statement: SQLite refuses expressions deeper than 1,000.
        found: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(wanted), 200):
            chunk = wanted[start : start + 200]
            where = " OR ".join(["(level = {} AND idx = {})"] * len(chunk))
            params = [int(v) for key in chunk for v in key]
            rows = self._fetch_raw(f"SELECT level, idx, hash FROM tree_nodes WHERE {where}", params)
            found.update({(int(r[0]), int(r[1])): bytes(r[2]) for r in rows})
        return found

    def add_head(self, head: dict[str, Any]) -> None:
        self._write()
        self._looked = None  # no longer the newest head
        row = (self._take("heads"), s.dump_json(head))
        self._insert_raw("INSERT INTO heads (seq, data) VALUES ({}, {})", [row])

    def heads(self) -> Sequence[dict[str, Any]]:
        t = s.heads.c
        rows = self._reads().execute(select(t.seq, t.data).order_by(t.seq))
        return tuple(_stored_json("heads", r.seq, r.data) for r in rows)

    def latest_head(self) -> tuple[int, dict[str, Any]] | None:
        if self._looked is not None:  # the look made with the writer lock (lock_and_look): used once
            rows, self._looked = self._looked, None
        elif self._next:
            rows = self._fetch_raw(_LATEST_HEAD, ())
        else:  # the unit's first look also reads its counters: one round trip, not two (see _peek)
            found = self._fetch_raw(_HEAD_AND_COUNTERS, ())[0]
            self._count(found[2:])
            rows = [found[:2]] if found[0] is not None else []
        return None if not rows else (int(rows[0][0]), _stored_json("heads", rows[0][0], rows[0][1]))


class _Cursor(Protocol):
    """What :meth:`SqlUnitOfWork._run` asks of a driver's cursor (sqlite3's and psycopg's both)."""

    def execute(self, sql: str, params: Sequence[Any], /) -> object: ...
    def executemany(self, sql: str, rows: Sequence[Any], /) -> object: ...


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _leaf_rows(rows: Iterable[Sequence[Any]]) -> list[LeafRow]:
    """Leaf rows as read; a StoredRowError for one whose data is not bytes or whose ref is not text."""
    out: list[LeafRow] = []
    for idx, kind, ref, data in rows:
        if not isinstance(data, bytes) or not isinstance(ref, str) or _has_surrogate(ref):
            raise StoredRowError("leaves", idx, "its data is not bytes or its ref not text")
        out.append(LeafRow(int(idx), kind, ref, data))
    return out


def _stored_json(table: str, row: object, text: object) -> dict[str, Any]:
    """A stored JSON object read back; a StoredRowError naming the row if it is not one."""
    try:
        if not isinstance(text, str):
            raise TypeError(f"expected text, found {type(text).__name__}")
        if _has_surrogate(text):
            raise ValueError("it is not UTF-8 text")
        return s.load_json(text)
    except RecursionError:
        raise StoredRowError(table, str(row), "its JSON is nested too deeply") from None
    except (ValueError, TypeError) as exc:
        raise StoredRowError(table, str(row), str(exc)) from None


# -- sharing one snapshot between units (``SqlUnitOfWork.shared_snapshot``) --------------------------------

# how long to wait for SQLite's write lock before giving up on a shared snapshot: a write holds it for
# milliseconds, an import for minutes; without it the caller works on one unit, as fast as ever it was
SHARE_WAIT_S = 1.0
_SNAPSHOT_ID = re.compile("[0-9A-Fa-f-]{1,64}")  # as pg_export_snapshot() gives it, e.g. 00000003-0000001B-1


class _WriteLock:
    """SQLite's write lock, held by a transaction that writes nothing on a connection of its own; let go
    once, by whichever thread comes first (the one that saw the last child's snapshot, or the caller's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._held = True
        self._guard = threading.Lock()

    def release(self) -> None:
        with self._guard:
            if self._held:
                self._held = False
                self._conn.execute("ROLLBACK")


@contextmanager
def _sqlite_write_lock(path: str | None) -> Iterator[_WriteLock | None]:
    """Hold the SQLite database's write lock on a connection of its own (released at the latest when
    this ends); yields None, holding nothing, if it is not had within SHARE_WAIT_S or the file cannot be
    written."""
    if not path or path == ":memory:":
        yield None
        return
    try:
        conn = sqlite3.connect(path, timeout=SHARE_WAIT_S, isolation_level=None, check_same_thread=False)
    except sqlite3.Error:
        yield None
        return
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:  # busy, or read-only: no shared snapshot, nothing wrong
            lock = None
        else:
            lock = _WriteLock(conn)
        try:
            yield lock
        finally:
            if lock is not None:
                lock.release()
    finally:
        conn.close()


def _children(stack: ExitStack, path: str, count: int, mark: object) -> list[scanproc.ChildScan]:
    """``count`` child processes started on the SQLite file ``path`` (ended by ``stack``), if the log (its
    last leaf in ``mark``, the first unit's) is long enough to be worth their start; else none."""
    last = mark[0] if isinstance(mark, tuple) and mark else None
    if type(last) is not int or last + 1 < scanproc.APART_FROM_LEAVES:
        return []
    children = [scanproc.ChildScan(path) for _ in range(count)]
    stack.callback(scanproc.close_all, children)
    return children


def _release_when_marked(
    stack: ExitStack, lock: _WriteLock, children: Sequence[scanproc.ChildScan], mark: object
) -> None:
    """Let go of ``lock`` once every child has fixed its snapshot and reported its mark (each child's
    answers are used only if its mark is ``mark``, the units'), or failed to by START_WAIT_S: in a thread
    of its own, so that the caller starts on its own unit while the children start. ``stack`` waits for
    it before it lets the lock go itself."""

    def settle() -> None:
        try:
            deadline = time.monotonic() + scanproc.START_WAIT_S
            for child in children:
                child.settle(deadline, mark)
        finally:
            lock.release()

    thread = threading.Thread(target=settle, name="gsomia-verify-snapshots", daemon=True)
    thread.start()
    stack.callback(thread.join)


class _AskedApart(SqlUnitOfWork):
    """A shared unit whose whole-log questions a child process answers on the same snapshot. A question the
    child does not answer (it did not start, reported another snapshot, died, timed out, failed) is asked
    here instead, on this unit's own connection: that snapshot is the other units', proven by its mark."""

    def __init__(self, conn: Connection, child: scanproc.ChildScan) -> None:
        super().__init__(conn, writable=False)
        self._child = child

    def records_match_leaves(self, pieces: Sequence[str], leaf_kinds: Mapping[str, str]) -> bool:
        answer = self._child.ask("records_match_leaves", tuple(pieces), dict(leaf_kinds))
        if type(answer) is bool:
            return answer
        return super().records_match_leaves(pieces, leaf_kinds)

    def tree_levels(self) -> list[bytes] | None:
        levels = self._child.ask("tree_levels")
        if levels is None or (isinstance(levels, list) and all(type(level) is bytes for level in levels)):
            return levels
        return super().tree_levels()


def _release_number(value: object) -> int:
    """An outbox row's release number; StoredRowError if it is not an integer (a rewritten row)."""
    if type(value) is not int:
        raise StoredRowError("outbox", repr(value), "its release number is not an integer")
    return value


def _sealed_row(body: SealedBody) -> tuple[bytes, bytes, bytes]:
    return bytes(body.wrapped_key), bytes(body.nonce), bytes(body.ciphertext)


def _sealed(table: str, row: object, wrapped_key: object, nonce: object, ciphertext: object) -> SealedBody:
    parts = []
    for part in (wrapped_key, nonce, ciphertext):
        if not isinstance(part, bytes | memoryview):
            raise StoredRowError(table, str(row), "a sealed part is not bytes")
        parts.append(bytes(part))
    return SealedBody(*parts)
