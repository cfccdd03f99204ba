"""Where consent decisions joined a partner's collection is kept in the node's database, beside the
shipments, under one lock with them: a restarted server, or a second server process of the same node,
serves each decision where it was first served and ships every later release after it.

Before, the places lived in the server process's memory: after a restart a decision was placed again and
a release recorded earlier but shipped later could be added behind a place a partner's pull had passed.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from gsomia.bootstrap import Services, compose, open_node_store
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.exchange.bundle import stix_time
from gsomia.exchange.notes import note_kind
from gsomia.peers import consents
from gsomia.services.consent import ConsentRequest
from gsomia.services.ports import ShipmentRow, ShipmentStore
from gsomia.store.memory import MemoryStore
from gsomia.store.shipments import MemoryShipmentStore, SqlShipmentStore
from gsomia.web.node_source import NodeTaxiiSource, collection_id
from gsomia.web.taxii import PageQuery
from tests.contract import pg
from tests.exchange.test_collection_order import _listing
from tests.exchange.test_sync_batches import URL, WORLD, Clock

Stores = Callable[[], ShipmentStore]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Makes shipment stores on one node database, each as a process of its own would open it (a memory
    node has one store)."""
    if request.param == "memory":
        one = MemoryShipmentStore()
        yield lambda: one
        return
    with (
        pg.fresh_schema(pg.server_or_skip())
        if request.param == "postgres"
        else contextlib.nullcontext("") as url
    ):
        url = url or f"sqlite:///{tmp_path / 'n.db'}"
        opened: list[Any] = []

        def make() -> ShipmentStore:
            node = open_node_store(url)
            opened.append(node)
            return SqlShipmentStore(node.engine)  # type: ignore[attr-defined]

        yield make
        for node in opened:
            node.close()


def _row(seq: int, added: str, hop: str = "JPN") -> ShipmentRow:
    return ShipmentRow(seq, hop, added, f"[{seq}]")


def test_a_note_is_placed_once_after_everything_and_later_rows_go_a_millisecond_after_it(stores: Stores):
    first, second = stores(), stores()
    first.add([_row(1, "2024-05-01T09:00:01.000Z"), _row(2, "2024-05-01T09:00:05.000Z", "USA")])
    placed = first.place("JPN", [("note--a", "2024-05-01T08:00:00.000Z")])  # created before row 1
    assert placed.shipped == 1
    assert dict(placed.places) == {"note--a": ("2024-05-01T09:00:01.000Z", 1)}
    # another process (or the same node restarted) sees the same place, and places the next note after it
    again = second.place(
        "JPN", [("note--a", "2030-01-01T00:00:00.000Z"), ("note--b", "2024-05-01T07:00:00.000Z")]
    )
    assert dict(again.places) == {
        "note--a": ("2024-05-01T09:00:01.000Z", 1),
        "note--b": ("2024-05-01T09:00:01.000Z", 2),
    }
    # a release recorded before the notes were placed, shipped after: a millisecond after the newest note
    second.add([_row(3, "2024-05-01T09:00:00.500Z")])
    first.add([_row(4, "2024-05-01T09:00:09.000Z"), _row(5, "2024-05-01T09:00:02.000Z")])
    assert [(r.release_seq, r.added) for r in first.page("JPN", 0, 10)] == [
        (1, "2024-05-01T09:00:01.000Z"),
        (3, "2024-05-01T09:00:01.001Z"),
        (4, "2024-05-01T09:00:09.000Z"),
        (5, "2024-05-01T09:00:09.000Z"),  # never before the row shipped before it
    ]
    assert first.last("USA") == _row(
        2, "2024-05-01T09:00:05.000Z", "USA"
    )  # another partner's order is its own
    later = first.place("JPN", [("note--c", "2024-05-01T09:00:03.000Z")])
    assert later.shipped == 5
    assert later.places["note--c"] == ("2024-05-01T09:00:09.000Z", 3)
    assert second.place("USA", []).places == {}


def test_a_millisecond_after_a_note_crosses_seconds_and_days(stores: Stores):
    store = stores()
    store.place("JPN", [("note--a", "2024-12-31T23:59:59.999Z")])
    store.add([_row(1, "2024-12-31T23:00:00.000Z")])
    assert store.last("JPN").added == "2025-01-01T00:00:00.000Z"  # type: ignore[union-attr]


# -- through the TAXII source: a restart, two server processes --------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def kor_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of KOR's node database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kor.db'}"
        return
    with pg.fresh_schema(pg.server_or_skip()) as url:
        yield url


@pytest.fixture
def kor(kor_url: str, tmp_path: Path) -> Iterator[tuple[Services, Clock, Callable[[], Services]]]:
    """KOR on a SQLite or PostgreSQL node with JPN as its partner; ``opened()`` opens the same node again
    (as another process would: its own store, keys read from the same database, the same clock)."""
    url = kor_url
    clock = Clock()
    keys = NodeKeys.generate()
    settings = Settings.resolve({"node_dir": str(tmp_path / "kor"), "party": "KOR"})
    opened: list[Services] = []

    def open_again() -> Services:
        services = compose(open_node_store(url), keys, settings, clock)
        opened.append(services)
        return services

    first = open_again()
    first.import_world(WORLD)
    jpn = compose(
        MemoryStore(), NodeKeys.generate(), Settings.resolve({"node_dir": str(tmp_path), "party": "JPN"})
    )
    first.partners.add(jpn.partners.own_card(URL))
    first.items.add_item("K-X", "KOR", "KR-II", ["dprk-missile"], body=b"x")
    yield first, clock, open_again
    for services in opened:
        services.close()


@pytest.mark.parametrize("seed", range(6))
def test_two_server_processes_and_restarts_keep_a_collection_growing_only_at_its_end(
    kor: tuple[Services, Clock, Callable[[], Services]], monkeypatch: pytest.MonkeyPatch, seed: int
):
    """Random steps on KOR (releases, decisions, revocations, a release whose batch commits late, clock
    steps), JPN's collection listed after each by one of two server processes of the node, either of
    which may restart: every entry keeps its place, and every new one sorts after all that was there."""
    services, clock, open_again = kor
    monkeypatch.setattr(consents, "stix_now", lambda: stix_time(clock.now))
    rng = random.Random(seed)
    late: list[str] = []  # a release recorded, its batch not yet committed as far as the listings see

    def started(node: Services) -> NodeTaxiiSource:
        """A server process's source, whose listings do not ship a late release until its batch commits."""
        source = NodeTaxiiSource(node)
        catch_up = source._shipping.catch_up
        monkeypatch.setattr(
            source._shipping, "catch_up", lambda party, *a, **k: None if late else catch_up(party, *a, **k)
        )
        return source

    sources = [started(services), started(open_again())]
    before = _listing(sources[0])
    granted: list[str] = []
    kinds: list[str] = []
    for step in range(36):
        clock.now += timedelta(milliseconds=rng.choice([-3000, -1500, -20, 0, 1, 20, 700, 3000]))
        kind = rng.choice(["release", "decision", "decision", "revocation", "late", "restart"])
        if kind == "revocation" and not granted:
            kind = "decision"
        kinds.append(kind)
        if late and kind not in ("decision", "revocation", "late"):
            late.clear()  # the batch commits: listings see it from now on
        if kind in ("release", "late"):
            item = f"K-{step}"
            services.items.add_item(item, "KOR", "KR-II", ["dprk-missile"], body=item.encode())
            assert services.releases.release(item, "JPN", "2019-10-01").decision.allowed
            if kind == "late":
                late.append(item)
        elif kind == "decision":
            cid = f"JPN-C{step}"
            services.consents.request(ConsentRequest(holder="JPN", recipient="USA", item="K-X"), id=cid)
            services.consents.grant(cid)
            granted.append(cid)
        elif kind == "revocation":
            services.consents.revoke(granted.pop(0), date(2019, 12, 1))
        else:
            sources[rng.randrange(2)] = started(open_again())
        source = sources[rng.randrange(2)]
        now = _listing(source)
        newest = max(before.values(), default=None)
        for oid, place in now.items():
            if oid in before:
                assert place == before[oid], f"step {step} ({kind}): {oid} moved"
            else:
                assert newest is None or place > newest, f"step {step} ({kind}): {oid} joined behind"
        before = now
    assert "restart" in kinds
    assert ("late", "decision") in itertools.pairwise(kinds)  # a decision served while one was late


def test_on_sqlite_a_note_waits_for_a_long_write_instead_of_holding_up_the_page(tmp_path: Path):
    """While another process holds SQLite's write lock (a long import, a release sealing a big body),
    placing a new note gives up after a moment: the answer holds what was placed (and the newest release
    shipped) as before, and the note is placed by a later call once the lock is free."""
    url = f"sqlite:///{tmp_path / 'n.db'}"
    node, other = open_node_store(url), open_node_store(url)
    try:
        store = SqlShipmentStore(node.engine)  # type: ignore[attr-defined]
        store.add([_row(1, "2024-05-01T09:00:01.000Z")])
        store.place("JPN", [("note--a", "2024-05-01T09:00:02.000Z")])
        with other.engine.connect() as conn:  # type: ignore[attr-defined]
            driver = conn.connection.dbapi_connection
            driver.execute("BEGIN IMMEDIATE")
            try:
                busy = store.place("JPN", [("note--a", "x"), ("note--b", "2024-05-01T09:00:03.000Z")])
            finally:
                driver.execute("ROLLBACK")
        assert busy.shipped == 1
        assert dict(busy.places) == {"note--a": ("2024-05-01T09:00:02.000Z", 1)}
        free = store.place("JPN", [("note--a", "x"), ("note--b", "2024-05-01T09:00:03.000Z")])
        assert free.places["note--b"] == ("2024-05-01T09:00:03.000Z", 2)
        with node.engine.connect() as conn:  # type: ignore[attr-defined]
            timeouts = {conn.exec_driver_sql("PRAGMA busy_timeout").scalar()}
        assert timeouts == {30_000}  # the pooled connection waits as long as before for other writes
        store.add([_row(2, "2024-05-01T09:00:00.000Z")])
        assert store.last("JPN").added == "2024-05-01T09:00:03.001Z"  # type: ignore[union-attr]
    finally:
        node.close()
        other.close()


def test_a_later_call_adds_no_row_before_the_newest_one(stores: Stores):
    """The floor of a partner's rows holds across calls and processes, not only within one batch."""
    stores().add([_row(1, "2024-05-01T09:00:05.000Z")])
    stores().add([_row(2, "2024-05-01T09:00:01.000Z")])  # recorded earlier (the clock went back)
    assert stores().last("JPN") == _row(2, "2024-05-01T09:00:05.000Z")


def _statuses(entries: list[Any]) -> list[str]:
    """The consent-decision statuses among ``entries``, in order."""
    out = []
    for e in entries:
        if e.type == "note" and note_kind(e.data) == "consent-decision":
            (extension,) = e.data["extensions"].values()
            out.append(extension["consent-decision"]["status"])
    return out


def _decisions(services: Services) -> list[dict[str, Any]]:
    """The signed decisions the node serves JPN now."""
    exchange = services.sync.consents
    partner = services.partners.get("JPN")
    assert exchange is not None
    assert partner is not None
    return exchange.decisions_for(partner)


def _stale_once(
    source: NodeTaxiiSource, stale: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``source``'s next read of the decisions gives ``stale`` (it was made before what followed)."""
    exchange = source.services.sync.consents
    assert exchange is not None
    real = exchange.decisions_for
    calls = [stale]
    monkeypatch.setattr(exchange, "decisions_for", lambda partner: calls.pop() if calls else real(partner))


def test_a_decision_another_process_placed_is_served_before_the_releases_shipped_after_it(
    kor: tuple[Services, Clock, Callable[[], Services]], monkeypatch: pytest.MonkeyPatch
):
    """Server process A read the decisions just before a new one was recorded; B then first served it
    and shipped a release after it. A's next page holds the decision, before that release (serving the
    release without it would carry the partner's position past the decision)."""
    services, clock, open_again = kor
    monkeypatch.setattr(consents, "stix_now", lambda: stix_time(clock.now))
    a, b = NodeTaxiiSource(services), NodeTaxiiSource(open_again())
    stale = _decisions(services)  # none yet
    clock.now += timedelta(seconds=1)
    services.consents.request(ConsentRequest(holder="JPN", recipient="USA", item="K-X"), id="JPN-C1")
    services.consents.grant("JPN-C1")
    b.page(collection_id("JPN"), "JPN", PageQuery())  # B places the decision
    clock.now += timedelta(seconds=1)
    services.items.add_item("K-R", "KOR", "KR-II", ["dprk-missile"], body=b"r")
    assert services.releases.release("K-R", "JPN", "2019-10-01").decision.allowed
    b.prepare()  # K-R shipped by B, after the decision
    _stale_once(a, stale, monkeypatch)
    page = a.page(collection_id("JPN"), "JPN", PageQuery())
    names = [str(e.data.get("name", e.type)) for e in page.entries if e.type in ("report", "note")]
    assert names == ["note", "K-R"]


def test_a_grant_read_before_its_revocation_is_not_served_after_the_revocation(
    kor: tuple[Services, Clock, Callable[[], Services]], monkeypatch: pytest.MonkeyPatch
):
    """A read the decisions (a grant); the consent was revoked and B placed the revocation; A then places
    the grant it read, behind the revocation. A serves only what the node holds now: the revocation
    (served after it, the stale grant would leave the partner holding a consent that was revoked)."""
    services, clock, open_again = kor
    monkeypatch.setattr(consents, "stix_now", lambda: stix_time(clock.now))
    a, b = NodeTaxiiSource(services), NodeTaxiiSource(open_again())
    services.consents.request(ConsentRequest(holder="JPN", recipient="USA", item="K-X"), id="JPN-C1")
    services.consents.grant("JPN-C1")
    stale = _decisions(services)  # the grant
    clock.now += timedelta(seconds=1)
    services.consents.revoke("JPN-C1", date(2019, 12, 1))
    assert _statuses(b.page(collection_id("JPN"), "JPN", PageQuery()).entries) == ["revoked"]
    _stale_once(a, stale, monkeypatch)
    assert _statuses(a.page(collection_id("JPN"), "JPN", PageQuery()).entries) == ["revoked"]
    assert _statuses(a.page(collection_id("JPN"), "JPN", PageQuery()).entries) == ["revoked"]


def test_on_postgresql_a_row_added_while_a_note_is_placed_goes_after_it_whatever_the_isolation():
    """A server whose default isolation is REPEATABLE READ: an add waiting for the lock a placing holds
    still sees that note once it has the lock (its statements run at READ COMMITTED)."""
    with pg.fresh_schema(pg.server_or_skip()) as url:
        parsed = make_url(url)
        options = parsed.query["options"] + " -cdefault_transaction_isolation=repeatable\\ read"
        strict = parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)
        one, two = open_node_store(strict), open_node_store(strict)
        try:
            a = SqlShipmentStore(one.engine)  # type: ignore[attr-defined]
            b = SqlShipmentStore(two.engine)  # type: ignore[attr-defined]
            a.add([_row(1, "2024-05-01T09:00:01.000Z")])
            locked = a._locked_briefly
            holding = threading.Event()

            @contextlib.contextmanager
            def slowly() -> Iterator[Any]:
                with locked() as conn:
                    yield conn
                    holding.set()
                    time.sleep(0.5)  # b's add waits for the lock meanwhile, its transaction already begun

            a._locked_briefly = slowly  # type: ignore[method-assign]
            placing = threading.Thread(
                target=a.place, args=("JPN", [("note--a", "2024-05-01T09:00:05.000Z")])
            )
            placing.start()
            assert holding.wait(10)
            b.add([_row(2, "2024-05-01T09:00:02.000Z")])
            placing.join()
            assert b.last("JPN") == _row(2, "2024-05-01T09:00:05.001Z")
        finally:
            one.close()
            two.close()
