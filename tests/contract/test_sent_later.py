"""A SQL write unit sends its small inserts (and PostgreSQL's writer lock) with its next read or at its end,
not one round trip each (gsomia.store.unit): what it reads still includes what it wrote, nothing it wrote is
lost, and an insert the database refuses fails the unit, never passes unseen."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from gsomia.services.ports import SealedBody
from gsomia.store.sql import SqlStore
from gsomia.store.unit import LATER_BYTES, LATER_ROWS, SqlUnitOfWork
from tests.contract.writers import one_release

REFUSED = (sqlite3.Error, psycopg.Error)  # what either driver raises for a statement the database refuses


def committed_releases(store: SqlStore) -> list[int]:
    with store.read() as uow:
        return [r.seq for r in uow.releases()]


def test_a_unit_reads_what_it_wrote_before_it_was_sent(sql_store: SqlStore):
    """Rows written and not yet sent are seen by the unit's own reads, by either read path (SQLAlchemy's
    and the driver's own cursor), and all of them are committed when the unit ends."""
    with sql_store.begin() as uow:
        seq = one_release(uow, 1, 1)
        assert [leaf.ref for leaf in uow.leaves_by_ref([f"release:{seq}"])] == [f"release:{seq}"]  # driver
        second = one_release(uow, 1, 2)
        assert [r.seq for r in uow.releases()] == [seq, second]  # through SQLAlchemy
        uow.add_head({"size": 2})
    assert committed_releases(sql_store) == [1, 2]
    with sql_store.read() as uow:
        assert len(uow.outbox()) == 2
        assert [leaf.ref for leaf in uow.leaves()] == ["release:1", "release:2"]
        assert uow.latest_head() == (1, {"size": 2})


def test_the_last_writes_of_a_unit_that_reads_nothing_after_them_are_committed(sql_store: SqlStore):
    """A unit whose last act is a write (nothing read after it) still commits it: the store sends what
    waits before the commit."""
    with sql_store.begin() as uow:
        uow.add_head({"size": 0})
    with sql_store.read() as uow:
        assert uow.latest_head() == (1, {"size": 0})


def release_then_refused_insert(store: SqlStore) -> None:
    with store.begin() as uow:
        one_release(uow, 1, 1)
        assert isinstance(uow, SqlUnitOfWork)
        uow._insert_raw("INSERT INTO heads (seq, data) VALUES ({}, {})", [(1, None)])  # data is NOT NULL


def refused_insert_then_read(store: SqlStore) -> None:
    with store.begin() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        uow._insert_raw("INSERT INTO no_such_table (a) VALUES ({})", [(1,)])
        uow.item_records(["KOR-0001"])  # the driver's read path, the one with SQLite's lenient retry


def test_an_insert_the_database_refuses_fails_the_unit_and_keeps_nothing(sql_store: SqlStore):
    """A refused insert sent at the unit's end still fails it, and the rows sent with it are rolled back."""
    with pytest.raises(REFUSED):
        release_then_refused_insert(sql_store)
    assert committed_releases(sql_store) == []


def test_a_refused_insert_sent_with_a_read_fails_that_read(sql_store: SqlStore):
    """An insert refused when it travels with a read fails the read, never yields the read's rows as if it
    had gone in. On SQLite a read that cannot decode text is made again leniently: an insert's own
    OperationalError (here: no such table) must not be taken for that and dropped."""
    with pytest.raises(REFUSED):
        refused_insert_then_read(sql_store)
    assert committed_releases(sql_store) == []


def test_a_big_batch_is_sent_at_once_not_held(sql_store: SqlStore):
    """An import's batch (more than LATER_ROWS rows) goes to the database when it is given: waiting rows
    never pile up in memory across batches."""
    entries = [("item", f"I-{n}", {"n": n}) for n in range(LATER_ROWS + 1)]
    with sql_store.begin() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        uow.add_records(entries)
        assert uow._later == []
        uow.add_record("item", "small", {})
        assert len(uow._later) == 1  # a small one waits for the next read
    with sql_store.read() as uow:
        assert len(uow.records()) == LATER_ROWS + 2


def test_waiting_blobs_are_sent_once_they_pass_a_megabyte(sql_store: SqlStore):
    """Outbox payloads (sealed bodies, up to the body cap each) wait only while they are small together:
    a unit releasing many long bodies never holds more than about LATER_BYTES of them unsent."""
    with sql_store.begin() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        seq = one_release(uow, 1, 1)
        uow.flush()  # nothing waits before the payloads
        payload = SealedBody(b"k" * 40, b"n" * 12, b"x" * (LATER_BYTES // 2))
        uow.add_outbox(seq, "JPN", payload)
        assert len(uow._later) == 1  # half a megabyte waits
        uow.add_outbox(seq, "JPN", payload)
        assert uow._later == []  # a megabyte and more: sent
