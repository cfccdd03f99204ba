"""The store contract (services.ports), proved the same way on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gsomia.services.ports import SealedBody, Store, UnitOfWork

BODY = SealedBody(wrapped_key=b"\x01" * 40, nonce=b"\x02" * 12, ciphertext=b"\x00\xffsealed\x00")
OTHER_BODY = SealedBody(wrapped_key=b"\x03" * 40, nonce=b"\x04" * 12, ciphertext=b"other")
MARKINGS: dict[str, Any] = {
    "marking": "군사II급비밀",
    "recipient_marking": "極秘",
    "levels": ["군사III급비밀", "秘", "特定秘密"],
    "nested": {"ok": True, "none": None, "n": 3, "x": 0.5, "emoji": "🔒", "quote": '"\\'},
    "한국어 키": "値",
}
DECISION = {"allowed": True, "route": ["KOR", "JPN"], "marking": "JP-GOKUHI", "reasons": [MARKINGS]}


class UnitFailedError(Exception):
    """Raised inside a unit of work to make it fail."""


def fail_after(store: Store, work: Callable[[UnitOfWork], object]) -> None:
    """Open a unit, do ``work`` in it, then raise before it can commit."""
    with store.begin() as uow:
        work(uow)
        raise UnitFailedError


def release(uow: UnitOfWork, item: str = "KOR-0001", allowed: bool = True) -> int:
    row = uow.add_release(item, "JPN", "KOR", "2019-11-22", allowed, DECISION, "2025-01-02T03:04:05Z")
    return row.seq


def fill_every_table(uow: UnitOfWork) -> None:
    """Append one row of every kind."""
    uow.add_record("party", "KOR", {"id": "KOR", "name": "Republic of Korea"})
    uow.put_body("KOR-0001", BODY)
    uow.add_outbox(release(uow), "JPN", BODY)
    uow.append_leaf("release", "release:1", b'{"seq":1}')
    uow.add_tree_nodes([(0, 0, b"\x11" * 32)])
    uow.add_head({"size": 1, "root": "ab", "signature": "cd"})


def snapshot(uow: UnitOfWork) -> tuple[object, ...]:
    """Everything a store holds, as comparable values."""
    return (
        uow.records(),
        uow.get_body("KOR-0001"),
        uow.releases(),
        uow.outbox(),
        uow.leaves(),
        uow.leaf_count(),
        uow.tree_nodes(),
        uow.heads(),
    )


def test_a_world_record_is_appended_and_read_back_whole(store: Store):
    """A record comes back with its number, kind, key and data."""
    with store.begin() as uow:
        written = uow.add_record("party", "KOR", {"id": "KOR", "levels": ["KR-III", "KR-II"]})
    with store.read() as uow:
        assert uow.records() == (written,)
    assert written.seq == 1
    assert written.data == {"id": "KOR", "levels": ["KR-III", "KR-II"]}


def test_records_come_back_in_order_numbered_from_one_without_gaps(store: Store):
    """Records from several units are numbered 1..n in the order they were committed."""
    for batch in range(3):
        with store.begin() as uow:
            for i in range(4):
                uow.add_record("event", f"E{batch}-{i}", {"n": batch * 4 + i})
    with store.read() as uow:
        records = uow.records()
    assert [r.seq for r in records] == list(range(1, 13))
    assert [r.data["n"] for r in records] == list(range(12))


def test_a_sealed_body_is_stored_and_read_back_byte_for_byte(store: Store):
    """A body's wrapped key, nonce and ciphertext come back exactly, NUL bytes included."""
    with store.begin() as uow:
        uow.put_body("KOR-0001", BODY)
    with store.read() as uow:
        assert uow.get_body("KOR-0001") == BODY
        assert uow.get_body("KOR-9999") is None


def test_a_body_can_never_be_replaced(store: Store):
    """Putting a second body for the same item is refused, and the first one stays."""
    with store.begin() as uow:
        uow.put_body("KOR-0001", BODY)
    with pytest.raises(KeyError, match="never replaced"), store.begin() as uow:
        uow.put_body("KOR-0001", OTHER_BODY)
    with store.read() as uow:
        assert uow.get_body("KOR-0001") == BODY


def test_a_release_and_its_outbox_row_round_trip(store: Store):
    """A release keeps every field and its whole decision; its outbox row keeps the sealed payload."""
    with store.begin() as uow:
        row = uow.add_release("KOR-0001", "JPN", "USA", "2019-11-22", True, DECISION, "2025-01-02T03:04:05Z")
        out = uow.add_outbox(row.seq, "JPN", BODY)
        refusal = uow.add_release("KOR-0002", "USA", "KOR", "2019-11-23", False, {"allowed": False}, "t")
    with store.read() as uow:
        assert uow.releases() == (row, refusal)
        assert uow.outbox() == (out,)
    assert (row.seq, row.holder, row.allowed, row.decision) == (1, "USA", True, DECISION)
    assert (refusal.seq, refusal.allowed) == (2, False)


def test_an_outbox_row_needs_a_recorded_release(store: Store):
    """An outbox row for a release that does not exist is refused."""
    with pytest.raises(KeyError, match="no release 7"), store.begin() as uow:
        uow.add_outbox(7, "JPN", BODY)


def test_releases_are_numbered_from_one_in_commit_order(store: Store):
    """Releases from separate units get 1, 2, 3... in the order they committed."""
    for n in range(5):
        with store.begin() as uow:
            assert release(uow, item=f"ITEM-{n}") == n + 1
    with store.read() as uow:
        assert [(r.seq, r.item) for r in uow.releases()] == [(n + 1, f"ITEM-{n}") for n in range(5)]


def test_leaves_are_numbered_from_zero_contiguously_across_units(store: Store):
    """Leaf indices run 0..n-1 with no gap, whichever unit appended them."""
    for batch in range(3):
        with store.begin() as uow:
            assert uow.leaf_count() == batch * 3
            for i in range(3):
                uow.append_leaf("event", f"record:{batch * 3 + i}", bytes([batch, i, 0]))
    with store.read() as uow:
        leaves = uow.leaves()
        assert uow.leaf_count() == 9
    assert [leaf.index for leaf in leaves] == list(range(9))
    assert leaves[4].data == b"\x01\x01\x00"
    assert leaves[4].ref == "record:4"


@pytest.mark.parametrize(
    ("start", "stop"), [(0, None), (2, 5), (5, 2), (3, None), (0, 100), (-3, None), (2, -2), (10, 12)]
)
def test_a_window_of_leaves_reads_like_a_list_slice(store: Store, start: int, stop: int | None):
    """``leaves(start, stop)`` returns what ``list[start:stop]`` would, negative bounds included."""
    with store.begin() as uow:
        written = [uow.append_leaf("event", f"record:{i}", bytes([i])) for i in range(8)]
    with store.read() as uow:
        assert list(uow.leaves(start, stop)) == written[start:stop]


def test_tree_nodes_come_back_sorted_by_level_then_index(store: Store):
    """Stored subtree hashes come back as (level, index, hash), ordered by level and index."""
    nodes = [(1, 0, b"\x0a" * 32), (0, 1, b"\x01" * 32), (0, 0, b"\x00" * 32), (2, 0, b"\x20" * 32)]
    with store.begin() as uow:
        uow.add_tree_nodes(nodes[:2])
    with store.begin() as uow:
        uow.add_tree_nodes(nodes[2:])
    with store.read() as uow:
        assert list(uow.tree_nodes()) == sorted(nodes)


def test_adding_a_tree_node_again_with_the_same_hash_changes_nothing(store: Store):
    """A node already stored with that hash may be handed in again; nothing is duplicated."""
    with store.begin() as uow:
        uow.add_tree_nodes([(0, 0, b"\x00" * 32)])
    with store.begin() as uow:
        uow.add_tree_nodes([(0, 0, b"\x00" * 32), (0, 1, b"\x01" * 32)])
    with store.read() as uow:
        assert list(uow.tree_nodes()) == [(0, 0, b"\x00" * 32), (0, 1, b"\x01" * 32)]


def test_a_tree_node_cannot_be_given_another_hash(store: Store):
    """The tree only grows: restating a stored node with a different hash is refused."""
    with store.begin() as uow:
        uow.add_tree_nodes([(0, 0, b"\x00" * 32)])
    with pytest.raises(ValueError, match="another hash"), store.begin() as uow:
        uow.add_tree_nodes([(0, 0, b"\xff" * 32)])
    with store.read() as uow:
        assert list(uow.tree_nodes()) == [(0, 0, b"\x00" * 32)]


def test_signed_tree_heads_come_back_oldest_first(store: Store):
    """Heads are kept in the order they were issued, each equal to what was written."""
    heads = [{"size": n, "root": f"{n:064x}", "signature": "c2ln", "key_id": "node-1"} for n in (1, 2, 4)]
    for head in heads:
        with store.begin() as uow:
            uow.add_head(head)
    with store.read() as uow:
        assert list(uow.heads()) == heads


def test_json_with_national_markings_round_trips_exactly(store: Store):
    """Records, decisions and heads holding 군사II급비밀 or 極秘 read back equal to what was written."""
    with store.begin() as uow:
        record = uow.add_record("item", "KOR-0001", MARKINGS)
        row = uow.add_release("KOR-0001", "JPN", "KOR", "2019-11-22", True, MARKINGS, "t")
        uow.add_head(MARKINGS)
    assert record.data == MARKINGS
    assert row.decision == MARKINGS
    with store.read() as uow:
        assert uow.records()[0].data == MARKINGS
        assert uow.releases()[0].decision == MARKINGS
        assert uow.heads() == (MARKINGS,)


def test_what_is_stored_does_not_change_when_the_caller_mutates_its_dict(store: Store):
    """A store keeps a copy: editing the dict after writing it does not edit history."""
    data: dict[str, Any] = {"levels": ["KR-II"]}
    with store.begin() as uow:
        uow.add_record("party", "KOR", data)
    data["levels"].append("KR-I")
    with store.read() as uow:
        assert uow.records()[0].data == {"levels": ["KR-II"]}


def test_a_unit_of_work_that_raises_leaves_nothing_in_any_table(store: Store):
    """A unit that fails after writing every kind of row leaves the store exactly as empty as before."""
    with store.read() as uow:
        before = snapshot(uow)
    with pytest.raises(UnitFailedError):
        fail_after(store, fill_every_table)
    with store.read() as uow:
        assert snapshot(uow) == before
        assert uow.leaf_count() == 0


def test_a_failed_unit_keeps_earlier_commits_and_numbering_goes_on_without_a_gap(store: Store):
    """After a failed unit, committed rows stay and the next rows continue the numbering where it stood."""
    with store.begin() as uow:
        fill_every_table(uow)
    with store.read() as uow:
        committed = snapshot(uow)

    def lost(uow: UnitOfWork) -> None:
        uow.add_record("party", "JPN", {})
        release(uow, item="KOR-0002")
        uow.append_leaf("release", "release:2", b"lost")

    with pytest.raises(UnitFailedError):
        fail_after(store, lost)
    with store.read() as uow:
        assert snapshot(uow) == committed
    with store.begin() as uow:
        assert uow.add_record("party", "USA", {}).seq == 2
        assert release(uow, item="KOR-0003") == 2
        assert uow.append_leaf("release", "release:2", b"kept").index == 1


WRITES: dict[str, Callable[[UnitOfWork], object]] = {
    "add_record": lambda uow: uow.add_record("party", "KOR", {}),
    "put_body": lambda uow: uow.put_body("KOR-0001", BODY),
    "add_release": release,
    "add_outbox": lambda uow: uow.add_outbox(1, "JPN", BODY),
    "append_leaf": lambda uow: uow.append_leaf("event", "record:1", b"x"),
    "add_tree_nodes": lambda uow: uow.add_tree_nodes([(0, 0, b"\x00" * 32)]),
    "add_head": lambda uow: uow.add_head({"size": 0}),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_read_only_unit_cannot_write(store: Store, write: Callable[[UnitOfWork], object]):
    """Every append method refuses inside ``store.read()``, and nothing is written."""
    with store.begin() as uow:
        release(uow)
    with store.read() as uow:
        before = snapshot(uow)
        with pytest.raises(PermissionError, match="read-only"):
            write(uow)
    with store.read() as uow:
        assert snapshot(uow) == before


def test_a_unit_sees_its_own_writes_before_it_commits(store: Store):
    """Inside one unit, what was appended is already readable (counts and numbering included)."""
    with store.begin() as uow:
        fill_every_table(uow)
        assert uow.get_body("KOR-0001") == BODY
        assert [r.key for r in uow.records()] == ["KOR"]
        assert len(uow.releases()) == len(uow.outbox()) == 1
        assert uow.leaf_count() == 1
        assert uow.append_leaf("event", "record:1", b"y").index == 1


def test_many_leaves_appended_at_once_are_numbered_like_single_appends(store: Store):
    """``append_leaves`` continues the numbering, keeps order, and mixes with ``append_leaf``."""
    with store.begin() as uow:
        first = uow.append_leaf("event", "record:1", b"a")
        batch = uow.append_leaves([("event", f"record:{n}", bytes([n])) for n in range(2, 6)])
        last = uow.append_leaf("event", "record:6", b"z")
        assert uow.append_leaves([]) == ()
    with store.read() as uow:
        assert list(uow.leaves()) == [first, *batch, last]
    assert [leaf.index for leaf in (first, *batch, last)] == list(range(6))


def test_a_thread_cannot_open_a_second_write_unit_inside_its_first(store: Store):
    """Nesting ``begin()`` in one thread is a clear error, not a deadlock; the outer unit still commits."""
    with store.begin() as uow:
        uow.add_record("party", "KOR", {})
        with pytest.raises(RuntimeError, match="already has a unit of work open"), store.begin():
            pass
    with store.read() as uow:
        assert len(uow.records()) == 1
