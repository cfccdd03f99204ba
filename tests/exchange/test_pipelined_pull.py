"""A pull as a pipeline: the serving node builds bundles while the puller takes the pages it has, and the
puller sends each chunk's receipts while it takes the next.

- a page is served once it can be full, not after every pending bundle is built; the pages of a pull are
  each full but the last, and together serve what one page of everything built would, in its order;
- the background builder gives way to a request waiting for the source between its steps;
- receipts go out chunk by chunk, in order; a push that fails stops those after it and fails the sync.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from gsomia.domain.errors import GsomiaError
from gsomia.web.node_source import NodeTaxiiSource, collection_id
from gsomia.web.taxii import Page, PageQuery
from tests.exchange.test_sync_batches import Pair
from tests.exchange.test_sync_batches import chunks_taken as chunks_taken  # a fixture
from tests.exchange.test_sync_batches import pair as pair  # the fixture

COLLECTION = collection_id("JPN")


def _ids(page: Page) -> list[str]:
    return [e.id for e in page.entries]


def _pages(source: NodeTaxiiSource, limit: int) -> list[Page]:
    pages = [source.page(COLLECTION, "JPN", PageQuery(limit=limit))]
    while pages[-1].more:
        pages.append(source.page(COLLECTION, "JPN", PageQuery(after=pages[-1].position, limit=limit)))
    return pages


def test_a_page_is_served_once_it_can_be_full_and_the_pages_serve_everything_in_order(pair: Pair):
    pair.release(*(f"K-P-{n}" for n in range(12)))
    source = NodeTaxiiSource(pair.kor)
    shipments = source._shipping.shipments
    first = source.page(COLLECTION, "JPN", PageQuery(limit=9))
    assert (len(first.entries), first.more) == (9, True)
    assert shipments.count("JPN", 0, 100) < 12  # served before the last bundles were built

    pages = [first, *_pages(source, 9)[1:]]
    assert all(len(p.entries) == 9 for p in pages[:-1])  # a short page only at the end
    assert not pages[-1].more
    served = [oid for p in pages for oid in _ids(p)]
    assert shipments.count("JPN", 0, 100) == 12

    everything = NodeTaxiiSource(pair.kor).page(COLLECTION, "JPN", PageQuery(limit=1000))
    assert not everything.more
    assert served == _ids(everything)
    assert len(served) == len(set(served)) == 3 + 12 * 3  # the shared objects, then three a release


def test_the_background_builder_gives_way_to_a_waiting_request(pair: Pair, monkeypatch: pytest.MonkeyPatch):
    """The builder looks at a hundred releases a step; between two steps, a page waiting for the source
    goes first (and builds what it needs), instead of waiting for the builder's whole round."""
    pair.release(*(f"K-W-{n}" for n in range(3)))
    source = NodeTaxiiSource(pair.kor)
    catch_up = source._shipping.catch_up
    order: list[str] = []
    asking: list[threading.Thread] = []
    builder = threading.get_ident()  # prepare() runs on this thread, the page on another

    def step(party: str, enough: Any = None, step: int = 0) -> bool:
        if threading.get_ident() != builder:  # the page's own building
            order.append("page")
            return catch_up(party, enough, step) if step else catch_up(party)
        order.append("builder")
        if asking:
            return False  # a second step: the builder did not give way
        page = threading.Thread(target=source.page, args=(COLLECTION, "JPN", PageQuery(limit=30)))
        asking.append(page)
        page.start()
        for _ in range(500):  # until the page waits for the source
            if source._asking:
                break
            time.sleep(0.01)
        return True  # as if more releases were left to look at

    monkeypatch.setattr(source._shipping, "catch_up", step)
    source.prepare()
    asking[0].join(timeout=10)
    assert order == ["builder", "page"]


def test_receipts_go_out_chunk_by_chunk_in_order(pair: Pair, chunks_taken: list[int]):
    ids = [f"K-R-{n}" for n in range(5)]
    pair.release(*ids)
    pushes: list[list[dict[str, Any]]] = []
    threads: set[str] = set()

    def push(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        threads.add(threading.current_thread().name)
        pushes.append(list(notes))

    taken = pair.jpn.sync.run(pair.pull, push=push)
    assert chunks_taken == [2, 2, 1]
    assert [len(p) for p in pushes] == [2, 2, 1]  # each chunk's receipts as it was taken
    assert threads == {"gsomia-push"}
    receipts = [n for p in pushes for n in p]
    assert len(receipts) == 5
    partner = pair.kor.partners.get("JPN")
    assert partner is not None
    assert pair.kor.sync.take_receipts(receipts, partner) == [None] * 5
    assert sorted(r["bundle"] for r in pair.kor.sync.receipts()) == sorted(r.bundle for r in taken)


def test_a_failed_push_stops_the_pushes_after_it_and_fails_the_sync(pair: Pair, chunks_taken: list[int]):
    pair.release(*(f"K-F-{n}" for n in range(5)))
    tried: list[int] = []

    def down(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        tried.append(len(notes))
        time.sleep(0.05)  # the sync takes its next chunks meanwhile
        raise GsomiaError("the partner's server is down")

    with pytest.raises(GsomiaError, match="down"):
        pair.jpn.sync.run(pair.pull, push=down)
    assert tried == [2]  # nothing was pushed after the failure
    assert len(pair.received()) == 5  # what was taken is on record
    assert pair.cursors() == []  # no cursor kept: the next sync pulls it all again
    again = pair.jpn.sync.run(pair.pull, push=lambda *args: None)
    assert [r.new for r in again] == [False] * 5
