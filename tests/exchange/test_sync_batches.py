"""Receiving in chunks, at the services' level: two memory nodes (KOR serving, JPN pulling) in-process.

KOR's collection for JPN is read from its NodeTaxiiSource (what `gsomia serve` serves), by a pull that
filters on ``added_after`` and reports the greatest ``date_added`` served, as the TAXII client does from
the ``X-TAXII-Date-Added-Last`` headers. The HTTP path itself is covered by test_two_nodes.py.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
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
from gsomia.domain.errors import GsomiaError
from gsomia.exchange.bundle import EXTENSION_ID, stix_time
from gsomia.peers import consents, intake
from gsomia.peers.intake import Intake
from gsomia.services import journal
from gsomia.services.consent import ConsentRequest
from gsomia.store.memory import MemoryStore
from gsomia.web.node_source import NodeTaxiiSource, collection_id
from gsomia.web.taxii import PageQuery, format_timestamp, parse_timestamp
from tests.contract import pg

WORLD = Path(gsomia.__file__).parent / "scenarios" / "korea-japan-2019.yaml"
URL = "http://kor.invalid"


@dataclass
class Clock:
    """KOR's clock: a release's recorded time is its ``date_added`` in the collection."""

    now: datetime = field(default_factory=lambda: datetime(2024, 5, 1, 9, 0, tzinfo=UTC))
    step: timedelta = timedelta(milliseconds=5)  # how far it moves at every reading

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


@dataclass
class Pair:
    kor: Services
    jpn: Services
    clock: Clock
    asked: list[str | None] = field(default_factory=list)  # the added_after of each pull

    def release(self, *ids: str) -> None:
        for item in ids:
            self.kor.items.add_item(item, "KOR", "KR-II", ["dprk-missile"], body=f"body of {item}".encode())
            assert self.kor.releases.release(item, "JPN", "2019-10-01").decision.allowed

    def pull(
        self, url: str, party: str, token: str, added_after: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """KOR's collection for ``party`` as its TAXII server serves it."""
        assert (url, party) == (URL, "JPN")
        assert self.kor.partners.authenticate(party, token) == "JPN"
        self.asked.append(added_after)
        after = None if added_after is None else parse_timestamp(added_after)
        page = NodeTaxiiSource(self.kor).page(collection_id(party), party, PageQuery(added_after=after))
        assert not page.more
        last = format_timestamp(page.entries[-1].date_added) if page.entries else None
        return [dict(e.data) for e in page.entries], last

    def received(self) -> list[str]:
        """The keys of JPN's ``received`` records, in order (a key twice would be a bundle taken twice)."""
        with self.jpn.store.read() as uow:
            return [r.key for r in uow.item_records_page(0, 10_000, kind="received")]

    def items(self) -> set[str]:
        with self.jpn.store.read() as uow:
            return {r.key for r in uow.item_records_page(0, 10_000)}

    def cursors(self) -> list[dict[str, Any]]:
        with self.jpn.store.read() as uow:
            return [dict(r.data) for r in uow.item_records(["KOR"], kind="pull-cursor")]


def _node(tmp: Path, party: str, clock: Clock | None = None) -> Services:
    settings = Settings.resolve({"node_dir": str(tmp / party.lower()), "party": party})
    services = (
        compose(MemoryStore(), NodeKeys.generate(), settings)
        if clock is None
        else compose(MemoryStore(), NodeKeys.generate(), settings, clock)
    )
    services.import_world(WORLD)
    return services


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    clock = Clock()
    kor, jpn = _node(tmp_path, "KOR", clock), _node(tmp_path, "JPN")
    token = kor.partners.add(jpn.partners.own_card()).token
    jpn.partners.add(kor.partners.own_card(URL), url=URL, token=token)
    yield Pair(kor, jpn, clock)
    kor.close()
    jpn.close()


@pytest.fixture
def chunks_taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Chunks of two bundles; the size of each chunk taken (one unit of work each), in order."""
    monkeypatch.setattr(intake, "CHUNK", 2)
    sizes: list[int] = []
    take = Intake.take

    def counted(self: Intake, partner: Any, found: Any, vouched: Any, **options: Any) -> Any:
        sizes.append(len(found))
        return take(self, partner, found, vouched, **options)

    monkeypatch.setattr(Intake, "take", counted)
    return sizes


def test_bundles_are_taken_two_a_unit_of_work_each_once_and_receipted_with_the_head_after_their_chunk(
    pair: Pair, chunks_taken: list[int]
):
    ids = [f"K-C-{n}" for n in range(5)]
    pair.release(*ids)
    pushed: list[dict[str, Any]] = []

    def push(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        pushed.extend(notes)

    taken = pair.jpn.sync.run(pair.pull, push=push)
    assert chunks_taken == [2, 2, 1]
    assert [(r.item, r.status, r.new) for r in taken] == [(i, "accepted", True) for i in ids]
    assert len(pair.received()) == 5
    assert len(set(pair.received())) == 5
    assert ids[0] in pair.items()
    assert set(ids) <= pair.items()
    assert [pair.jpn.items.body(i) for i in ids] == [f"body of {i}".encode() for i in ids]
    assert pair.jpn.audit.verify().ok

    # one receipt per bundle; those of a chunk show the head that chunk's unit of work signed
    with pair.jpn.store.read() as uow:
        heads = {h["size"]: h for h in uow.heads()}
    sizes = [n["extensions"][EXTENSION_ID]["receipt"]["receiver_head"]["size"] for n in pushed]
    assert len(sizes) == 5
    assert all(size in heads for size in sizes)
    assert sizes[0] == sizes[1] < sizes[2] == sizes[3] < sizes[4]

    # KOR takes the five receipts at once, as its TAXII server does
    partner = pair.kor.partners.get("JPN")
    assert partner is not None
    assert pair.kor.sync.take_receipts(pushed, partner) == [None] * 5
    assert sorted(r["bundle"] for r in pair.kor.sync.receipts()) == sorted(pair.received())


def test_an_item_released_twice_in_one_chunk_is_stored_once_and_its_second_bundle_quarantined(
    pair: Pair, chunks_taken: list[int]
):
    """A chunk's writes are gathered and made together: the second bundle carrying an item id the same
    chunk already took is still seen, and quarantined, not stored twice."""
    pair.release("K-D-1")
    assert pair.kor.releases.release("K-D-1", "JPN", "2019-10-02").decision.allowed
    taken = pair.jpn.sync.run(pair.pull)
    assert chunks_taken == [2]
    assert [(r.item or "", r.status) for r in taken] == [("K-D-1", "accepted"), ("", "quarantined")]
    assert "already used" in taken[1].reason
    assert len(pair.received()) == 2
    assert pair.jpn.items.body("K-D-1") == b"body of K-D-1"
    assert pair.jpn.audit.verify().ok


def test_a_second_sync_stores_nothing_twice(pair: Pair, chunks_taken: list[int]):
    pair.release("K-R-1", "K-R-2", "K-R-3")
    first = pair.jpn.sync.run(pair.pull)
    again = pair.jpn.sync.run(pair.pull, full=True)
    assert [(r.bundle, r.new) for r in again] == [(r.bundle, False) for r in first]
    incremental = pair.jpn.sync.run(pair.pull)  # the margin takes the last releases in again: known
    assert {r.new for r in incremental} == {False}
    assert Counter(pair.received()) == Counter({r.bundle: 1 for r in first})
    assert pair.jpn.audit.verify().ok


def test_a_crash_in_the_second_chunk_keeps_the_first_and_the_next_sync_takes_the_rest_once(
    pair: Pair, chunks_taken: list[int], monkeypatch: pytest.MonkeyPatch
):
    ids = [f"K-X-{n}" for n in range(5)]
    pair.release(*ids)
    add_records = journal.add_records
    written = Counter[str]()

    def failing(uow: Any, entries: Any, texts: Any = None) -> Any:
        if any(kind == "received" for kind, _key, _data in entries):
            written["chunks"] += 1
            if written["chunks"] == 2:  # the second chunk's bundles, written together
                raise OSError("disk gone")
        return add_records(uow, entries, texts)

    monkeypatch.setattr(journal, "add_records", failing)
    with pytest.raises(OSError, match="disk gone"):
        pair.jpn.sync.run(pair.pull)
    assert chunks_taken == [2, 2]
    assert pair.items() >= set(ids[:2])
    assert not pair.items() & set(ids[2:])
    assert len(pair.received()) == 2
    with pair.jpn.store.read() as uow:
        assert uow.body_items(ids) == set(ids[:2])
    assert pair.cursors() == []  # the pull did not finish: no cursor
    assert pair.jpn.audit.verify().ok

    monkeypatch.setattr(journal, "add_records", add_records)
    taken = pair.jpn.sync.run(pair.pull)
    assert pair.asked == [None, None]  # no cursor was kept, so everything again
    assert [(r.item, r.new) for r in taken] == [(i, n >= 2) for n, i in enumerate(ids)]
    assert len(pair.received()) == 5
    assert len(set(pair.received())) == 5
    assert set(ids) <= pair.items()
    assert pair.jpn.audit.verify().ok


def _reports(pair: Pair, added_after: str | None) -> list[str]:
    """The items whose releases KOR serves JPN added after ``added_after``."""
    objects, _ = pair.pull(URL, "JPN", pair.jpn.partners.pull_token(_kor(pair)) or "", added_after)
    pair.asked.pop()
    return [o["extensions"][EXTENSION_ID]["item"]["id"] for o in objects if o["type"] == "report"]


def _kor(pair: Pair) -> Any:
    found = pair.jpn.partners.get("KOR")
    assert found is not None
    return found


def test_the_cursor_is_kept_and_the_next_pull_starts_there_less_the_margin_and_full_starts_nowhere(
    pair: Pair,
):
    pair.release("K-P-1")
    pair.clock.now += timedelta(hours=1)
    pair.release("K-P-2")
    assert [r.new for r in pair.jpn.sync.run(pair.pull)] == [True, True]
    assert pair.asked == [None]
    (cursor,) = pair.cursors()
    served_last = parse_timestamp(cursor["date_added"])
    assert served_last == pair.clock.now  # K-P-2's release: the greatest date_added served
    assert cursor["added_after"] is None

    pair.jpn.sync.run(pair.pull)  # nothing new: the cursor stays, no record added
    assert parse_timestamp(str(pair.asked[-1])) == served_last - intake.MARGIN
    assert len(pair.cursors()) == 1
    assert _reports(pair, pair.asked[-1]) == ["K-P-2"]  # what that pull was served: not K-P-1

    pair.clock.now += timedelta(hours=1)
    pair.release("K-P-3")
    pair.jpn.sync.run(pair.pull)
    assert parse_timestamp(str(pair.asked[-1])) == served_last - intake.MARGIN
    newer = pair.cursors()[-1]
    assert len(pair.cursors()) == 2
    assert parse_timestamp(newer["date_added"]) == pair.clock.now
    assert newer["added_after"] == pair.asked[-1]
    assert {"K-P-1", "K-P-2", "K-P-3"} <= pair.items()

    full = pair.jpn.sync.run(pair.pull, full=True)
    assert pair.asked[-1] is None
    assert [(r.item, r.new) for r in full] == [("K-P-1", False), ("K-P-2", False), ("K-P-3", False)]
    # a full pull that reached no further keeps the cursor as it was: marked pending when it began, and
    # ended (a record of each)
    assert [(c["date_added"], c.get("full")) for c in pair.cursors()[2:]] == [
        (newer["date_added"], "pending"),
        (newer["date_added"], None),
    ]
    assert len(pair.received()) == 3


def test_a_release_stamped_in_the_last_pulled_millisecond_is_taken(pair: Pair):
    """A release recorded in the same millisecond as the last one served (shipped just after that pull)
    is taken by the next pull (with no margin it is not)."""
    pair.release("K-M-1")
    pair.clock.step = timedelta(0)  # every stamp from here on falls in K-M-2's millisecond
    pair.clock.now += timedelta(milliseconds=2)
    pair.release("K-M-2")
    assert [(r.item, r.new) for r in pair.jpn.sync.run(pair.pull)] == [("K-M-1", True), ("K-M-2", True)]
    pair.release("K-M-3")  # the same millisecond as K-M-2, the last served
    taken = pair.jpn.sync.run(pair.pull)
    assert ("K-M-3", True) in [(r.item, r.new) for r in taken]
    assert len(pair.received()) == 3


def _decision_for_jpn(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """KOR grants a consent JPN asked for: a signed decision KOR serves JPN, stamped by KOR's clock."""
    monkeypatch.setattr(consents, "stix_now", lambda: stix_time(pair.clock.now))
    pair.kor.items.add_item("K-X", "KOR", "KR-II", ["dprk-missile"], body=b"x")
    pair.kor.consents.request(ConsentRequest(holder="JPN", recipient="USA", item="K-X"), id="JPN-C1")
    pair.kor.consents.grant("JPN-C1")


def test_a_release_recorded_after_a_decision_and_a_step_back_of_the_clock_is_taken(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    """A decision first served two seconds after K-1 is the newest object JPN is served; KOR's clock
    then steps back two seconds, so K-2 is recorded before that decision's time (and shipped as added at
    K-1's). JPN's cursor is K-1's time, so K-2 is taken (with the decision's date as the cursor, never)."""
    pair.release("K-1")
    _decision_for_jpn(pair, monkeypatch)
    pair.clock.now += timedelta(seconds=2)
    pair.jpn.sync.run(pair.pull)
    pair.clock.now -= timedelta(seconds=2)
    pair.release("K-2")
    assert "K-2" in [r.item for r in pair.jpn.sync.run(pair.pull)]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_release_being_recorded_while_a_decision_is_first_served_is_taken_by_the_next_pull(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """K-2 is stamped, then (its unit of work still open: two seconds of sealing a long body) JPN pulls
    and KOR first serves a consent decision stamped later than K-2 (on PostgreSQL; on SQLite the write
    holds the database's lock, and the decision is placed by the next pull, after K-2). The cursor JPN
    keeps is the newest release it took, not that decision's date_added, so the next pull takes K-2 (with
    the date the server said as the cursor it never does, with a margin of a millisecond or of a
    second)."""
    with contextlib.ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'kor.db'}"
            if kind == "sqlite"
            else stack.enter_context(pg.fresh_schema(pg.server_or_skip()))
        )
        clock = Clock()
        settings = Settings.resolve({"node_dir": str(tmp_path / "kor"), "party": "KOR"})
        kor = compose(open_node_store(url), NodeKeys.generate(), settings, clock)
        stack.callback(kor.close)
        kor.import_world(WORLD)
        jpn = _node(tmp_path, "JPN")
        stack.callback(jpn.close)
        token = kor.partners.add(jpn.partners.own_card()).token
        jpn.partners.add(kor.partners.own_card(URL), url=URL, token=token)
        pair = Pair(kor, jpn, clock)
        pair.release("K-1")
        assert [r.item for r in jpn.sync.run(pair.pull)] == ["K-1"]
        _decision_for_jpn(pair, monkeypatch)
        kor.items.add_item("K-2", "KOR", "KR-II", ["dprk-missile"], body=b"2")
        seal = kor.keys.seal_chunks
        during: list[list[str | None]] = []

        def seal_then_pull(*args: Any, **kwargs: Any) -> Any:
            sealed = seal(*args, **kwargs)
            clock.now += timedelta(seconds=2)
            puller = threading.Thread(target=lambda: during.append([r.item for r in jpn.sync.run(pair.pull)]))
            puller.start()  # while K-2's unit of work is open
            puller.join(timeout=60)
            return sealed

        monkeypatch.setattr(kor.keys, "seal_chunks", seal_then_pull)
        kor.releases.release("K-2", "JPN", "2019-10-01")
        monkeypatch.setattr(kor.keys, "seal_chunks", seal)
        assert during == [["K-1"]]  # K-1 again (the margin), not K-2: it was not committed yet
        assert [r for r in jpn.sync.run(pair.pull) if r.item == "K-2" and r.new]


def test_a_release_recorded_after_the_senders_clock_went_back_is_still_taken_by_an_incremental_pull(
    pair: Pair,
):
    """KOR's server ships a release no earlier than the one before it, so the cursor JPN kept still
    finds a release KOR recorded after its clock went back an hour."""
    pair.release("K-R-1")
    assert [r.item for r in pair.jpn.sync.run(pair.pull)] == ["K-R-1"]
    pair.clock.now -= timedelta(hours=1)
    pair.release("K-R-2")
    taken = pair.jpn.sync.run(pair.pull)
    assert [(r.item, r.status, r.new) for r in taken] == [
        ("K-R-1", "accepted", False),
        ("K-R-2", "accepted", True),
    ]


def test_an_incremental_pull_takes_releases_whose_shared_objects_an_earlier_pull_carried(pair: Pair):
    """Only K-P-2's and K-P-3's objects are served the second time: gsomia's identity, its extension
    definition and KOR's identity came with K-P-1 (bundles_from_objects fills those in)."""
    pair.release("K-P-1")
    pair.clock.now += timedelta(hours=1)
    pair.release("K-P-2")
    pair.jpn.sync.run(pair.pull)
    pair.clock.now += timedelta(hours=1)
    pair.release("K-P-3")
    taken = pair.jpn.sync.run(pair.pull)
    assert [(r.item, r.status, r.new) for r in taken] == [
        ("K-P-2", "accepted", False),
        ("K-P-3", "accepted", True),
    ], [r.reason for r in taken]
    assert len(pair.received()) == 3


def test_a_pull_answering_objects_alone_is_taken_and_keeps_no_cursor(pair: Pair):
    pair.release("K-L-1")
    taken = pair.jpn.sync.run(lambda *args: pair.pull(*args)[0])
    assert [(r.item, r.status) for r in taken] == [("K-L-1", "accepted")]
    assert pair.cursors() == []


def test_take_receipts_keeps_the_good_ones_and_names_the_bad(pair: Pair):
    pair.release("K-T-1", "K-T-2")
    pushed: list[dict[str, Any]] = []
    pair.jpn.sync.run(pair.pull, push=lambda u, p, t, notes: pushed.extend(notes))
    assert len(pushed) == 2
    forged = {**pushed[1], "extensions": {**pushed[1]["extensions"]}}
    body = dict(forged["extensions"][EXTENSION_ID])
    body["receipt"] = {**body["receipt"], "status": "quarantined"}
    forged["extensions"][EXTENSION_ID] = body
    partner = pair.kor.partners.get("JPN")
    assert partner is not None

    answers = pair.kor.sync.take_receipts([pushed[0], forged, {"type": "note"}, pushed[0]], partner)
    assert answers[0] is None
    assert answers[3] is None
    assert "signature is not JPN's" in str(answers[1])
    assert "not a gsomia receipt" in str(answers[2])
    (kept,) = pair.kor.sync.receipts()
    assert (kept["receiver"], kept["status"], kept["note"]) == ("JPN", "accepted", pushed[0]["id"])

    assert pair.kor.sync.take_receipts(pushed, partner) == [None, None]  # the first again, the second new
    assert [r["note"] for r in pair.kor.sync.receipts()] == [pushed[0]["id"], pushed[1]["id"]]
    assert pair.kor.sync.take_receipt(pushed[1], partner).receiver == "JPN"  # one at a time, still once
    assert len(pair.kor.sync.receipts()) == 2
    assert pair.kor.audit.verify().ok


@dataclass
class Paged:
    """KOR's collection handed over in pages of ``size`` objects, as ``gsomia.web.client.Pages`` does."""

    pages: list[list[dict[str, Any]]]
    last: str | None

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        return iter(self.pages)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 1000])
def test_pages_that_end_inside_a_release_are_taken_whole_once_the_next_page_comes(
    pair: Pair, chunks_taken: list[int], size: int
):
    ids = [f"K-P-{n}" for n in range(5)]
    pair.release(*ids)

    def paged(url: str, party: str, token: str, added_after: str | None = None) -> Paged:
        objects, last = pair.pull(url, party, token, added_after)
        return Paged([objects[i : i + size] for i in range(0, len(objects), size)], last)

    taken = pair.jpn.sync.run(paged)
    assert [(r.item, r.status, r.new) for r in taken] == [(i, "accepted", True) for i in ids]
    assert chunks_taken == [2, 2, 1]
    assert len(pair.cursors()) == 1  # the pages' last date_added kept, as from one page
    assert all(not r.new for r in pair.jpn.sync.run(paged))  # pulled again: recognized, stored once
    assert len(pair.received()) == 5


def test_a_release_s_consent_notes_on_the_next_page_stay_with_it():
    """A page that ends after a release's artifact keeps that release back until the next page, so the
    originator's consent riding after it is taken with it."""
    from gsomia.peers.sync import _releases_whole

    def release(n: int) -> list[dict[str, Any]]:
        marking = {"type": "marking-definition", "id": f"marking-definition--{n}"}
        report = {"type": "report", "id": f"report--{n}", "object_marking_refs": [marking["id"]]}
        return [marking, report, {"type": "artifact", "id": f"artifact--{n}"}]

    note = {"type": "note", "id": "note--1"}
    shared = [{"type": "identity", "id": "identity--g"}]
    objects = shared + release(1) + [note] + release(2) + release(3)
    for cut in range(1, len(objects)):
        groups = list(_releases_whole([objects[:cut], objects[cut:]]))
        assert groups[-1][1] is True
        assert [obj for group, _ in groups for obj in group] == objects  # nothing lost or twice, in order
        holding_one = [group for group, _ in groups if any(o["id"] == "report--1" for o in group)]
        assert len(holding_one) == 1
        assert note in holding_one[0]  # the consent is in the group of release 1, wherever the cut


def _push_to(pair: Pair) -> Any:
    """JPN's pushes (receipts, consent requests) taken by KOR's TAXII source."""

    def push(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        NodeTaxiiSource(pair.kor).accept(collection_id(party), party, {"objects": notes})

    return push


def test_a_decision_made_after_the_senders_clock_stepped_back_reaches_the_holder(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    """KOR's clock steps back 20 ms before it grants JPN's request: the decision is still added to
    JPN's collection no earlier than the release JPN's cursor is at, so the next sync applies it."""
    monkeypatch.setattr(consents, "stix_now", lambda: stix_time(pair.clock.now))
    push = _push_to(pair)
    pair.release("K-X")
    pair.jpn.sync.run(pair.pull, push=push)
    pair.jpn.consents.request(ConsentRequest(holder="JPN", recipient="USA", item="K-X"), id="C77")
    pair.jpn.sync.run(pair.pull, push=push)  # the request goes to KOR
    assert pair.kor.consents.get("JPN-C77").status == "requested"
    pair.clock.now -= timedelta(milliseconds=20)
    pair.kor.consents.grant("JPN-C77")
    pair.jpn.sync.run(pair.pull, push=push)
    assert pair.jpn.consents.get("C77").status == "granted"


def test_a_cursor_an_earlier_version_kept_is_used_with_a_second_of_margin_then_replaced(pair: Pair):
    """An earlier version kept the server's date, which a decision could put 50 ms past K-1; KOR's
    clock then steps back 20 ms and K-2 is added at K-1's time: a second of margin still takes it, and
    the cursor kept after is a release time."""
    pair.release("K-1")
    pair.jpn.sync.run(pair.pull)
    header = format_timestamp(pair.clock.now + timedelta(milliseconds=50))
    with pair.jpn.store.begin() as uow:
        old = {"date_added": header, "added_after": None, "at": header}
        journal.add_record(uow, "pull-cursor", "KOR", old)
    pair.clock.now += timedelta(milliseconds=30)
    pair.release("K-2")
    assert [(r.item, r.new) for r in pair.jpn.sync.run(pair.pull)] == [("K-1", False), ("K-2", True)]
    newest = pair.cursors()[-1]
    assert newest["basis"] == intake.RELEASE_TIME
    assert parse_timestamp(newest["date_added"]) < parse_timestamp(header)  # replaced, though earlier


def _tampered(pair: Pair, item: str, created: str) -> Any:
    """KOR's pull with ``item``'s report claiming to be recorded at ``created`` (its signature broken)."""

    def pull(url: str, party: str, token: str, added_after: str | None = None) -> Any:
        objects, last = pair.pull(url, party, token, added_after)
        for n, obj in enumerate(objects):
            if obj.get("type") == "report" and obj["extensions"][EXTENSION_ID]["item"]["id"] == item:
                objects[n] = {**obj, "created": created}
        return objects, last

    return pull


@pytest.mark.parametrize("created", ["2999-01-01T00:00:00.000Z", "9999-12-31T23:59:59.000-14:00"])
def test_a_release_time_in_a_bundle_that_fails_its_signature_does_not_move_the_cursor(
    pair: Pair, created: str
):
    pair.release("K-1", "K-2")
    taken = pair.jpn.sync.run(_tampered(pair, "K-2", created))
    assert [(r.item, r.status) for r in taken] == [("K-1", "accepted"), (None, "quarantined")]
    pair.release("K-3")
    assert ("K-3", True) in [(r.item, r.new) for r in pair.jpn.sync.run(pair.pull)]
    assert all(parse_timestamp(c["date_added"]).year < 2999 for c in pair.cursors())


def test_the_cursor_moves_on_at_the_next_sync_after_a_push_failed(pair: Pair):
    """The bundles of a sync whose push failed are on record (and no cursor was kept): the next sync
    takes them again, not new, and moves the cursor on by the release times recorded when they were
    first taken, so the sync after pulls only from there."""
    pair.release("K-1")
    pair.jpn.sync.run(pair.pull)
    pair.clock.now += timedelta(minutes=1)
    pair.release(*(f"K-B-{n}" for n in range(5)))

    def down(*args: Any) -> None:
        raise GsomiaError("the partner's server is down")

    with pytest.raises(GsomiaError, match="down"):
        pair.jpn.sync.run(pair.pull, push=down)
    kept = pair.cursors()[-1]["date_added"]
    again = pair.jpn.sync.run(pair.pull, push=lambda *args: None)
    assert [r.new for r in again] == [False] * 6  # K-1 within the margin, then the five
    assert pair.cursors()[-1]["date_added"] > kept
    assert [r.item for r in pair.jpn.sync.run(pair.pull)] == [f"K-B-{n}" for n in range(5)]


def test_a_full_pull_that_takes_an_old_release_does_not_move_the_cursor_back(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
):
    """K-1 is withheld from the first pull (as a release the agreements no longer allowed would be); a
    full pull later takes it, and the cursor stays at K-3, the newest release taken, not at K-1."""
    pair.release("K-1", "K-2", "K-3")
    served = NodeTaxiiSource._served

    def without_k1(self: NodeTaxiiSource, rows: Any, party: str) -> Any:
        return [r for r in served(self, rows, party) if r.release_seq != rows[0].release_seq]

    monkeypatch.setattr(NodeTaxiiSource, "_served", without_k1)
    assert [r.item for r in pair.jpn.sync.run(pair.pull)] == ["K-2", "K-3"]
    monkeypatch.setattr(NodeTaxiiSource, "_served", served)
    kept = pair.cursors()[-1]["date_added"]
    full = pair.jpn.sync.run(pair.pull, full=True)
    assert [(r.item, r.new) for r in full] == [("K-1", True), ("K-2", False), ("K-3", False)]
    assert pair.cursors()[-1]["date_added"] == kept
