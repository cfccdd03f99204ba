"""A pull as a pipeline: the serving node builds bundles while the puller takes the pages it has, and the
puller sends each chunk's receipts while it takes the next.

- a page is served once it can be full, not after every pending bundle is built; the pages of a pull are
  each full but the last, and together serve what one page of everything built would, in its order;
- a page that is not full ends a pull only once nothing is left to build: releases withheld when served,
  filters on type, a poll from a ``date_added`` shared by several releases, a cursor on a consent decision;
- the background builder gives way to a request waiting for the source between its steps, then goes on;
- receipts go out chunk by chunk, in order; a push that fails stops those after it and fails the sync,
  and a sync that fails does not wait for the pushes still queued;
- a partner that never answers fails the pull after the client's timeout instead of holding it.
"""

from __future__ import annotations

import builtins
import socket
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from gsomia.domain import engine
from gsomia.domain.errors import GsomiaError
from gsomia.web import client, node_source
from gsomia.web.node_source import NOTE_SEQ, NodeTaxiiSource, collection_id
from gsomia.web.taxii import Cursor, Page, PageQuery, format_timestamp, parse_timestamp
from tests.exchange.test_sync_batches import Pair
from tests.exchange.test_sync_batches import chunks_taken as chunks_taken  # a fixture
from tests.exchange.test_sync_batches import pair as pair  # the fixture

COLLECTION = collection_id("JPN")


def _ids(page: Page) -> list[str]:
    return [e.id for e in page.entries]


def _pages(source: NodeTaxiiSource, limit: int, **asked: Any) -> list[Page]:
    """Every page of a pull of ``limit`` objects a page (with the filters ``asked``), each after the last."""
    pages = [source.page(COLLECTION, "JPN", PageQuery(limit=limit, **asked))]
    while pages[-1].more:
        query = PageQuery(after=pages[-1].position, limit=limit, **asked)
        pages.append(source.page(COLLECTION, "JPN", query))
    return pages


def _a_millisecond_then_twelve(pair: Pair, prefix: str) -> tuple[NodeTaxiiSource, datetime]:
    """Three releases recorded in one millisecond and served (that millisecond is returned), then twelve
    more of which the builder made two before giving way."""
    pair.clock.step = timedelta(0)
    pair.release("K-A", "K-B", "K-C")
    pair.clock.step = timedelta(milliseconds=5)
    source = NodeTaxiiSource(pair.kor)
    at = source.page(COLLECTION, "JPN", PageQuery(limit=1000)).entries[-1].date_added
    pair.release(*(f"{prefix}-{n}" for n in range(12)))
    source._shipping.catch_up("JPN", lambda: True, step=2)
    return source, at


@pytest.fixture(autouse=True)
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps of a few releases (a hundred at least in use), so that a dozen releases take several."""
    monkeypatch.setattr(node_source, "BUILD_STEP", 2)


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
            return False  # the builder's second step: its round ends here
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
    assert not asking[0].is_alive()
    # the page went between the builder's two steps (it may build in more than one step of its own)
    assert [kind for n, kind in enumerate(order) if n == 0 or kind != order[n - 1]] == [
        "builder",
        "page",
        "builder",
    ]
    assert [e.id for e in source.page(COLLECTION, "JPN", PageQuery()).entries][-1].startswith("artifact--")


def _withheld(monkeypatch: pytest.MonkeyPatch, seqs: set[int]) -> None:
    """Releases ``seqs`` withheld when served (as after a termination back-dated by a correction)."""
    served = NodeTaxiiSource._served

    def some(self: NodeTaxiiSource, rows: Any, party: str) -> Any:
        return [row for row in served(self, rows, party) if row.release_seq not in seqs]

    monkeypatch.setattr(NodeTaxiiSource, "_served", some)


def _served_ids(pages: list[Page]) -> list[str]:
    return [oid for p in pages for oid in _ids(p)]


def test_releases_withheld_on_the_first_page_do_not_end_the_pull_early(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    pair.release(*(f"K-H-{n}" for n in range(12)))
    _withheld(monkeypatch, {1, 2, 3, 4})
    pages = _pages(NodeTaxiiSource(pair.kor), 9)
    assert all(len(p.entries) == 9 for p in pages[:-1])
    everything = NodeTaxiiSource(pair.kor)
    everything.prepare()
    assert _served_ids(pages) == _ids(everything.page(COLLECTION, "JPN", PageQuery(limit=1000)))
    assert len(_served_ids(pages)) == 3 + 8 * 3


def test_a_pull_filtered_by_type_gets_every_match(pair: Pair):
    pair.release(*(f"K-T-{n}" for n in range(12)))
    pages = _pages(NodeTaxiiSource(pair.kor), 9, types=frozenset({"report"}))
    assert len(_served_ids(pages)) == 12


def test_a_poll_from_a_date_added_gets_every_release_recorded_before_it(pair: Pair):
    """Three releases share a millisecond; a poll from that ``date_added`` (strictly after it) must not
    stop short while later releases are still to be built."""
    source, last = _a_millisecond_then_twelve(pair, "K-D")
    assert len(_served_ids(_pages(source, 9, added_after=last))) == 12 * 3


def test_a_cursor_on_a_consent_decision_does_not_end_the_pull_early(pair: Pair):
    source, at = _a_millisecond_then_twelve(pair, "K-N")
    page = source.page(COLLECTION, "JPN", PageQuery(after=Cursor(at, NOTE_SEQ + 1), limit=9))
    assert (len(page.entries), page.more) == (9, True)


def test_a_sync_takes_everything_in_one_go_when_some_releases_are_withheld(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    pair.release(*(f"K-S-{n}" for n in range(400)))
    _withheld(monkeypatch, {1, 2, 3})
    source = NodeTaxiiSource(pair.kor)  # one server, pages of 1,000 as gsomia sync asks

    def pull(
        url: str, party: str, token: str, added_after: str | None = None
    ) -> tuple[list[Any], str | None]:
        since = None if added_after is None else parse_timestamp(added_after)
        page = source.page(COLLECTION, party, PageQuery(limit=1000, added_after=since))
        objects = [dict(e.data) for e in page.entries]
        while page.more:
            page = source.page(
                COLLECTION, party, PageQuery(after=page.position, limit=1000, added_after=since)
            )
            objects += [dict(e.data) for e in page.entries]
        return objects, format_timestamp(page.entries[-1].date_added) if page.entries else None

    assert len(pair.jpn.sync.run(pull)) == 397
    assert [r for r in pair.jpn.sync.run(pull) if r.new] == []


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


def test_a_failed_pull_does_not_wait_for_the_pushes_still_queued(pair: Pair, chunks_taken: list[int]):
    pair.release(*(f"K-Q-{n}" for n in range(6)))
    first = NodeTaxiiSource(pair.kor).page(COLLECTION, "JPN", PageQuery(limit=12))  # 3 shared, 3 releases
    answered = threading.Event()

    class Broken:
        last = None

        def __iter__(self) -> Any:
            yield [dict(e.data) for e in first.entries]
            raise GsomiaError("cannot pull from http://kor.invalid: connection reset")

    def slow(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        answered.wait(10)  # a partner slow to answer

    began = time.monotonic()
    with pytest.raises(GsomiaError, match="connection reset"):
        pair.jpn.sync.run(lambda *args: Broken(), push=slow)
    assert time.monotonic() - began < 5
    answered.set()
    assert chunks_taken == [2]
    assert len(pair.received()) == 2  # what was taken before the failure is on record


def test_a_partner_that_never_answers_fails_the_pull_after_the_timeout(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(client, "TIMEOUT_S", 0.5)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections accepted by the kernel, never answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        began = time.monotonic()
        with pytest.raises(GsomiaError, match=f"cannot pull from {url}"):
            client.pull(url, "JPN", "token")
        with pytest.raises(GsomiaError, match=f"cannot send receipts to {url}"):
            client.push(url, "JPN", "token", [{"type": "note"}])
        assert time.monotonic() - began < 8


def test_a_pull_asks_a_smaller_first_page_then_full_pages_whatever_the_server_serves():
    asked: list[tuple[int, str | None]] = []
    served = iter([(600, True), (150, True), (1000, True), (3, False)])  # a server that caps one page

    def get_objects(limit: int, next: str | None = None, **filters: str) -> dict[str, Any]:
        asked.append((limit, next))
        assert filters == {"added_after": "2024-05-01T09:00:00.000Z"}
        count, more = builtins.next(served)
        envelope: dict[str, Any] = {"objects": [{"n": n} for n in range(count)], "more": more}
        return envelope | ({"next": f"page-{len(asked)}"} if more else {})

    pages = list(client._envelopes(get_objects, {"added_after": "2024-05-01T09:00:00.000Z"}, "http://kor"))
    assert [len(p["objects"]) for p in pages] == [600, 150, 1000, 3]
    first, page = client.FIRST_PAGE, client.PAGE
    assert asked == [(first, None), (page, "page-1"), (page, "page-2"), (page, "page-3")]


def test_a_partner_refusing_every_push_still_gets_everything_taken_then_the_sync_fails(
    pair: Pair, chunks_taken: list[int]
):
    pair.release(*(f"K-X-{n}" for n in range(9)))
    tried: list[int] = []

    def refused(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        tried.append(len(notes))
        raise GsomiaError("KOR refused 2 receipt(s): the signature does not verify")

    with pytest.raises(GsomiaError, match="refused"):
        pair.jpn.sync.run(pair.pull, push=refused)
    assert chunks_taken == [2, 2, 2, 2, 1]  # the pull went on to its end
    assert len(pair.received()) == 9
    assert len(tried) == 1  # nothing pushed after the first refusal
    assert pair.cursors() == []


def test_a_short_page_over_many_withheld_releases_is_made_at_most_twice(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    pair.release(*(f"K-M-{n}" for n in range(60)))
    _withheld(monkeypatch, set(range(1, 59)))  # all but the last two
    source = NodeTaxiiSource(pair.kor)
    made: list[int] = []
    compose = source._page

    def counted(*args: Any) -> Page:
        page = compose(*args)
        made.append(len(page.entries))
        return page

    monkeypatch.setattr(source, "_page", counted)
    page = source.page(COLLECTION, "JPN", PageQuery(limit=9))
    assert len(made) <= 2
    assert (len(page.entries), page.more) == (3 + 2 * 3, False)


def test_a_page_served_from_bundles_made_before_does_not_wake_the_builder(pair: Pair):
    pair.release(*(f"K-Z-{n}" for n in range(8)))
    source = NodeTaxiiSource(pair.kor)
    source.prepare()
    source._wake.clear()
    assert source.page(COLLECTION, "JPN", PageQuery(limit=9)).more
    assert not source._wake.is_set()
    pair.release(*(f"K-Y-{n}" for n in range(8)))  # the next page needs new ones: made, the rest woken for
    source.page(COLLECTION, "JPN", PageQuery(limit=60))
    assert source._shipping.shipments.count("JPN", 0, 100) == 16


def test_the_builder_stops_between_steps_when_told(pair: Pair, monkeypatch: pytest.MonkeyPatch):
    pair.release(*(f"K-B-{n}" for n in range(10)))
    source = NodeTaxiiSource(pair.kor)
    stop = threading.Event()
    catch_up = source._shipping.catch_up
    steps: list[int] = []

    def step(party: str, enough: Any = None, step: int = 0) -> bool:
        steps.append(step)
        stop.set()  # told to stop during its first step
        return catch_up(party, enough, step)

    monkeypatch.setattr(source._shipping, "catch_up", step)
    source.prepare(stop)
    assert len(steps) == 1
    assert source._shipping.shipments.count("JPN", 0, 100) == 2  # one step of two releases


def test_abandoned_pushes_end_their_thread_even_with_a_full_queue():
    from gsomia.peers.pushing import Pushing

    going = threading.Event()
    sent: list[int] = []

    def slow(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        going.wait(5)
        sent.append(len(notes))

    pushing = Pushing(slow, "http://kor.invalid", "JPN", "t")
    for n in range(1, 4):  # one under way, two waiting: the queue is full
        pushing.send([{"n": n}] * n)
    pushing.abandon()
    going.set()
    pushing._thread.join(timeout=5)
    assert not pushing._thread.is_alive()
    assert sent == [1]  # the push under way ended; none of those waiting went out


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        ([{"objects": [{}], "more": True}], "gave no new next token"),
        ([{"objects": [{}], "more": True, "next": "a"}] * 2, "gave no new next token"),
        ([{"objects": [], "more": True, "next": f"t{n}"} for n in range(200)], "100 empty pages in a row"),
    ],
)
def test_a_server_going_round_in_circles_stops_the_pull(answers: list[dict[str, Any]], why: str):
    served = iter(answers)

    def get_objects(limit: int, next: str | None = None, **filters: str) -> dict[str, Any]:
        return builtins.next(served)

    with pytest.raises(GsomiaError, match=why):
        list(client._envelopes(get_objects, {}, "http://kor.invalid"))


def test_the_receiver_decides_a_plain_bundle_from_its_compiled_world_and_a_refused_one_by_the_rules(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    """Taking a bundle decides it with the receiver's own world: from its compiled index (memoised per
    item class) when that allows it by the bundle's route, else rule by rule, whose reasons the
    quarantine names."""
    pair.release(*(f"K-E-{n}" for n in range(4)))
    worked_out: list[str] = []
    decide = engine.decide

    def counted(facts: Any, item: Any, *args: Any) -> Any:
        worked_out.append(item.id)
        return decide(facts, item, *args)

    monkeypatch.setattr(engine, "decide", counted)
    taken = pair.jpn.sync.run(pair.pull)
    assert [(r.status, r.marking) for r in taken] == [("accepted", "JP-GOKUHI")] * 4
    assert worked_out == []
    # JPN's copy of the agreements narrows the GSOMIA to naval matters before the release: refused,
    # with the engine's reasons
    pair.jpn.events.add_event("KOR-JPN-GSOMIA", "amend", "2019-09-01", scope=["naval"])
    pair.release("K-E-5")
    refused = [r for r in pair.jpn.sync.run(pair.pull) if r.new]
    assert [r.status for r in refused] == ["quarantined"]
    assert "this node's agreements do not allow KOR to send K-E-5 to JPN by KOR → JPN" in refused[0].reason
    assert worked_out == ["K-E-5"]
