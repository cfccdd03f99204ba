"""A partner's collection only grows at its end: whatever joins it (a release shipped late, a consent
decision first served, after the clock stepped back or forward) sorts after every entry already there,
so no pull that has reached a position ever misses what is added behind it.

Consent decisions are dated when a server first serves them and releases when they were recorded; a
release still being recorded while a page holding a decision is served (a ``release-many`` batch of more
than a second) used to sort behind that decision, and a pull that also took a release a second newer
never asked for it again. The first test is that case end to end; the second walks random mixes of
releases, decisions, late commits and clock steps and checks the order after every step.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from gsomia.exchange.bundle import stix_time
from gsomia.exchange.errors import ExchangeError
from gsomia.peers import consents
from gsomia.services.consent import ConsentRequest
from gsomia.web import shipping
from gsomia.web.node_source import NodeTaxiiSource, collection_id
from gsomia.web.taxii import Cursor, PageQuery, format_timestamp, parse_timestamp
from tests.exchange.test_sync_batches import Pair, _push_to
from tests.exchange.test_sync_batches import pair as pair  # the fixture


class TwoPages:
    """A pull from one long-lived source (as ``gsomia serve``): the first page ends just after the first
    decision, and ``between`` runs before the second page is asked for."""

    def __init__(self, source: NodeTaxiiSource, added_after: str | None, between: Callable[[], None]):
        self.source, self.between = source, between
        self.added_after = None if added_after is None else parse_timestamp(added_after)
        self.last: str | None = None

    def _page(self, **query: Any) -> Any:
        page = self.source.page(collection_id("JPN"), "JPN", PageQuery(added_after=self.added_after, **query))
        if page.entries:
            newest = max(e.date_added for e in page.entries)
            self.last = format_timestamp(max(newest, parse_timestamp(self.last)) if self.last else newest)
        return page

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        probe = self.source.page(collection_id("JPN"), "JPN", PageQuery(added_after=self.added_after))
        cut = next(n for n, e in enumerate(probe.entries) if e.type == "note") + 1
        first = self._page(limit=cut)
        assert first.more
        yield [dict(e.data) for e in first.entries]
        self.between()
        yield [dict(e.data) for e in self._page(after=first.position).entries]


def test_a_release_committed_after_a_page_with_a_decision_is_taken_by_a_later_incremental_pull(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    """K-2 is recorded before KOR's first page of a pull serves a consent decision, and committed only
    after it; the same pull then takes K-3, two seconds newer. K-2 is shipped after the decision, so the
    pull's second page holds it (it used to sort behind the decision, and no later pull asked for it)."""
    monkeypatch.setattr(consents, "stix_now", lambda: stix_time(pair.clock.now))
    push = _push_to(pair)
    pair.release("K-X")
    pair.jpn.sync.run(pair.pull, push=push)
    for asked in ("C71", "C72"):
        pair.jpn.consents.request(ConsentRequest(holder="JPN", recipient="USA", item="K-X"), id=asked)
    pair.jpn.sync.run(pair.pull, push=push)
    pair.kor.consents.grant("JPN-C71")
    pair.kor.consents.grant("JPN-C72")
    source = NodeTaxiiSource(pair.kor)
    pair.release("K-2")  # recorded now; its batch commits only after the first page is made:
    catch_up = source._shipping.catch_up
    monkeypatch.setattr(
        source._shipping, "catch_up", lambda party, *_, **__: None
    )  # that page does not see it
    pair.clock.now += timedelta(milliseconds=50)

    def between() -> None:
        monkeypatch.setattr(source._shipping, "catch_up", catch_up)  # committed now
        pair.clock.now += timedelta(seconds=2)
        pair.release("K-3")

    taken = pair.jpn.sync.run(
        lambda url, party, token, since=None: TwoPages(source, since, between), push=push
    )
    assert [(r.item, r.new) for r in taken if r.new] == [("K-2", True), ("K-3", True)]
    for _ in range(2):
        pair.clock.now += timedelta(seconds=1)
        pair.jpn.sync.run(pair.pull, push=push)
    assert {"K-2", "K-3"} <= pair.items()
    assert {pair.jpn.consents.get(c).status for c in ("C71", "C72")} == {"granted"}


def _listing(source: NodeTaxiiSource) -> dict[tuple[str, int], Cursor]:
    """JPN's whole collection as KOR's source serves it now: (object id, its n-th time in it) -> its
    place (bundles with the same label carry the same marking definition)."""
    page = source.page(collection_id("JPN"), "JPN", PageQuery(limit=100_000))
    assert not page.more
    seen: dict[str, int] = {}
    out = {}
    for e in page.entries:
        seen[e.id] = seen.get(e.id, -1) + 1
        out[(e.id, seen[e.id])] = e.cursor
    return out


@pytest.mark.parametrize("seed", range(8))
def test_whatever_joins_a_partners_collection_sorts_after_everything_already_in_it(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, seed: int
):
    """Random steps on KOR (releases to JPN, consent decisions for JPN, revocations, a release whose
    commit the listings do not see until a later step, the clock stepping back or forward up to three
    seconds), JPN's collection listed after each: every entry kept its place, and every new one sorts
    after all that was there. A late release stays unseen through the decisions that follow it, so
    decisions are first served while it is still being recorded."""
    monkeypatch.setattr(consents, "stix_now", lambda: stix_time(pair.clock.now))
    rng = random.Random(seed)
    pair.kor.items.add_item("K-X", "KOR", "KR-II", ["dprk-missile"], body=b"x")
    source = NodeTaxiiSource(pair.kor)
    catch_up = source._shipping.catch_up
    before = _listing(source)
    granted: list[str] = []
    seen: list[tuple[str, str]] = []  # (step kind, the kind before it)
    hidden = False  # a late release is recorded but not yet seen by the listings
    for step in range(40):
        pair.clock.now += timedelta(milliseconds=rng.choice([-3000, -1500, -20, 0, 1, 20, 700, 3000]))
        kind = rng.choice(["release", "decision", "decision", "revocation", "late"])
        if kind == "revocation" and not granted:
            kind = "decision"
        seen.append((kind, seen[-1][0] if seen else ""))
        if kind in ("release", "late"):
            pair.release(f"K-{step}")
        elif kind == "decision":
            cid = f"JPN-C{step}"
            pair.kor.consents.request(ConsentRequest(holder="JPN", recipient="USA", item="K-X"), id=cid)
            pair.kor.consents.grant(cid)
            granted.append(cid)
        else:
            pair.kor.consents.revoke(granted.pop(0), date(2019, 12, 1))
        # a late release's batch commits only after the listings of the decisions that follow it
        hidden = kind == "late" or (hidden and kind in ("decision", "revocation"))
        monkeypatch.setattr(
            source._shipping, "catch_up", (lambda party, *_, **__: None) if hidden else catch_up
        )
        now = _listing(source)
        newest = max(before.values(), default=None)
        for oid, place in now.items():
            if oid in before:
                assert place == before[oid], f"step {step} ({kind}): {oid} moved"
            else:
                assert newest is None or place > newest, f"step {step} ({kind}): {oid} joined behind"
        before = now
    assert ("decision", "late") in seen  # a decision first served while a release was being recorded
    assert {"release", "revocation"} <= {kind for kind, _ in seen}


def test_a_page_does_not_serve_a_release_shipped_after_its_notes_were_taken(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    """While one page for JPN reads its releases, another request for JPN first serves a new decision
    and the background builder ships a release after it. The first page must not serve that release
    without the decision (its position would lie past the decision, and no page after it would hold
    it): the release and the decision both come after the first page's position."""
    monkeypatch.setattr(consents, "stix_now", lambda: stix_time(pair.clock.now))
    pair.release("K-X")
    source = NodeTaxiiSource(pair.kor)
    source.page(collection_id("JPN"), "JPN", PageQuery())  # K-X shipped
    store = source._shipping.shipments
    read = store.page
    meanwhile: list[bool] = []

    def page(next_hop: str, start: int, limit: int) -> Any:
        if limit > 1 and not meanwhile:  # the first page's read of its releases
            meanwhile.append(True)
            pair.kor.consents.request(ConsentRequest(holder="JPN", recipient="USA", item="K-X"), id="JPN-C9")
            pair.kor.consents.grant("JPN-C9")
            pair.clock.now += timedelta(milliseconds=10)
            source.page(collection_id("JPN"), "JPN", PageQuery(limit=1))  # the decision first served
            pair.clock.now += timedelta(seconds=2)
            pair.release("K-R")
            source.prepare()  # K-R shipped, after the decision
        return read(next_hop, start, limit)

    monkeypatch.setattr(store, "page", page)
    first = source.page(collection_id("JPN"), "JPN", PageQuery())
    monkeypatch.setattr(store, "page", read)
    assert meanwhile
    after = source.page(collection_id("JPN"), "JPN", PageQuery(after=first.position))
    names = [str(e.data.get("name", e.type)) for e in after.entries if e.type in ("report", "note")]
    assert names == ["note", "K-R"]


def test_a_release_carrying_more_consents_than_its_places_hold_is_refused_by_name(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    """Each release's objects take places below the next release's in the collection's order; a release
    that would carry more consents than fit is refused, named, instead of overlapping its neighbour."""
    monkeypatch.setattr(shipping, "MAX_PLACES", shipping.NOTE_PLACE + 1)
    monkeypatch.setattr(
        shipping.Shipping,
        "_vouching",
        lambda self, rows, party: {r.seq: [{"id": "a"}, {"id": "b"}] for r in rows},
    )
    pair.release("K-X")
    with pytest.raises(ExchangeError, match=r"release \d+ would carry 2 consents; at most 1 fit"):
        NodeTaxiiSource(pair.kor).page(collection_id("JPN"), "JPN", PageQuery())
