"""A push's status is kept in the node's database, so every server worker of the node can answer for it.

A partner pushes receipts, consent requests or incident reports to one worker and may read the status back
from another: here two TAXII sources over two independently opened stores of one node (what two ``gsomia
serve`` workers are), on SQLite and PostgreSQL, and two sources over one memory node. Only the party that
pushed reads a status; the node keeps the newest statuses and drops older ones; and a node made before
statuses were kept (migration 0005) gains their table when it is opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

import gsomia
from gsomia.bootstrap import Services, compose, open_node_store
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.services.ports import Store
from gsomia.store import open_store
from gsomia.store import schema as s
from gsomia.store.memory import MemoryStore
from gsomia.store.sql import SqlStore, alembic_config
from gsomia.store.statuses import (
    MemoryStatusStore,
    SqlStatusStore,
    StatusRow,
    StatusStore,
    status_store_for,
)
from gsomia.web.node_source import NodeTaxiiSource, _status_data, _status_info, collection_id
from gsomia.web.taxii import StatusDetail, StatusInfo
from tests.contract import pg

WORLD = Path(gsomia.__file__).parent / "scenarios" / "korea-japan-2019.yaml"
JPN = collection_id("JPN")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield ""
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kor.db'}"
    else:
        with pg.fresh_schema(pg.server_or_skip()) as url:
            yield url


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kor.db'}"
    else:
        with pg.fresh_schema(pg.server_or_skip()) as url:
            yield url


@dataclass
class Node:
    """A node with JPN as its partner, and a way to start another worker over it."""

    services: Services
    url: str
    keys: NodeKeys
    settings: Settings
    opened: list[Services]

    def worker(self) -> NodeTaxiiSource:
        """A TAXII source as another worker has it: its own store (its own connections) on the same node;
        on a memory node, a source of its own over the one store."""
        if not self.url:
            return NodeTaxiiSource(self.services)
        services = compose(open_node_store(self.url), self.keys, self.settings)
        self.opened.append(services)
        return NodeTaxiiSource(services)


@contextmanager
def kor_node(url: str, tmp_path: Path) -> Iterator[Node]:
    settings = Settings.resolve({"node_dir": str(tmp_path / "kor"), "party": "KOR"})
    keys = NodeKeys.generate()
    services = compose(MemoryStore() if not url else open_node_store(url), keys, settings)
    services.import_world(WORLD)
    for party in ("JPN", "USA"):
        other = Settings.resolve({"node_dir": str(tmp_path / party), "party": party})
        services.partners.add(compose(MemoryStore(), NodeKeys.generate(), other).partners.own_card())
    node = Node(services, url, keys, settings, [])
    try:
        yield node
    finally:
        for opened in node.opened:
            opened.close()
        services.close()


@pytest.fixture
def kor(store_url: str, tmp_path: Path) -> Iterator[Node]:
    with kor_node(store_url, tmp_path) as node:
        yield node


def not_a_receipt(n: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2024-06-01T00:00:00.000Z",
        "modified": "2024-06-01T00:00:00.000Z",
    }


def push(source: NodeTaxiiSource, *numbers: int) -> StatusInfo:
    return source.accept(JPN, "JPN", {"objects": [not_a_receipt(n) for n in numbers]})


# ------------------------------------------------------------------------------- through the TAXII source


def test_a_status_pushed_through_one_worker_is_read_through_another(kor: Node) -> None:
    one, other = kor.worker(), kor.worker()
    status = push(one, 1, 2)
    assert [d.id for d in status.failures] == [not_a_receipt(1)["id"], not_a_receipt(2)["id"]]
    assert "not a receipt" in status.failures[0].message
    assert other.status(status.id, "JPN") == status
    assert one.status(status.id, "JPN") == status


def test_only_the_party_that_pushed_reads_its_status(kor: Node) -> None:
    one, other = kor.worker(), kor.worker()
    status = push(one, 3)
    assert other.status(status.id, "USA") is None
    assert other.status(status.id, "KOR") is None
    assert other.status("00000000-0000-4000-8000-000000000000", "JPN") is None
    assert other.status(status.id, "JPN") is not None


def test_every_push_has_its_own_status(kor: Node) -> None:
    one, other = kor.worker(), kor.worker()
    first, second = push(one, 4), push(other, 5)
    assert first.id != second.id
    assert one.status(second.id, "JPN") == second
    assert other.status(first.id, "JPN") == first


def test_a_status_reads_back_as_it_was_made_every_field_kept() -> None:
    status = StatusInfo(
        "6f1c2d7e-0000-4000-8000-000000000001",
        "pending",
        datetime(2024, 6, 1, 12, 30, 45, 123456, tzinfo=UTC),
        (StatusDetail("note--1", "2024-06-01T00:00:00.000Z"),),
        (StatusDetail("indicator--2", "", "군사II급비밀: not a receipt"),),
        (StatusDetail("note--3", "2024-06-02T00:00:00.000Z", "waiting"),),
        7,
    )
    assert _status_info(_status_data(status)) == status
    bare = StatusInfo("6f1c2d7e-0000-4000-8000-000000000002", "complete")
    assert _status_info(_status_data(bare)) == bare


# --------------------------------------------------------------------------------------- the status store


@pytest.fixture
def stores(store_url: str) -> Iterator[Callable[..., StatusStore]]:
    """Status stores on one node, each opened on its own (``keep``/``prune_every`` as a test sets them)."""
    opened: list[Store] = []
    memory = MemoryStore()

    def make(keep: int | None = None, prune_every: int = 1) -> StatusStore:
        """The node's status store as :func:`status_store_for` picks it, or one keeping ``keep``."""
        if not store_url:
            return status_store_for(memory) if keep is None else MemoryStatusStore(keep=keep)
        store = open_store(store_url)
        opened.append(store)
        assert isinstance(store, SqlStore)
        if keep is None:
            return status_store_for(store)
        return SqlStatusStore(store.engine, keep=keep, prune_every=prune_every)

    yield make
    for store in opened:
        store.close()


def row(n: int, party: str = "JPN") -> StatusRow:
    return StatusRow(f"status-{n}", party, {"id": f"status-{n}", "status": "complete", "n": n})


def test_stores_on_one_node_share_their_statuses_and_keep_them_to_their_party(
    stores: Callable[..., StatusStore],
) -> None:
    one, other = stores(), stores()
    one.add(row(1))
    other.add(row(2, "USA"))
    assert other.get("status-1", "JPN") == row(1)
    assert one.get("status-2", "USA") == row(2, "USA")
    assert other.get("status-1", "USA") is None
    assert one.get("status-2", "JPN") is None
    assert one.get("status-3", "JPN") is None


def test_the_newest_statuses_are_kept_and_older_ones_dropped(
    store_url: str, stores: Callable[..., StatusStore]
) -> None:
    store = stores(keep=3)
    for n in range(1, 8):
        store.add(row(n))
    assert [n for n in range(1, 8) if store.get(f"status-{n}", "JPN") is not None] == [5, 6, 7]
    if store_url:  # the rows are gone from the table, not just unread
        check = open_store(store_url)
        assert isinstance(check, SqlStore)
        try:
            assert kept_ids(check) == ["status-5", "status-6", "status-7"]
        finally:
            check.close()


def test_a_sql_store_prunes_once_per_prune_every_pushes_and_never_drops_the_newest(sql_url: str) -> None:
    store = open_store(sql_url)
    assert isinstance(store, SqlStore)
    try:
        statuses = SqlStatusStore(store.engine, keep=3, prune_every=2)
        for n in range(1, 8):
            statuses.add(row(n))
        left = kept_ids(store)
        assert {"status-5", "status-6", "status-7"} <= set(left)
        assert not {"status-1", "status-2", "status-3"} & set(left)
        assert len(left) <= 3 + 2 - 1
    finally:
        store.close()


def test_a_sql_store_refuses_nonsense_limits(sql_url: str) -> None:
    store = open_store(sql_url)
    assert isinstance(store, SqlStore)
    try:
        with pytest.raises(ValueError, match="at least 1"):
            SqlStatusStore(store.engine, keep=0)
    finally:
        store.close()


def kept_ids(store: SqlStore) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(s.push_statuses.c.id).order_by(s.push_statuses.c.seq)).scalars())


# ------------------------------------------------------------------------------------------ the migration


def test_a_node_made_before_statuses_were_kept_gains_their_table_when_opened(
    sql_url: str, tmp_path: Path
) -> None:
    with kor_node(sql_url, tmp_path) as node:
        node.services.items.add_item("K-1", "KOR", "KR-II", ["dprk-missile"], body=b"body of K-1")
        node.services.releases.release("K-1", "JPN", "2019-10-01")
        NodeTaxiiSource(node.services).prepare()  # a shipment row in the 0005 table
        raw = open_store(sql_url)
        assert isinstance(raw, SqlStore)
        try:
            with raw.engine.begin() as conn:
                command.downgrade(alembic_config(conn), "0005_shipments")
            assert "push_statuses" not in inspect(raw.engine).get_table_names()
            with raw.engine.connect() as conn:
                shipped = conn.execute(select(s.shipments.c.release_seq)).scalars().all()
            assert shipped == [1]
        finally:
            raw.close()

        one, other = node.worker(), node.worker()  # opening the node brings it to the newest migration
        status = push(one, 9)
        assert other.status(status.id, "JPN") == status
        reopened = open_store(sql_url)
        assert isinstance(reopened, SqlStore)
        try:
            with reopened.engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), s.metadata) == []
                assert conn.execute(select(s.shipments.c.release_seq)).scalars().all() == [1]
        finally:
            reopened.close()
