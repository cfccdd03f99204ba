"""Consents, receipts and incidents across nodes, against what a partner (or a replay) could try: each case
failed on the code before it, as a review found (three nodes in-process over memory stores, pulling and
pushing through each node's TAXII source)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import gsomia
from gsomia.bootstrap import Services, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.exchange import BundleError
from gsomia.exchange.bundle import bundle_ids
from gsomia.exchange.notes import build_note
from gsomia.exchange.receipts import Receipt, build_receipt
from gsomia.peers.clock import stix_now
from gsomia.services.consent import ConsentRequest, originator_of
from gsomia.services.replay import ConsentView
from gsomia.store.memory import MemoryStore
from gsomia.web.node_source import NodeTaxiiSource, collection_id
from gsomia.web.taxii import PageQuery, StatusInfo, format_timestamp, parse_timestamp

WORLD = Path(gsomia.__file__).parent / "scenarios" / "korea-japan-2019.yaml"
JPN_X = "  - id: JPN-X\n    name: Japan X\n    levels:\n      - {id: JPX-1, marking: X1}\n"


class Net:
    """Nodes that are each other's partners; ``sync(party)`` pulls from the others' sources."""

    def __init__(self, tmp: Path, parties: tuple[str, ...] = ("KOR", "JPN", "USA"), world: Path = WORLD):
        self.nodes: dict[str, Services] = {}
        for party in parties:
            settings = Settings.resolve({"node_dir": str(tmp / party), "party": party})
            self.nodes[party] = compose(MemoryStore(), NodeKeys.generate(), settings)
            self.nodes[party].import_world(world)
        cards = {p: self.nodes[p].partners.own_card(f"http://{p.lower()}.test") for p in parties}
        for server in parties:
            for client in (p for p in parties if p != server):
                token = self.nodes[server].partners.add(cards[client]).token
                self.nodes[client].partners.add(
                    cards[server], url=f"http://{server.lower()}.test", token=token
                )
        self.sources = {p: NodeTaxiiSource(self.nodes[p]) for p in parties}
        self.statuses: list[StatusInfo] = []  # what each push sync made was answered

    def _source(self, url: str) -> NodeTaxiiSource:
        return self.sources[url.split("//")[1].split(".")[0].upper()]

    def pull(self, url: str, party: str, token: str, added_after: str | None) -> tuple[list[Any], str | None]:
        source = self._source(url)
        assert source.authenticate(party, token) == party
        query = PageQuery(added_after=parse_timestamp(added_after) if added_after else None)
        objects: list[Any] = []
        last = None
        while True:
            page = source.page(collection_id(party), party, query)
            objects += [dict(e.data) for e in page.entries]
            last = format_timestamp(page.entries[-1].date_added) if page.entries else last
            if not page.more:
                return objects, last
            query = PageQuery(after=page.position, added_after=query.added_after)

    def push(self, url: str, party: str, token: str, objects: list[Any]) -> None:
        self.statuses.append(self._source(url).accept(collection_id(party), party, {"objects": objects}))

    def sync(self, party: str, only: str | None = None) -> list[Any]:
        return self.nodes[party].sync.run(self.pull, only=only, push=self.push)

    def send(self, sender: str, to: str, notes: list[dict[str, Any]]) -> StatusInfo:
        """Push ``notes`` from ``sender`` to ``to`` as ``sender``'s node would."""
        return self.sources[to].accept(collection_id(sender), sender, {"objects": notes})


def signed(node: Services, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return build_note(kind, body, stix_now(), node.keys.sign, node.keys.key_id)


def decision(consent: str, **changes: Any) -> dict[str, Any]:
    """The body of KOR's grant of JPN's request ``consent`` to pass K-X to USA, with ``changes``."""
    body = {"consent": consent, "status": "granted", "by": "KOR", "holder": "JPN", "recipient": "USA"}
    return {**body, "item": "K-X", **changes}


def pulling_also(net: Net, first: list[Any], last: list[Any]) -> Any:
    """A pull that answers what ``net`` serves with ``first`` before it and ``last`` after it."""

    def pull(url: str, party: str, token: str, after: str | None) -> tuple[list[Any], str | None]:
        objects, moment = net.pull(url, party, token, after)
        return [*first, *objects, *last], moment

    return pull


def granted_then_revoked(net: Net, theirs: str, on: str) -> dict[str, Any]:
    """KOR grants its request ``theirs`` and JPN syncs; KOR revokes it from ``on`` and JPN syncs again:
    KOR's signed grant, as it served it."""
    kor = net.nodes["KOR"]
    kor.consents.grant(theirs, by="KOR")
    grant = kor.sync.consents.decisions_for(kor.partners.get("JPN"))[0]  # type: ignore[union-attr,arg-type]
    net.sync("JPN", only="KOR")
    kor.consents.revoke(theirs, on, by="KOR")
    net.sync("JPN", only="KOR")
    return grant


def notes_kept(node: Services) -> list[dict[str, Any]]:
    with node.store.read() as uow:
        return [dict(r.data) for r in uow.item_records_page(0, 100_000, kind="consent-note")]


def riding_statuses(node: Services, holder: str, recipient: str, item: str) -> list[str]:
    notes = node.sync.consents.notes_for_release(holder, recipient, item)  # type: ignore[union-attr]
    return [next(iter(n["extensions"].values()))["consent-decision"]["status"] for n in notes]


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    made = Net(tmp_path)
    yield made
    for node in made.nodes.values():
        node.close()


@pytest.fixture
def asked(net: Net) -> tuple[str, str]:
    """KOR's item K-X released to JPN and taken there; JPN's request to pass it to USA sent to KOR: (JPN's
    consent id, KOR's)."""
    kor, jpn = net.nodes["KOR"], net.nodes["JPN"]
    kor.items.add_item("K-X", "KOR", "KR-III", ["dprk-nuclear"], ["USA", "JPN"], body=b"secret")
    assert kor.releases.release("K-X", "JPN", "2019-06-01").decision.allowed
    assert [r.status for r in net.sync("JPN", only="KOR")] == ["accepted"]
    view = jpn.consents.request(ConsentRequest("JPN", "USA", item="K-X"))
    net.sync("JPN", only="KOR")
    assert kor.consents.get(f"JPN-{view.id}").status == "requested"
    return view.id, f"JPN-{view.id}"


# -- whose consent it is ------------------------------------------------------------------------------


def test_a_partner_cannot_make_another_party_the_originator_of_an_item(net: Net) -> None:
    usa, kor = net.nodes["USA"], net.nodes["KOR"]
    body = {"consent": "Q1", "holder": "USA", "recipient": "KOR", "item": "J-NAV-1", "originator": "KOR"}
    status = net.send("USA", "KOR", [signed(usa, "consent-request", body)])
    assert not status.successes
    assert "the item is JPN's" in status.failures[0].message
    assert all(v.id != "USA-Q1" for v in kor.consents.consents())


def test_an_item_consent_is_decided_by_the_items_originator_whatever_its_terms_name(net: Net) -> None:
    kor = net.nodes["KOR"]
    view = ConsentView(
        "C-OLD", {"holder": "USA", "recipient": "KOR", "item": "J-NAV-1", "originator": "KOR"}, "requested"
    )
    with kor.store.read() as uow:
        world = kor.worldbook.with_items(uow, ["J-NAV-1"])
    assert originator_of(view, world) == "JPN"


# -- a decision reaches only the request it answers --------------------------------------------------


@pytest.fixture
def hyphens(tmp_path: Path) -> Iterator[Net]:
    """KOR, JPN, USA and a party JPN-X, whose requests KOR holds as JPN-X-<id>: the prefix JPN's have."""
    world = tmp_path / "world.yaml"
    text = WORLD.read_text(encoding="utf-8")
    at = text.index("  - id: USA")
    world.write_text(text[:at] + JPN_X + text[at:], encoding="utf-8")
    made = Net(tmp_path, ("KOR", "JPN", "JPN-X", "USA"), world)
    yield made
    for node in made.nodes.values():
        node.close()


def test_a_decision_is_served_only_to_the_party_that_asked(hyphens: Net) -> None:
    kor, jpn_x = hyphens.nodes["KOR"], hyphens.nodes["JPN-X"]
    jpn_x.consents.request(ConsentRequest("JPN-X", "USA", item="K-MSL-1"), id="C-A")
    hyphens.sync("JPN-X", only="KOR")
    kor.consents.deny("JPN-X-C-A", by="KOR", note="for JPN-X only")
    exchange = kor.sync.consents
    assert exchange is not None
    assert exchange.decisions_for(kor.partners.get("JPN")) == []  # type: ignore[arg-type]
    assert len(exchange.decisions_for(kor.partners.get("JPN-X"))) == 1  # type: ignore[arg-type]


def test_a_request_under_an_id_that_names_another_request_is_refused_and_nothing_crosses(
    hyphens: Net,
) -> None:
    kor, jpn, jpn_x = hyphens.nodes["KOR"], hyphens.nodes["JPN"], hyphens.nodes["JPN-X"]
    squat = {"consent": "X-C-B", "holder": "JPN", "recipient": "USA", "item": "K-NUC-1"}
    assert hyphens.send("JPN", "KOR", [signed(jpn, "consent-request", squat)]).successes
    theirs = {"consent": "C-B", "holder": "JPN-X", "recipient": "USA", "item": "K-MSL-1"}
    status = hyphens.send("JPN-X", "KOR", [signed(jpn_x, "consent-request", theirs)])
    assert "names another request" in status.failures[0].message
    jpn_x.consents.request(ConsentRequest("JPN-X", "USA", item="K-MSL-1"), id="C-B")
    kor.consents.grant("JPN-X-C-B", by="KOR")  # what KOR holds under that id: JPN's request
    hyphens.sync("JPN-X", only="KOR")
    assert jpn_x.consents.get("C-B").status == "requested"


def test_a_decision_that_names_other_terms_is_not_applied(net: Net, asked: tuple[str, str]) -> None:
    kor, jpn = net.nodes["KOR"], net.nodes["JPN"]
    mine, _ = asked
    other = decision(mine, item="K-MSL-1")
    exchange = jpn.sync.consents
    assert exchange is not None
    with pytest.raises(BundleError, match="names other terms"):
        exchange.take_decision(signed(kor, "consent-decision", other), jpn.partners.get("KOR"))  # type: ignore[arg-type]
    assert jpn.consents.get(mine).status == "requested"
    assert notes_kept(jpn) == []


# -- decisions kept only with the change they make ----------------------------------------------------


def test_an_old_grant_replayed_after_its_revocation_changes_nothing_and_is_not_kept(
    net: Net, asked: tuple[str, str]
) -> None:
    jpn = net.nodes["JPN"]
    mine, theirs = asked
    grant = granted_then_revoked(net, theirs, "2019-06-15")
    kept = len(notes_kept(jpn))
    assert kept == 2  # the grant, then the revocation: each with its change
    for _ in range(3):
        assert jpn.sync.consents.take_decision(grant, jpn.partners.get("KOR")) is None  # type: ignore[union-attr,arg-type]
    assert len(notes_kept(jpn)) == kept
    assert jpn.consents.get(mine).status == "revoked"
    assert riding_statuses(jpn, "JPN", "USA", "K-X") == ["revoked"]


def test_a_decision_that_cannot_be_applied_is_not_kept(net: Net, asked: tuple[str, str]) -> None:
    kor, jpn = net.nodes["KOR"], net.nodes["JPN"]
    mine, _ = asked
    inverted = decision(mine, **{"from": "2019-09-01", "until": "2019-01-01"})
    with pytest.raises(Exception):  # noqa: B017, PT011  (the window's own error)
        jpn.sync.consents.take_decision(signed(kor, "consent-decision", inverted), jpn.partners.get("KOR"))  # type: ignore[union-attr,arg-type]
    assert notes_kept(jpn) == []
    assert jpn.consents.get(mine).status == "requested"


def test_a_release_decided_before_a_revocation_day_still_reaches_its_recipient(
    net: Net, asked: tuple[str, str]
) -> None:
    jpn = net.nodes["JPN"]
    _, theirs = asked
    granted_then_revoked(net, theirs, "2019-12-01")  # from December on; the days before stand
    assert jpn.releases.release("K-X", "USA", "2019-07-01", "JPN").decision.allowed
    taken = net.sync("USA", only="JPN")
    assert [(r.status, r.reason) for r in taken] == [("accepted", "")]


# -- hostile notes are refused, never a crash ---------------------------------------------------------


def test_a_revocation_from_no_day_is_refused_and_the_sync_goes_on(net: Net, asked: tuple[str, str]) -> None:
    kor, jpn = net.nodes["KOR"], net.nodes["JPN"]
    mine, theirs = asked
    kor.consents.grant(theirs, by="KOR")
    net.sync("JPN", only="KOR")
    bad = signed(kor, "consent-decision", decision(mine, status="revoked"))
    jpn.sync.run(pulling_also(net, [], [bad]), only="KOR", push=net.push)
    assert any("from no day" in why for _, why in jpn.sync.decisions)
    assert jpn.consents.get(mine).status == "granted"


@pytest.mark.parametrize(
    "change",
    [{"item": ["K-MSL-1"]}, {"recipient": 7}, {"consent": {"id": "x"}}, {"from": ["2019-01-01"]}],
    ids=["item-list", "recipient-number", "consent-object", "from-list"],
)
def test_a_request_with_fields_of_the_wrong_type_is_a_failed_push_not_a_crash(
    net: Net, change: dict[str, Any]
) -> None:
    jpn = net.nodes["JPN"]
    body = {"consent": "Q", "holder": "JPN", "recipient": "USA", "item": "K-MSL-1", **change}
    status = net.send("JPN", "KOR", [signed(jpn, "consent-request", body)])
    assert not status.successes
    assert "must be text" in status.failures[0].message


def test_a_grant_a_holder_signed_itself_neither_stops_the_recipients_sync_nor_leaves_a_request(
    net: Net, asked: tuple[str, str]
) -> None:
    kor, jpn, usa = net.nodes["KOR"], net.nodes["JPN"], net.nodes["USA"]
    _, theirs = asked
    kor.consents.grant(theirs, by="KOR")
    net.sync("JPN", only="KOR")
    assert jpn.releases.release("K-X", "USA", "2019-06-02", "JPN").decision.allowed
    junk = signed(jpn, "consent-decision", decision("Z", by="JPN"))
    taken = usa.sync.run(pulling_also(net, [junk], []), only="JPN", push=net.push)
    assert [r.status for r in taken] == ["accepted"]
    assert net.statuses  # the receipt was pushed
    assert [(c.id, c.status) for c in usa.consents.consents() if "K-X" in c.id] == [
        ("KOR-JPN-K-X", "granted")
    ]


# -- receipts and incidents ---------------------------------------------------------------------------


def test_a_receipt_is_kept_only_for_a_bundle_this_node_sent_to_its_receiver(net: Net) -> None:
    kor, jpn, usa = net.nodes["KOR"], net.nodes["JPN"], net.nodes["USA"]
    kor.items.add_item("K-R", "KOR", "KR-II", ["dprk-missile"], body=b"tracks")
    seq = kor.releases.release("K-R", "JPN", "2019-10-01").release.seq

    def receipt(by: Services, receiver: str, number: int, bundle: str | None = None) -> dict[str, Any]:
        made = Receipt(
            bundle or bundle_ids("KOR", number)["bundle"],
            "KOR",
            number,
            receiver,
            "accepted",
            "",
            stix_now(),
            {"size": 3},
        )
        return build_receipt(made, by.keys.sign, by.keys.key_id)

    never = net.send("JPN", "KOR", [receipt(jpn, "JPN", 999)])
    assert "never sent" in never.failures[0].message
    elsewhere = net.send("USA", "KOR", [receipt(usa, "USA", seq)])
    assert "went to JPN, not to USA" in elsewhere.failures[0].message
    other_id = net.send("JPN", "KOR", [receipt(jpn, "JPN", seq, bundle_ids("KOR", seq + 1)["bundle"])])
    assert "not release" in other_id.failures[0].message
    assert kor.sync.receipts() == []
    good = net.send("JPN", "KOR", [receipt(jpn, "JPN", seq)])
    assert len(good.successes) == 1
    assert [r["seq"] for r in kor.sync.receipts()] == [seq]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"detail": "x" * 5000}, "detail must hold"),
        ({"detail": "  "}, "detail must hold"),
        ({"id": ["a"]}, "'id' must be text"),
        ({"at": "yesterday"}, "not a timestamp"),
        ({"item": "K-NOPE"}, "not an item this node originated"),
        ({"item": "J-NAV-1"}, "not an item this node originated"),
    ],
)
def test_an_incident_report_is_taken_only_well_formed_and_about_an_item_of_ours(
    net: Net, change: dict[str, Any], why: str
) -> None:
    kor, jpn = net.nodes["KOR"], net.nodes["JPN"]
    body = {
        "id": "I-1",
        "item": "K-MSL-1",
        "originator": "KOR",
        "holder": "JPN",
        "detail": "a laptop was lost",
        "at": stix_now(),
    }
    assert kor.sync.incidents is not None
    with pytest.raises(BundleError, match=why):
        kor.sync.incidents.take(signed(jpn, "incident", {**body, **change}), kor.partners.get("JPN"))  # type: ignore[arg-type]
    assert kor.sync.incidents.incidents() == []
    kor.sync.incidents.take(signed(jpn, "incident", body), kor.partners.get("JPN"))  # type: ignore[arg-type]
    assert [i["item"] for i in kor.sync.incidents.incidents()] == ["K-MSL-1"]


# -- a release a node records for another holder never leaves it --------------------------------------


def test_a_release_a_node_cannot_hand_on_does_not_block_the_partners_collection(net: Net) -> None:
    kor, jpn = net.nodes["KOR"], net.nodes["JPN"]
    kor.items.add_item("K-H", "KOR", "KR-II", ["dprk-missile"], ["USA", "JPN"], body=b"tracks")
    assert kor.releases.release("K-H", "JPN", "2019-10-01").decision.allowed
    net.sync("JPN", only="KOR")
    # on JPN's node the holder defaults to the originator: the record of KOR → USA, not JPN's to send
    assert jpn.releases.release("K-H", "USA", "2019-10-01").decision.route == ("KOR", "USA")
    jpn.items.add_item("J-H", "JPN", "JP-GOKUHI", ["dprk-missile"], ["USA", "KOR"], body=b"ours")
    assert jpn.releases.release("J-H", "USA", "2019-10-01").decision.allowed
    taken = net.sync("USA", only="JPN")
    assert [(r.item, r.status) for r in taken] == [("J-H", "accepted")]


def test_a_release_recorded_on_the_calendars_last_day_is_served_and_taken(net: Net) -> None:
    """People give days from 0001-01-02 to 9999-12-30; a day a node stored (an earlier version took any)
    is decided on as it is when its release is served and taken, never a failed page."""
    kor = net.nodes["KOR"]
    kor.items.add_item("K-E", "KOR", "KR-II", ["dprk-missile"], body=b"late")
    assert kor.releases.release("K-E", "JPN", "9999-12-31").decision.to_dict()["at"] == "9999-12-31"
    kor.items.add_item("K-F", "KOR", "KR-II", ["dprk-missile"], body=b"usual")
    assert kor.releases.release("K-F", "JPN", "2019-10-01").decision.allowed
    taken = net.sync("JPN", only="KOR")
    assert ("K-F", "accepted") in [(r.item, r.status) for r in taken]
