"""What a node serves a partner is built once and kept: pages walk it in release order, ``added_after``
finds what came later, a restart builds nothing again, and only the partner's allowed releases are there.

In-process (no HTTP; test_two_nodes.py covers that), on a memory node, a SQLite node and a PostgreSQL node.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import gsomia
from gsomia.bootstrap import Services, compose, open_node_store
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.services.ports import ShipmentRow
from gsomia.store.memory import MemoryStore
from gsomia.store.shipments import MemoryShipmentStore, SqlShipmentStore
from gsomia.web import shipping
from gsomia.web.node_source import NOTE_SEQ, NodeTaxiiSource, collection_id
from gsomia.web.taxii import Entry, Page, PageQuery
from tests.contract import pg

WORLD = Path(gsomia.__file__).parent / "scenarios" / "korea-japan-2019.yaml"
JPN = collection_id("JPN")


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2024, 5, 1, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=3)
        return self.now


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield ""
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kor.db'}"
    else:
        with pg.fresh_schema(pg.server_or_skip()) as url:
            yield url


@pytest.fixture
def kor(store_url: str, tmp_path: Path) -> Iterator[Services]:
    settings = Settings.resolve({"node_dir": str(tmp_path / "kor"), "party": "KOR"})
    store = MemoryStore() if not store_url else open_node_store(store_url)
    services = compose(store, NodeKeys.generate(), settings, Clock())
    services.import_world(WORLD)
    jpn = compose(
        MemoryStore(), NodeKeys.generate(), Settings.resolve({"node_dir": str(tmp_path), "party": "JPN"})
    )
    services.partners.add(jpn.partners.own_card())
    yield services
    services.close()


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The release numbers of the bundles built from now on, in order."""
    numbers: list[int] = []
    real = shipping.build_bundle

    def counted(shipment: Any, *args: Any, **options: Any) -> dict[str, Any]:
        numbers.append(shipment.release_seq)
        return real(shipment, *args, **options)

    monkeypatch.setattr(shipping, "build_bundle", counted)
    return numbers


def release(kor: Services, *items: str, to: str = "JPN", level: str = "KR-II") -> None:
    for item in items:
        kor.items.add_item(item, "KOR", level, ["dprk-missile"], body=f"body of {item}".encode())
        kor.releases.release(item, to, "2019-10-01")


def everything(source: NodeTaxiiSource, **query: Any) -> Page:
    page = source.page(JPN, "JPN", PageQuery(**query))
    assert not page.more
    return page


def reports(page: Page) -> list[str]:
    return [str(e.data["name"]) for e in page.entries if e.type == "report"]


def test_bundles_are_built_once_and_a_restarted_server_serves_them_as_kept(kor, built):
    release(kor, "K-1", "K-2", "K-3")
    first = everything(NodeTaxiiSource(kor))
    again = everything(NodeTaxiiSource(kor))  # a new server process over the same node
    assert sorted(built) == [1, 2, 3]
    assert [e.data for e in again.entries] == [e.data for e in first.entries]  # the same sealed bodies
    assert reports(first) == ["K-1", "K-2", "K-3"]


def test_pages_walk_every_object_once_in_release_order_the_shared_ones_first(kor):
    release(kor, *(f"K-{n}" for n in range(25)))
    source = NodeTaxiiSource(kor)
    whole = everything(source)
    assert [e.type for e in whole.entries[:3]] == ["identity", "extension-definition", "identity"]
    assert len(whole.entries) == 3 + 25 * 3
    walked, after = [], None
    while True:
        page = source.page(JPN, "JPN", PageQuery(after=after, limit=7))
        walked += page.entries
        if not page.more:
            break
        after = page.entries[-1].cursor
    assert [e.id for e in walked] == [e.id for e in whole.entries]
    assert [e.cursor for e in walked] == sorted(e.cursor for e in walked)


def test_added_after_serves_only_the_releases_added_later(kor):
    release(kor, "K-1", "K-2")
    source = NodeTaxiiSource(kor)
    last = everything(source).entries[-1].date_added
    release(kor, "K-3", "K-4", "K-5")
    later = everything(source, added_after=last)
    assert reports(later) == ["K-3", "K-4", "K-5"]
    assert {e.type for e in later.entries} == {"marking-definition", "report", "artifact"}  # no shared ones


def test_refusals_and_releases_to_others_are_not_in_the_partners_collection(kor):
    release(kor, "K-OK")
    release(kor, "K-TOP", level="KR-I")  # refused: above the agreement's ceiling
    release(kor, "K-USA", to="USA")
    assert reports(everything(NodeTaxiiSource(kor))) == ["K-OK"]


def test_a_release_made_before_the_partner_was_added_is_served_once_it_is(tmp_path):
    settings = Settings.resolve({"node_dir": str(tmp_path / "kor"), "party": "KOR"})
    kor = compose(MemoryStore(), NodeKeys.generate(), settings, Clock())
    kor.import_world(WORLD)
    release(kor, "K-EARLY")
    source = NodeTaxiiSource(kor)
    assert everything(source).entries == []
    jpn = compose(
        MemoryStore(), NodeKeys.generate(), Settings.resolve({"node_dir": str(tmp_path), "party": "JPN"})
    )
    kor.partners.add(jpn.partners.own_card())
    assert reports(everything(source)) == ["K-EARLY"]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def shipment_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryShipmentStore()
        return
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'n.db'}"
        else:
            url = stack.enter_context(pg.fresh_schema(pg.server_or_skip()))
        node = open_node_store(url)
        stack.callback(node.close)
        yield SqlShipmentStore(node.engine)  # type: ignore[attr-defined]


def test_the_shipment_stores_keep_the_first_row_of_a_release_and_page_by_release(shipment_store):
    store = shipment_store
    rows = [
        ShipmentRow(seq, "JPN" if seq % 2 else "USA", f"2024-05-01T09:00:0{seq}.000Z", f"[{seq}]")
        for seq in range(1, 8)
    ]
    store.add(rows[:4])
    store.add(rows[3:])  # release 4 again
    store.add(
        [ShipmentRow(1, "JPN", "2030-01-01T00:00:00.000Z", "[]")]
    )  # release 1 again: kept as first made
    assert [r.release_seq for r in store.page("JPN", 0, 10)] == [1, 3, 5, 7]
    assert store.page("JPN", 0, 1)[0].objects == "[1]"
    assert [r.release_seq for r in store.page("JPN", 4, 1)] == [5]
    assert store.last("USA").release_seq == 6
    assert store.last("KOR") is None
    assert store.first_at("JPN", "2024-05-01T09:00:04.000Z") == 5
    assert store.first_at("JPN", "2024-05-01T09:00:08.000Z") is None
    # a page's rows counted without reading them, up to a bound
    assert [store.count("JPN", start, 10) for start in (0, 1, 2, 5, 7, 8)] == [4, 4, 3, 2, 1, 0]
    assert store.count("JPN", 0, 3) == 3
    assert store.count("USA", 3, 10) == 2
    assert store.count("KOR", 0, 10) == 0


def test_a_server_builds_bundles_before_the_partner_asks(kor, built):
    source = NodeTaxiiSource(kor)
    stop = threading.Event()
    worker = threading.Thread(target=source.prepare_forever, kwargs={"every": 0.01, "stop": stop})
    worker.start()
    try:
        release(kor, "K-1", "K-2")
        for _ in range(1000):  # the background round builds them (at most 10 s)
            if len(built) == 2:
                break
            time.sleep(0.01)
    finally:
        stop.set()
        worker.join()
    assert sorted(built) == [1, 2]
    assert reports(everything(source)) == ["K-1", "K-2"]
    assert sorted(built) == [1, 2]  # the page built nothing more


def _walk(source: NodeTaxiiSource, limit: int) -> list[Any]:
    walked, after = [], None
    while True:
        page = source.page(JPN, "JPN", PageQuery(after=after, limit=limit))
        walked += page.entries
        if not page.more:
            return walked
        after = page.position


def test_a_note_made_after_a_release_is_walked_after_it_in_small_pages(kor, built, monkeypatch):
    """A consent decision made after a release is served after that release, not before it (a partner
    keeps the greatest date_added it was served as its cursor, so a release served after a later note
    would never reach it), with releases to USA in between and pages of six objects."""
    release(kor, "K-0", "K-1", "K-2")
    release(kor, *(f"U-{n}" for n in range(6)), to="USA")
    release(kor, "K-3", "K-4", "K-5")
    source = NodeTaxiiSource(kor)
    with kor.store.read() as uow:
        times = {r.item: r.recorded for r in uow.releases(0, 100)}
    stamp = datetime.fromisoformat(times["K-4"]).astimezone(UTC) + timedelta(microseconds=1500)
    note = Entry("note--1", "note", stamp, stamp, NOTE_SEQ, {"id": "note--1", "type": "note"})
    shipments = source._shipping.shipments
    monkeypatch.setattr(source, "_notes", lambda party: (shipments.place(party, []).shipped, [note]))
    walked = _walk(source, 6)
    assert [e.cursor for e in walked] == sorted(e.cursor for e in walked)
    names = [str(e.data.get("name", e.id)) for e in walked if e.type in ("report", "note")]
    assert names == ["K-0", "K-1", "K-2", "K-3", "K-4", "note--1", "K-5"]
