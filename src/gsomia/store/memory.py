"""The in-memory store: a real adapter (same contract as SQLite and PostgreSQL), for tests and tools.

A unit of work that raises is rolled back (every table cut back to where it stood), so a failure leaves
nothing behind, exactly as a database transaction would. One writer at a time, like SQLite.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..services.ports import (
    WORLD_KINDS,
    LeafRow,
    OutboxDigest,
    OutboxRow,
    Record,
    ReleaseRow,
    SealedBody,
    SealedStream,
    StoredBody,
)


@dataclass(slots=True)
class _Tables:
    records: list[Record] = field(default_factory=list)
    bodies: dict[str, SealedBody] = field(default_factory=dict)
    releases: list[ReleaseRow] = field(default_factory=list)
    outbox: list[OutboxRow] = field(default_factory=list)
    leaves: list[LeafRow] = field(default_factory=list)
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    heads: list[dict[str, Any]] = field(default_factory=list)


class MemoryUnitOfWork:
    def __init__(self, tables: _Tables, writable: bool) -> None:
        self._t = tables
        self._writable = writable

    def _write(self) -> _Tables:
        if not self._writable:
            raise PermissionError("this unit of work is read-only; use store.begin() to write")
        return self._t

    def add_record(self, kind: str, key: str, data: dict[str, Any]) -> Record:
        t = self._write()
        record = Record(len(t.records) + 1, kind, key, copy.deepcopy(data))
        t.records.append(record)
        return record

    def add_records(
        self, entries: Sequence[tuple[str, str, dict[str, Any]]], texts: Sequence[str] | None = None
    ) -> Sequence[Record]:
        return tuple(self.add_record(kind, key, data) for kind, key, data in entries)

    def records(self, after: int = 0) -> Sequence[Record]:
        return tuple(self._t.records[max(after, 0) :])

    def record_texts(self) -> Sequence[tuple[object, object, object, object]]:
        return tuple((r.seq, r.kind, r.key, _text(r.data)) for r in self._t.records)

    def world_records(self, after: int = 0) -> Sequence[Record]:
        return tuple(r for r in self._t.records[max(after, 0) :] if r.kind in WORLD_KINDS)

    def world_key(self) -> Hashable:
        return tuple(self.world_records())  # the records themselves: nothing cheaper is known unverified

    def item_records(self, keys: Iterable[str], kind: str = "item") -> Sequence[Record]:
        wanted = set(keys)
        return tuple(r for r in self._t.records if r.kind == kind and r.key in wanted)

    def expect_bodies(self, items: Iterable[str]) -> None:
        """Nothing to do: this store proves nothing (a logged store over it does)."""

    def item_records_page(self, after: int, limit: int, kind: str = "item") -> Sequence[Record]:
        found = (r for r in self._t.records[max(after, 0) :] if r.kind == kind)
        return tuple(r for _, r in zip(range(limit), found, strict=False))

    def put_body(self, item: str, body: SealedBody) -> None:
        t = self._write()
        if item in t.bodies:
            raise KeyError(f"item {item!r} already has a body; bodies are never replaced")
        t.bodies[item] = body

    def put_body_stream(self, item: str, body: SealedStream) -> str:
        # a memory store holds everything in memory: the segments are kept together
        self.put_body(item, SealedBody(body.wrapped_key, body.nonce, b"".join(body.segments)))
        stored = self.stored_body(item)
        assert stored is not None
        return stored.digest()

    def stored_body(self, item: str) -> StoredBody | None:
        sealed = self._t.bodies.get(item)
        if sealed is None:
            return None
        whole = sealed.ciphertext
        step = 1 << 20  # handed over in pieces that are not the segments: a reader must not rely on them

        def pieces() -> Iterator[bytes]:
            return (whole[i : i + step] for i in range(0, len(whole), step))

        return StoredBody(item, sealed.wrapped_key, sealed.nonce, len(whole), pieces)

    def stray_segments(self) -> Sequence[str]:
        return ()  # a memory store keeps a body in one value

    def get_body(self, item: str) -> SealedBody | None:
        return self._t.bodies.get(item)

    def get_bodies(self, items: Iterable[str]) -> dict[str, SealedBody]:
        return {item: self._t.bodies[item] for item in items if item in self._t.bodies}

    def bodies(self) -> Iterable[tuple[str, SealedBody]]:
        return tuple(self._t.bodies.items())

    def body_items(self, items: Iterable[str]) -> set[str]:
        return {item for item in items if item in self._t.bodies}

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
        t = self._write()
        row = ReleaseRow(
            len(t.releases) + 1, item, recipient, holder, at, allowed, copy.deepcopy(decision), recorded
        )
        t.releases.append(row)
        return row

    def releases(self, after: int = 0, until: int | None = None) -> Sequence[ReleaseRow]:
        return tuple(self._t.releases[max(after, 0) : until])

    def add_outbox(self, release_seq: int, recipient: str, payload: SealedBody) -> OutboxRow:
        t = self._write()
        if not 1 <= release_seq <= len(t.releases):
            raise KeyError(f"no release {release_seq}; an outbox row belongs to a recorded release")
        row = OutboxRow(release_seq, recipient, payload)
        t.outbox.append(row)
        return row

    def outbox(self, after: int = 0, until: int | None = None) -> Sequence[OutboxRow]:
        last = len(self._t.releases) if until is None else until
        return tuple(row for row in self._t.outbox if after < row.release_seq <= last)

    def outbox_digests(self) -> Iterator[OutboxDigest]:
        for row in tuple(self._t.outbox):
            yield OutboxDigest(row.release_seq, row.recipient, row.payload.digest())

    def append_leaf(self, kind: str, ref: str, data: bytes) -> LeafRow:
        t = self._write()
        row = LeafRow(len(t.leaves), kind, ref, bytes(data))
        t.leaves.append(row)
        return row

    def append_leaves(self, entries: Sequence[tuple[str, str, bytes]]) -> Sequence[LeafRow]:
        """Append ``(kind, ref, data)`` leaves: what ``append_leaf`` does, many at once."""
        t = self._write()
        first = len(t.leaves)
        rows = tuple(
            LeafRow(first + i, kind, ref, bytes(data)) for i, (kind, ref, data) in enumerate(entries)
        )
        t.leaves.extend(rows)
        return rows

    def leaves(self, start: int = 0, stop: int | None = None) -> Sequence[LeafRow]:
        return tuple(self._t.leaves[start:stop])

    def leaves_by_ref(self, refs: Iterable[str]) -> Sequence[LeafRow]:
        wanted = set(refs)
        return tuple(leaf for leaf in self._t.leaves if leaf.ref in wanted)

    def leaf_count(self) -> int:
        return len(self._t.leaves)

    def add_tree_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        t = self._write()
        for level, index, digest in nodes:
            stored = t.nodes.get((level, index))
            if stored is not None and stored != digest:
                key = (level, index)
                raise ValueError(f"tree node {key} is already stored with another hash; the tree only grows")
        for level, index, digest in nodes:
            t.nodes[(level, index)] = bytes(digest)

    def tree_nodes(self) -> Sequence[tuple[int, int, bytes]]:
        return tuple((lv, ix, h) for (lv, ix), h in sorted(self._t.nodes.items()))

    def tree_nodes_at(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        return {k: self._t.nodes[k] for k in keys if k in self._t.nodes}

    def add_head(self, head: dict[str, Any]) -> None:
        self._write().heads.append(copy.deepcopy(head))

    def heads(self) -> Sequence[dict[str, Any]]:
        return tuple(copy.deepcopy(h) for h in self._t.heads)

    def latest_head(self) -> tuple[int, dict[str, Any]] | None:
        heads = self._t.heads
        return (len(heads), copy.deepcopy(heads[-1])) if heads else None


class MemoryStore:
    """Everything in one process's memory; one writer at a time, like SQLite."""

    def __init__(self) -> None:
        self._tables = _Tables()
        self._lock = threading.Lock()
        self._writer_thread: int | None = None

    @contextmanager
    def begin(self) -> Iterator[MemoryUnitOfWork]:
        if self._writer_thread == threading.get_ident():  # waiting on our own lock would hang forever
            raise RuntimeError("this thread already has a unit of work open; do the work inside that one")
        with self._lock:
            self._writer_thread = threading.get_ident()
            try:
                yield from self._unit()
            finally:
                self._writer_thread = None

    def _unit(self) -> Iterator[MemoryUnitOfWork]:
        """One write unit over the tables; rolled back (cut back) if the block raises."""
        t = self._tables
        marks = {n: len(getattr(t, n)) for n in ("records", "releases", "outbox", "leaves", "heads")}
        bodies, nodes = set(t.bodies), dict(t.nodes)
        try:
            yield MemoryUnitOfWork(t, writable=True)
        except BaseException:
            # tables are append-only, so rolling back is cutting each one back to where it stood
            for name, length in marks.items():
                del getattr(t, name)[length:]
            for item in set(t.bodies) - bodies:
                del t.bodies[item]
            t.nodes = nodes
            raise

    @contextmanager
    def read(self) -> Iterator[MemoryUnitOfWork]:
        yield MemoryUnitOfWork(self._tables, writable=False)

    def close(self) -> None:
        """Nothing to release."""


def _text(data: dict[str, Any]) -> str:
    """A record's data as a SQL store keeps it (sorted keys, UTF-8 as is, no spaces)."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
