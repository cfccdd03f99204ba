"""Reading and checking the node's transparency log: signed heads, proofs, and a whole-log verification.

``verify`` trusts nothing the store says about itself: it recomputes every leaf hash and the whole tree,
holds every stored interior node, every signed head (and the chain they form) and every record, release,
outbox payload and sealed body against them, and (``from_head``) checks that the log still extends a head
someone kept earlier. It reports the faults it finds, the first bad leaf first; a row that cannot even be
read (malformed JSON) is a fault naming it, never an error.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gsomia.ledger import (
    EMPTY_ROOT,
    LedgerError,
    MerkleTree,
    TreeHead,
    canonical,
    frontier,
    leaf_hash,
    leaf_hashes,
    sign_head,
)

from . import journal
from .errors import NodeError, StoredRowError
from .ports import KeyRing, LeafRow, LogScan, OutboxDigest, Record, ReleaseRow, Store, UnitOfWork


@dataclass(frozen=True, slots=True)
class Fault:
    """Something wrong with the log: ``leaf`` is the first leaf index it concerns, when one is known."""

    what: str
    leaf: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"leaf": self.leaf, "what": self.what}


@dataclass(frozen=True, slots=True)
class VerifyReport:
    leaves: int
    heads: int
    faults: tuple[Fault, ...]

    @property
    def ok(self) -> bool:
        return not self.faults

    @property
    def first_bad_leaf(self) -> int | None:
        known = [f.leaf for f in self.faults if f.leaf is not None]
        return min(known) if known else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "leaves": self.leaves,
            "heads": self.heads,
            "first_bad_leaf": self.first_bad_leaf,
            "faults": [f.to_dict() for f in self.faults],
        }


class Audit:
    def __init__(self, store: Store, keys: KeyRing) -> None:
        self._store = store
        self._keys = keys

    def head(self) -> TreeHead:
        """The newest signed head (for an empty log, a head of size 0 signed now)."""
        with self._store.read() as uow:
            latest = uow.latest_head()
        if latest is not None:
            return TreeHead.from_dict(latest[1])
        return sign_head(0, MerkleTree().root(), self._keys, self._keys.key_id)

    def prove(self, leaf: int, size: int | None = None) -> dict[str, Any]:
        """An RFC 9162 inclusion proof of ``leaf`` in the tree of ``size`` leaves (default: all), from the
        O(log n) stored nodes its path needs."""
        with self._store.read() as uow:
            count = uow.leaf_count()
            size = count if size is None else size
            if not 0 <= leaf < size <= count:
                raise NodeError(f"leaf {leaf} is not in a tree of {size} leaves (the log has {count})")
            nodes = uow.tree_nodes_at(frontier.needed_for_inclusion(leaf, size))
            row = uow.leaves(leaf, leaf + 1)[0]
        if leaf_hash(row.data) != nodes.get((0, leaf)):
            raise NodeError(f"leaf {leaf} does not match the stored tree; run gsomia log verify")
        return {
            "leaf": leaf,
            "size": size,
            "kind": row.kind,
            "ref": row.ref,
            "leaf_hash": nodes[(0, leaf)].hex(),
            "root": frontier.root_from(nodes, size).hex(),
            "proof": [h.hex() for h in frontier.inclusion_from(nodes, leaf, size)],
        }

    def consistency(self, old: int, new: int) -> dict[str, Any]:
        """An RFC 9162 consistency proof that the tree of ``new`` leaves extends the tree of ``old``."""
        with self._store.read() as uow:
            count = uow.leaf_count()
            if not 0 <= old <= new <= count:
                raise NodeError(f"need 0 <= OLD <= NEW <= {count} (the log's size); got {old} and {new}")
            nodes = uow.tree_nodes_at(frontier.needed_for_consistency(old, new))
        return {
            "old": old,
            "new": new,
            "old_root": frontier.root_from(nodes, old).hex(),
            "new_root": frontier.root_from(nodes, new).hex(),
            "proof": [h.hex() for h in frontier.consistency_from(nodes, old, new)],
        }

    def verify(self, from_head: TreeHead | None = None, *, records: bool = True) -> VerifyReport:
        """Check the whole log; ``records=False`` skips holding each record and release against its leaf
        (the tree, nodes and heads are still checked), for measuring the log alone.

        On a store that can answer the whole-log questions itself (:class:`LogScan`) they are asked
        first, side by side on units that share one snapshot when the store can give them (one asks of
        the records, one of the stored tree, while this thread reads and hashes the leaves); a log that
        passes everything that way is reported clean, and anything else (a "no", or any fault at all) is
        checked again row by row on that same snapshot, which names every fault."""
        with self._store.read() as uow:
            if not records or not isinstance(uow, LogScan):
                return self._checked(uow, None, from_head, records)
            with uow.shared_snapshot(SIDE_BY_SIDE + 1) as units:
                if units:  # everything below reads the one snapshot the units share
                    return self._checked(units[0], _scanned(units[0], units[1:]), from_head, records)
            return self._checked(uow, _scanned(uow), from_head, records)

    def _checked(
        self,
        uow: UnitOfWork,
        found: tuple[MerkleTree, list[Fault]] | None,
        from_head: TreeHead | None,
        records: bool,
    ) -> VerifyReport:
        """The report on what the store answered (``found``) if that is clean, else the exact check's."""
        if found is not None:
            report = self._report(uow, found, from_head)
            if report.ok:
                return report
        checked = _read_all(uow, records)
        if isinstance(checked, VerifyReport):
            return checked
        return self._report(uow, checked, from_head)

    def _report(
        self, uow: UnitOfWork, checked: tuple[MerkleTree, list[Fault]], from_head: TreeHead | None
    ) -> VerifyReport:
        """The report on ``checked`` (the tree and the row faults), with the stored heads held against it."""
        tree, faults = checked
        heads, head_faults = _read_heads(uow)
        faults = faults + head_faults + _head_order_faults(heads, tree.size) + _chain_faults(heads)
        faults += [f for i, h in heads if (f := self._head_fault(h, tree, f"stored head {i + 1}"))]
        if from_head is not None and (f := self._head_fault(from_head, tree, "the head you kept")):
            faults.append(f)
        faults.sort(key=lambda f: (f.leaf is None, f.leaf or 0))
        return VerifyReport(tree.size, len(heads) + len(head_faults), tuple(faults))

    def _head_fault(self, head: TreeHead, tree: MerkleTree, name: str) -> Fault | None:
        if not self._keys.verify(head.key_id, head.signed_bytes(), head.signature):
            return Fault(f"{name} (size {head.size}): its signature does not verify with key {head.key_id}")
        if head.size > tree.size:
            return Fault(
                f"{name} covers {head.size} leaves, but the log has only {tree.size}: leaves were lost",
                tree.size,
            )
        if tree.root(head.size) != head.root_hash:
            return Fault(
                f"{name} (size {head.size}): the log's root at that size differs: some of its "
                f"first {head.size} leaves were rewritten"
            )
        return None


def _read_all(uow: UnitOfWork, records: bool) -> tuple[MerkleTree, list[Fault]] | VerifyReport:
    """The exact whole-log check: every row read, each fault named."""
    try:
        leaves = uow.leaves()
    except StoredRowError as exc:
        what = f"{exc.table} row {exc.row} is malformed and cannot be read: it was edited"
        return VerifyReport(uow.leaf_count(), 0, (Fault(what),))
    faults = _leaf_faults(leaves)
    if records:
        faults += _readable(lambda: _rows_faults(uow, leaves))
        faults += _readable(lambda: _body_faults(uow, leaves))
    tree = MerkleTree.build(leaf_hashes(row.data for row in leaves))
    faults += _readable(lambda: _node_faults(uow, tree))
    return tree, faults


# How many questions verify asks on units of their own, beside the thread that reads and hashes the leaves:
# the records question and the tree question (each a few seconds at a million leaves, all in the database).
SIDE_BY_SIDE = 2


def _scanned(uow: UnitOfWork, helpers: Sequence[UnitOfWork] = ()) -> tuple[MerkleTree, list[Fault]] | None:
    """The whole-log check with the store answering the row-by-row questions (:class:`LogScan`) on the
    same snapshot; None when the store cannot, or when any answer is "no" (the exact check then finds and
    names the fault). Only the leaves that name no record (releases and bodies, few) are read as rows.

    ``helpers`` are units on the very snapshot ``uow`` reads (:meth:`LogScan.shared_snapshot`): given two,
    the records and the tree questions run on them in threads of their own while this one reads and
    hashes the leaves (the database does their work, off the interpreter's lock)."""
    if not isinstance(uow, LogScan) or not uow.schema_as_made():
        return None
    scanners = [h for h in helpers if isinstance(h, LogScan)]
    try:
        if len(scanners) < SIDE_BY_SIDE:
            tree = _leaf_tree(uow)
            if tree is None or uow.tree_levels() != _joined(tree):
                return None
            if not uow.records_match_leaves(journal.RECORD_LEAF_PIECES, journal.LEAF_KINDS):
                return None
        else:
            with ThreadPoolExecutor(SIDE_BY_SIDE, thread_name_prefix="verify") as pool:
                matched = pool.submit(
                    scanners[0].records_match_leaves, journal.RECORD_LEAF_PIECES, journal.LEAF_KINDS
                )
                stored = pool.submit(scanners[1].tree_levels)
                tree = _leaf_tree(uow)
                levels, matches = stored.result(), matched.result()  # both finish before any return
            if tree is None or not matches or levels != _joined(tree):
                return None
        others, releases, outbox = uow.other_leaves(), uow.releases(), list(uow.outbox_digests())
    except StoredRowError:
        return None
    faults = _record_faults(others, (), releases, outbox) + _outbox_faults(releases, outbox)
    return tree, faults + _readable(lambda: _body_faults(uow, others))


def _leaf_tree(uow: LogScan) -> MerkleTree | None:
    """The tree recomputed from every leaf's data, or None if the leaves' indices do not run 0, 1, ...
    Each chunk of leaves is hashed as it comes: only the hashes are held, never all the leaves."""
    chunks = uow.leaf_data()
    if chunks is None:
        return None
    hashes: list[bytes] = []
    for chunk in chunks:
        hashes += leaf_hashes(chunk)
    return MerkleTree.build(hashes)


def _joined(tree: MerkleTree) -> list[bytes]:
    """Each level of ``tree`` as one byte string, as :meth:`LogScan.tree_levels` gives the stored one."""
    return [b"".join(row) for row in tree.export_levels()]


def _leaf_faults(leaves: Sequence[LeafRow]) -> list[Fault]:
    for position, row in enumerate(leaves):
        if row.index != position:
            return [Fault(f"leaf {position} is missing: the stored leaves jump to {row.index}", position)]
    return []


def _readable(check: Callable[[], list[Fault]]) -> list[Fault]:
    """The faults ``check`` finds, or the one row it could not read."""
    try:
        return check()
    except StoredRowError as exc:
        return [Fault(f"{exc.table} row {exc.row} is malformed and cannot be read: it was edited")]


def _release_leaves(releases: Sequence[ReleaseRow], outbox: Sequence[OutboxDigest]) -> dict[str, bytes]:
    payloads = {row.release_seq: row.sha256 for row in outbox}
    return {
        journal.release_ref(r.seq): canonical(journal.release_leaf_of(r, payloads.get(r.seq)))
        for r in releases
    }


def _body_faults(uow: UnitOfWork, leaves: Sequence[LeafRow]) -> list[Fault]:
    """Every stored body has one body leaf with its digest, every body leaf its stored body, and every
    segment row a body kept in segments."""
    proven = {row.ref: row for row in leaves if row.kind == "body"}
    faults: list[Fault] = [
        Fault(f"segment rows of item {item!r} belong to no body kept in segments: they were added")
        for item in uow.stray_segments()
    ]
    for item, sealed in uow.bodies():
        leaf = proven.pop(journal.body_ref(item), None)
        if leaf is None:
            faults.append(Fault(f"item {item!r} has a stored body that no leaf proves"))
        elif leaf.data != canonical(journal.body_json(item, sealed)):
            faults.append(
                Fault(f"the stored body of item {item!r} is not the one leaf {leaf.index} proves", leaf.index)
            )
    for ref, leaf in proven.items():
        faults.append(Fault(f"leaf {leaf.index} proves {ref}, but the store holds no such body", leaf.index))
    return faults


def _rows_faults(uow: UnitOfWork, leaves: Sequence[LeafRow]) -> list[Fault]:
    """The faults of the records, releases and outbox rows, each table read once."""
    texts, releases, outbox = uow.record_texts(), uow.releases(), list(uow.outbox_digests())
    return _record_faults(leaves, texts, releases, outbox) + _outbox_faults(releases, outbox)


def _record_faults(
    leaves: Sequence[LeafRow],
    texts: Sequence[tuple[object, object, object, object]],
    releases: Sequence[ReleaseRow],
    outbox: Sequence[OutboxDigest],
) -> list[Fault]:
    """Every record and release has exactly one leaf, holding exactly its canonical JSON, and vice versa.

    A record's stored text is its data's canonical form, so its leaf is first built from the text as it
    is (no parsing); only a record whose leaf differs is parsed, to tell a malformed row from an edited
    one (or from an equivalent text stored some other way, which is no fault)."""
    by_ref: dict[str, LeafRow] = {}
    faults: list[Fault] = []
    for row in leaves:
        if row.ref in by_ref:
            faults.append(
                Fault(f"leaf {row.index} repeats {row.ref} (already leaf {by_ref[row.ref].index})", row.index)
            )
        by_ref.setdefault(row.ref, row)
    kinds: dict[str, str] = {}
    kind_bytes: dict[object, bytes] = {}
    seen: set[int] = set()
    for seq, kind, key, data in texts:
        if type(seq) is not int:  # an integer primary key in every store: never so unless edited
            faults.append(Fault(f"records row {seq!r} is malformed and cannot be read: it was edited"))
            continue
        ref = journal.record_ref(seq)
        if seq in seen:  # the primary key keeps this from happening, unless it was dropped
            faults.append(Fault(f"records row {seq} appears twice: one was added behind the log's back"))
            continue
        seen.add(seq)
        kinds[ref] = journal.LEAF_KINDS.get(kind, "?") if isinstance(kind, str) else "?"
        found = by_ref.get(ref)
        if found is None:
            faults.append(Fault(f"{ref} has no leaf: it was never logged, or its leaf was deleted"))
            continue
        if type(kind) is str and type(key) is str and type(data) in (bytes, str):
            try:  # a kind, key or text that is not UTF-8 as stored: judged below
                named = kind_bytes.get(kind)
                if named is None:
                    named = kind_bytes[kind] = canonical(kind)
                text = data if type(data) is bytes else str(data).encode("utf-8")
                if found.data == journal.stored_record_leaf(seq, named, key, text):
                    continue
            except (UnicodeEncodeError, LedgerError):
                pass
        fault = _record_fault(seq, kind, key, data, found)
        if fault is not None:
            faults.append(fault)
    for ref, data in _release_leaves(releases, outbox).items():
        kinds[ref] = "release"
        found = by_ref.get(ref)
        if found is None:
            faults.append(Fault(f"{ref} has no leaf: it was never logged, or its leaf was deleted"))
        elif found.data != data:
            faults.append(
                Fault(
                    f"leaf {found.index} does not hold {ref} as stored: one of them was edited", found.index
                )
            )
    for ref, leaf in by_ref.items():
        if ref in kinds and leaf.kind != kinds[ref]:
            faults.append(
                Fault(f"leaf {leaf.index} is labelled {leaf.kind!r}, but {ref} is a {kinds[ref]}", leaf.index)
            )
    for ref, leaf in by_ref.items():
        if ref not in kinds and leaf.kind != "body":
            faults.append(Fault(f"leaf {leaf.index} proves {ref}, which the store does not hold", leaf.index))
    return faults


def _record_fault(seq: int, kind: object, key: object, data: object, leaf: LeafRow) -> Fault | None:
    """Whether a record whose stored text did not give its leaf byte for byte is malformed, differs from
    its leaf, or is the same record stored in an equivalent form (no fault)."""
    ref = journal.record_ref(seq)
    try:
        if not isinstance(data, str | bytes) or not isinstance(kind, str) or not isinstance(key, str):
            raise TypeError("not text")
        if isinstance(data, bytes):
            data = data.decode("utf-8")  # strict: bytes that are not UTF-8 make a malformed row
        parsed = json.loads(data)
        if not isinstance(parsed, dict):
            raise TypeError("not a JSON object")
        expected = canonical(journal.record_json(Record(seq, kind, key, parsed)))
    except (TypeError, ValueError, LedgerError, RecursionError):
        return Fault(f"records row {seq} is malformed and cannot be read: it was edited", leaf.index)
    if leaf.data != expected:
        return Fault(f"leaf {leaf.index} does not hold {ref} as stored: one of them was edited", leaf.index)
    return None


def _outbox_faults(rows: Sequence[ReleaseRow], outbox: Sequence[OutboxDigest]) -> list[Fault]:
    """Every allowed release has exactly one outbox row, to its recipient; a refused one has none."""
    releases = {r.seq: r for r in rows}
    faults: list[Fault] = []
    seen: set[int] = set()
    for row in outbox:
        release = releases.get(row.release_seq)
        if release is None or not release.allowed:
            what = "does not exist" if release is None else "was refused"
            faults.append(Fault(f"an outbox row is queued for release {row.release_seq}, which {what}"))
        elif row.release_seq in seen or row.recipient != release.recipient:
            faults.append(Fault(f"release {row.release_seq} has a second or misaddressed outbox row"))
        seen.add(row.release_seq)
    for seq, release in releases.items():
        if release.allowed and seq not in seen:
            faults.append(Fault(f"allowed release {seq} has no outbox row: its payload was removed"))
    return faults


def _read_heads(uow: UnitOfWork) -> tuple[list[tuple[int, TreeHead]], list[Fault]]:
    heads: list[tuple[int, TreeHead]] = []
    faults: list[Fault] = []
    try:
        stored = uow.heads()
    except StoredRowError as exc:
        return [], [Fault(f"stored head {exc.row} is malformed and cannot be read: it was edited")]
    for i, data in enumerate(stored):
        try:
            heads.append((i, TreeHead.from_dict(data)))
        except (LedgerError, ValueError, TypeError, KeyError) as exc:
            faults.append(Fault(f"stored head {i + 1} is not a well-formed signed head: {exc}"))
    return heads, faults


def _head_order_faults(heads: list[tuple[int, TreeHead]], size: int) -> list[Fault]:
    """Each write signs one head, after the last: sizes strictly grow, and the newest covers the log."""
    faults: list[Fault] = []
    for (_, earlier), (i, later) in itertools.pairwise(heads):
        if later.size <= earlier.size:
            faults.append(
                Fault(
                    f"stored head {i + 1} (size {later.size}) is not after the one before it "
                    f"(size {earlier.size}): heads were removed, reordered or repeated"
                )
            )
    last = heads[-1][1].size if heads else 0
    if size and last != size:
        faults.append(
            Fault(f"the newest signed head covers {last} of {size} leaves: a head was removed", last)
        )
    return faults


def _chain_faults(heads: list[tuple[int, TreeHead]]) -> list[Fault]:
    """Each head names the one signed before it (the first: the empty log), so none is missing or moved."""
    faults: list[Fault] = []
    before: TreeHead | None = None
    for i, head in heads:
        if head.prev is not None:
            named = (0, EMPTY_ROOT) if before is None else (before.size, before.root_hash)
            if head.prev != named:
                faults.append(
                    Fault(
                        f"stored head {i + 1} names a previous head of size {head.prev[0]} that is not the "
                        f"head stored before it: a head was removed or moved"
                    )
                )
        before = head
    return faults


def _node_faults(uow: UnitOfWork, tree: MerkleTree) -> list[Fault]:
    """The stored interior nodes (what proofs are served from) are exactly the recomputed tree's."""
    stored = uow.tree_nodes()  # sorted by (level, index), each (level, index) at most once
    start = 0
    for level, row in enumerate(tree.export_levels()):
        chunk = stored[start : start + len(row)]
        start += len(row)
        if len(chunk) != len(row) or (
            row and (chunk[0][:2] != (level, 0) or chunk[-1][:2] != (level, len(row) - 1))
        ):
            return [Fault(f"the stored tree's level {level} does not have the log's {len(row)} nodes", 0)]
        if [node[2] for node in chunk] != row:
            index = next(i for i, node in enumerate(chunk) if node[2] != row[i])
            return [
                Fault(f"stored tree node ({level}, {index}) differs from the recomputed tree", index << level)
            ]
    if start != len(stored):
        level, index, _ = stored[start]
        return [Fault(f"stored tree node ({level}, {index}) lies outside the log", index << level)]
    return []
