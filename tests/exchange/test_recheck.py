"""A full pull checks quarantined bundles again, as the node's world stands now.

JPN's node is set up without Korea's suspension of its 2019 notice (so, for JPN, the GSOMIA ended on
2019-11-23); KOR's has it. KOR releases a DPRK-missile item to JPN directly on 2019-12-02: JPN
quarantines it. Once JPN records the suspension, an incremental pull leaves the bundle as it was (it is
not pulled again), and ``sync --full`` accepts it, stores the item, and sends KOR a receipt that KOR keeps
beside the first. A bundle that still fails, or was altered, is left as it was recorded, nothing written.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from gsomia.bootstrap import Services, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.peers import intake
from gsomia.services import journal
from gsomia.services.consent import ConsentRequest
from gsomia.store.memory import MemoryStore
from gsomia.web.node_source import NodeTaxiiSource, collection_id
from gsomia.web.taxii import PageQuery, format_timestamp, parse_timestamp
from tests.exchange.test_sync_batches import URL, WORLD


def _node(tmp: Path, party: str, world: Path) -> Services:
    settings = Settings.resolve({"node_dir": str(tmp / party.lower()), "party": party})
    services = compose(MemoryStore(), NodeKeys.generate(), settings)
    services.import_world(world)
    return services


class Nodes:
    def __init__(self, tmp: Path) -> None:
        spec = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
        unsuspended = copy.deepcopy(spec)
        unsuspended["events"] = [e for e in spec["events"] if e["kind"] == "notice"]
        world = tmp / "without-suspension.yaml"
        world.write_text(yaml.safe_dump(unsuspended), encoding="utf-8")
        self.kor, self.jpn = _node(tmp, "KOR", WORLD), _node(tmp, "JPN", world)
        token = self.kor.partners.add(self.jpn.partners.own_card()).token
        self.jpn.partners.add(self.kor.partners.own_card(URL), url=URL, token=token)
        self.served: list[list[dict[str, Any]]] = []  # what each pull was served, for tampering
        self.asked: list[str | None] = []  # each pull's added_after

    def pull(self, url: str, party: str, token: str, added_after: str | None = None) -> Any:
        self.asked.append(added_after)
        after = None if added_after is None else parse_timestamp(added_after)
        page = NodeTaxiiSource(self.kor).page(collection_id(party), party, PageQuery(added_after=after))
        objects = [dict(e.data) for e in page.entries]
        self.served.append(objects)
        return objects, (format_timestamp(page.entries[-1].date_added) if page.entries else None)

    def push(self, url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        NodeTaxiiSource(self.kor).accept(collection_id(party), party, {"objects": notes})

    def sync(self, full: bool = False, pull: Any = None) -> list[Any]:
        return self.jpn.sync.run(pull or self.pull, push=self.push, full=full)

    def statuses(self, item: str) -> list[str]:
        return [r.status for r in self.jpn.sync.inbox() if r.item == item or item in r.reason]

    def kor_receipts(self) -> list[str]:
        return [r["status"] for r in self.kor.sync.receipts()]


@pytest.fixture
def nodes(tmp_path: Path) -> Any:
    made = Nodes(tmp_path)
    yield made
    made.kor.close()
    made.jpn.close()


def _added_after(nodes: Nodes, start: int) -> list[str | None]:
    """The ``added_after`` of each pull since the ``start``-th."""
    return nodes.asked[start:]


def _cursors(nodes: Nodes) -> list[dict[str, Any]]:
    with nodes.jpn.store.read() as uow:
        return [dict(r.data) for r in uow.item_records(["KOR"], kind="pull-cursor")]


def _release(nodes: Nodes, item: str) -> None:
    nodes.kor.items.add_item(item, "KOR", "KR-II", ["dprk-missile"], body=f"body of {item}".encode())
    outcome = nodes.kor.releases.release(item, "JPN", "2019-12-02")
    assert outcome.decision.allowed
    assert list(outcome.decision.route) == ["KOR", "JPN"]


def test_a_full_pull_accepts_a_bundle_quarantined_before_the_world_allowed_it(nodes: Nodes):
    _release(nodes, "K-LATE-1")
    [first] = nodes.sync()
    assert first.status == "quarantined"
    assert "they allow it by KOR → USA → JPN only" in first.reason  # for JPN the GSOMIA has ended
    assert nodes.kor_receipts() == ["quarantined"]
    nodes.jpn.events.add_event("KOR-JPN-GSOMIA", "suspend-notice", "2019-11-22", by="KOR")
    assert [r.new for r in nodes.sync()] == [False]  # incremental: taken as recorded
    assert nodes.statuses("K-LATE-1") == ["quarantined"]
    [again] = nodes.sync(full=True)
    assert (again.status, again.new, again.item) == ("accepted", True, "K-LATE-1")
    assert nodes.statuses("K-LATE-1") == ["quarantined", "accepted"]
    assert nodes.jpn.items.body("K-LATE-1") == b"body of K-LATE-1"
    assert nodes.kor_receipts() == ["quarantined", "accepted"]
    assert [r.new for r in nodes.sync(full=True)] == [False]  # accepted now: as recorded
    assert nodes.kor_receipts() == ["quarantined", "accepted"]
    assert nodes.statuses("K-LATE-1") == ["quarantined", "accepted"]


def test_a_full_pull_writes_nothing_for_a_bundle_that_still_fails(nodes: Nodes):
    _release(nodes, "K-LATE-2")
    nodes.sync()
    before = nodes.jpn.sync.inbox()
    assert [(r.status, r.new) for r in nodes.sync(full=True)] == [("quarantined", False)]
    assert nodes.jpn.sync.inbox() == before
    assert nodes.kor_receipts() == ["quarantined"]


def test_an_altered_bundle_checked_again_stays_out_and_the_true_one_gets_in(nodes: Nodes):
    """With the world now allowing it, a full pull served the bundle with one byte of its sealed body
    changed: quarantined again, for the new reason, and nothing of it stored; the true bundle on the next
    full pull is accepted."""
    _release(nodes, "K-LATE-3")
    nodes.sync()
    served = nodes.served[-1]
    nodes.jpn.events.add_event("KOR-JPN-GSOMIA", "suspend-notice", "2019-11-22", by="KOR")

    def altered(url: str, party: str, token: str, added_after: str | None = None) -> Any:
        objects = copy.deepcopy(served)
        artifact = next(o for o in objects if o["type"] == "artifact")
        payload = artifact["payload_bin"]
        artifact["payload_bin"] = ("A" if payload[0] != "A" else "B") + payload[1:]
        return objects, None

    [tampered] = nodes.sync(full=True, pull=altered)
    assert (tampered.status, tampered.new) == ("quarantined", True)
    assert "allow it by" not in tampered.reason
    assert "K-LATE-3" not in {view.data["id"] for view in nodes.jpn.items.items()}
    [true] = nodes.sync(full=True)
    assert (true.status, true.new) == ("accepted", True)
    assert nodes.jpn.items.body("K-LATE-3") == b"body of K-LATE-3"
    assert [r.status for r in nodes.jpn.sync.inbox()] == ["quarantined", "quarantined", "accepted"]


def test_receipts_delivered_again_or_out_of_order_keep_the_senders_view_at_the_latest(nodes: Nodes):
    """JPN's quarantined receipt and then its accepted one, pushed to KOR again three times in turn
    (a replay, or two syncs of JPN at once): KOR keeps the two, and the latest says accepted."""
    pushed: list[list[dict[str, Any]]] = []
    push = nodes.push

    def keeping(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        pushed.append(notes)
        push(url, party, token, notes)

    nodes.push = keeping  # type: ignore[method-assign]
    _release(nodes, "K-LATE-4")
    nodes.sync()
    nodes.jpn.events.add_event("KOR-JPN-GSOMIA", "suspend-notice", "2019-11-22", by="KOR")
    nodes.sync(full=True)
    assert nodes.kor_receipts() == ["quarantined", "accepted"]
    old, new = pushed[0], pushed[-1]
    for _ in range(3):
        for notes in (old, new):
            status = NodeTaxiiSource(nodes.kor).accept(collection_id("JPN"), "JPN", {"objects": notes})
            assert not status.failures
    assert nodes.kor_receipts() == ["quarantined", "accepted"]


def test_a_full_pull_whose_receipts_were_not_sent_is_made_again_by_the_next_sync(nodes: Nodes):
    """The full pull accepts the bundle but cannot push its receipt (KOR's server unreachable). The next
    sync, asked for without --full, pulls in full again (the receipt for a re-checked bundle goes only
    with a full pull) and KOR gets it; the sync after that is incremental again."""
    _release(nodes, "K-LATE-4")
    nodes.sync()
    nodes.jpn.events.add_event("KOR-JPN-GSOMIA", "suspend-notice", "2019-11-22", by="KOR")

    def unreachable(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        raise ConnectionError("KOR's server did not answer")

    with pytest.raises(ConnectionError):
        nodes.jpn.sync.run(nodes.pull, push=unreachable, full=True)
    assert nodes.statuses("K-LATE-4") == ["quarantined", "accepted"]  # taken, receipt unsent
    assert nodes.kor_receipts() == ["quarantined"]
    asked = len(nodes.served)
    assert [(r.status, r.new) for r in nodes.sync()] == [("accepted", False)]
    assert nodes.jpn.sync.resumed == ["KOR"]  # gsomia sync says so
    assert nodes.kor_receipts() == ["quarantined", "accepted"]
    pulls = _added_after(nodes, asked)
    assert pulls == [None]  # in full
    nodes.sync()
    assert _added_after(nodes, asked + 1) != [None]  # incremental again
    assert nodes.jpn.sync.resumed == []


def test_a_pending_full_pull_ends_even_when_it_takes_nothing(nodes: Nodes):
    """A full pull that could not push (here JPN's consent request) stays pending; the next sync pulls in
    full and, though the partner serves nothing, ends it, keeping the cursor it had; the one after is
    incremental from that cursor."""
    nodes.kor.items.add_item("K-OK", "KOR", "KR-II", ["dprk-missile"], body=b"ok")
    assert nodes.kor.releases.release("K-OK", "JPN", "2019-10-01").decision.allowed
    assert [r.status for r in nodes.sync()] == ["accepted"]
    calls: list[str | None] = []

    def nothing(url: str, party: str, token: str, added_after: str | None = None) -> Any:
        calls.append(added_after)
        return [], None

    def unreachable(url: str, party: str, token: str, notes: list[dict[str, Any]]) -> None:
        raise ConnectionError("KOR's server did not answer")

    nodes.jpn.consents.request(ConsentRequest(holder="JPN", recipient="USA", item="K-OK"), id="C-1")
    with pytest.raises(ConnectionError):  # the consent request cannot be sent
        nodes.jpn.sync.run(nothing, push=unreachable, full=True)
    nodes.jpn.sync.run(nothing, push=nodes.push)  # in full (pending), and ended
    nodes.jpn.sync.run(nothing, push=nodes.push)
    assert calls[:2] == [None, None]
    assert calls[2] is not None  # incremental again
    cursors = _cursors(nodes)
    assert [c.get("full") for c in cursors] == [None, "pending", None]
    assert cursors[0]["date_added"] == cursors[1]["date_added"] == cursors[2]["date_added"]


def test_a_full_pull_stopped_part_way_is_made_again_checking_what_it_had_not_reached(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
):
    """Four quarantined bundles, taken two a unit of work; the full pull stops after its first chunk.
    The next plain sync pulls in full and checks again the two the stopped pull never reached: all four
    accepted, and KOR holds a receipt saying so for each."""
    items = [f"K-LATE-C{n}" for n in range(4)]
    for item in items:
        _release(nodes, item)
    assert [r.status for r in nodes.sync()] == ["quarantined"] * 4
    nodes.jpn.events.add_event("KOR-JPN-GSOMIA", "suspend-notice", "2019-11-22", by="KOR")
    monkeypatch.setattr(intake, "CHUNK", 2)
    take = intake.Intake.take
    chunks: list[int] = []

    def stopping(self: intake.Intake, *args: Any, **options: Any) -> Any:
        chunks.append(len(args[1]))
        if len(chunks) == 2:
            raise KeyboardInterrupt  # the process stops part way
        return take(self, *args, **options)

    monkeypatch.setattr(intake.Intake, "take", stopping)
    with pytest.raises(KeyboardInterrupt):
        nodes.sync(full=True)
    assert [nodes.statuses(i)[-1] for i in items] == ["accepted", "accepted", "quarantined", "quarantined"]
    monkeypatch.setattr(intake.Intake, "take", take)
    nodes.sync()  # no --full: the pending one is made again
    assert [nodes.statuses(i)[-1] for i in items] == ["accepted"] * 4
    latest = {r["seq"]: r["status"] for r in nodes.kor.sync.receipts()}
    assert sorted(latest.values()) == ["accepted"] * 4


def test_a_cursor_an_earlier_version_kept_keeps_its_basis_through_a_pending_full_pull(nodes: Nodes):
    """A cursor recorded by an earlier version (a server's date, no basis): a full pull whose pull fails
    marks it pending, and ending it with nothing taken keeps it as it was, an earlier version's cursor
    (which a later pull may still replace by a release time)."""
    with nodes.jpn.store.begin() as uow:
        journal.add_record(uow, "pull-cursor", "KOR", {"date_added": "2019-10-01T00:00:00.000000Z"})

    asked: list[str | None] = []

    def nothing(url: str, party: str, token: str, added_after: str | None = None) -> Any:
        asked.append(added_after)
        if len(asked) == 1:
            raise ConnectionError("KOR's server did not answer")
        return [], None

    with pytest.raises(ConnectionError):
        nodes.jpn.sync.run(nothing, push=nodes.push, full=True)
    nodes.jpn.sync.run(nothing, push=nodes.push)
    assert asked == [None, None]
    kept = intake.kept_cursor(nodes.jpn.store, "KOR")
    assert kept == intake.PullCursor("2019-10-01T00:00:00.000000Z", by_release=False, full_pending=False)
