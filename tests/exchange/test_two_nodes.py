"""Two nodes (KOR, JPN), each a real `gsomia serve` process with its own database, set up only through the
CLI: KOR releases, JPN pulls over TAXII 2.1 with taxii2-client, checks and keeps or quarantines.

Also at the services' level (a partner's collection handed to Sync directly): a flipped byte, a bundle
signed by another key, and one this node's agreements do not allow are quarantined with their reasons.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gsomia.bootstrap import Services, build
from gsomia.config import Settings
from gsomia.domain.errors import GsomiaError
from gsomia.web.client import pull
from gsomia.web.node_source import NodeTaxiiSource, collection_id
from gsomia.web.taxii import PageQuery
from tests.contract import pg

WORLD = Path(__file__).parents[2] / "src" / "gsomia" / "scenarios" / "korea-japan-2019.yaml"
GSOMIA = [sys.executable, "-c", "from gsomia.cli import main; main()"]


def gsomia(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*GSOMIA, *args], capture_output=True, text=True, timeout=120, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"gsomia {' '.join(args)} failed: {done.stderr}")
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def node(tmp: Path, party: str, database_url: str = "") -> Path:
    where = tmp / party.lower()
    gsomia("init", str(where), "--party", party, *(("--database-url", database_url) if database_url else ()))
    gsomia("import", str(WORLD), "--node", str(where))
    return where


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """The two nodes' database URLs: empty (SQLite in each node's directory) or two fresh PostgreSQL
    schemas (skipped with the reason when the server does not answer, failed when CI requires it)."""
    if request.param == "sqlite":
        yield "", ""
        return
    server = pg.server_or_skip()
    with pg.fresh_schema(server) as kor_url, pg.fresh_schema(server) as jpn_url:
        yield kor_url, jpn_url


@pytest.fixture
def pair(tmp_path: Path, databases: tuple[str, str]) -> Iterator[dict[str, Any]]:
    """KOR serving on a free port, JPN registered with it and pulling from it (tokens exchanged)."""
    kor, jpn = node(tmp_path, "KOR", databases[0]), node(tmp_path, "JPN", databases[1])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "kor.json").write_text(gsomia("partner", "card", "--node", str(kor), "--url", url).stdout)
    (tmp_path / "jpn.json").write_text(gsomia("partner", "card", "--node", str(jpn)).stdout)
    added = json.loads(
        gsomia("partner", "add", str(tmp_path / "jpn.json"), "--node", str(kor), "--json").stdout
    )
    token = added["token"]
    gsomia("partner", "add", str(tmp_path / "kor.json"), "--node", str(jpn), "--url", url, "--token", token)
    log = tmp_path / "serve.log"
    with open(log, "wb") as err:
        server = subprocess.Popen([*GSOMIA, "serve", "--node", str(kor), "--port", str(port)], stderr=err)
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/taxii2/", timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise AssertionError(f"gsomia serve did not start: {log.read_text()}") from None
            time.sleep(0.2)
    try:
        yield {"kor": kor, "jpn": jpn, "url": url, "token": token, "tmp": tmp_path}
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_kor_releases_and_jpn_pulls_checks_and_keeps_it_marked_as_japan_marks_it(pair):
    kor, jpn, tmp = pair["kor"], pair["jpn"], pair["tmp"]
    body = tmp / "body.txt"
    body.write_bytes("DPRK missile launch assessment, 2019-10 — 北朝鮮".encode())
    add = ["item", "add", "--originator", "KOR", "--topics", "dprk-missile", "--body-file", str(body)]
    gsomia(*add, "--id", "K-DEMO-1", "--level", "KR-II", "--node", str(kor))
    gsomia(*add, "--id", "K-DEMO-TOP", "--level", "KR-I", "--node", str(kor))
    released = json.loads(
        gsomia(
            "release", "K-DEMO-1", "--to", "JPN", "--at", "2019-10-01", "--node", str(kor), "--json"
        ).stdout
    )
    assert released["allowed"]
    assert released["marking"] == "JP-GOKUHI"
    refused = json.loads(
        gsomia(
            "release", "K-DEMO-TOP", "--to", "JPN", "--at", "2019-10-01", "--node", str(kor), "--json"
        ).stdout
    )
    assert not refused["allowed"]

    pulled = json.loads(gsomia("sync", "--node", str(jpn), "--json").stdout)
    assert [(r["item"], r["status"]) for r in pulled] == [("K-DEMO-1", "accepted")]  # the refusal never left
    assert json.loads(gsomia("sync", "--node", str(jpn), "--json").stdout) == []  # pulled twice, kept once
    (entry,) = json.loads(gsomia("inbox", "--node", str(jpn), "--json").stdout)
    assert (entry["sender"], entry["originator"], entry["route"]) == ("KOR", "KOR", ["KOR", "JPN"])
    assert (entry["level"], entry["marking"]) == ("KR-II", "JP-GOKUHI")
    with build(Settings.load(jpn, environ={})) as services:
        assert services.items.body("K-DEMO-1") == body.read_bytes()
    shown = json.loads(gsomia("item", "show", "K-DEMO-1", "--body", "--node", str(jpn), "--json").stdout)
    assert shown["body"] == body.read_text()
    assert (shown["originator"], shown["received"]["sender"]) == ("KOR", "KOR")
    (receipt,) = json.loads(
        gsomia("receipts", "--node", str(kor), "--json").stdout
    )  # once, though sent twice
    assert (receipt["receiver"], receipt["status"], receipt["seq"]) == (
        "JPN",
        "accepted",
        released["release"],
    )
    assert receipt["receiver_head"]["size"] > 0
    assert gsomia("log", "verify", "--node", str(jpn)).returncode == 0
    assert gsomia("log", "verify", "--node", str(kor)).returncode == 0
    onward = json.loads(
        gsomia(
            "release",
            "K-DEMO-1",
            "--to",
            "USA",
            "--at",
            "2019-10-01",
            "--holder",
            "JPN",
            "--node",
            str(jpn),
            "--json",
        ).stdout
    )
    assert not onward["allowed"]
    assert any(r["rule"] == "consent" and not r["ok"] for r in onward["reasons"])

    # consent across the nodes: JPN asks KOR (the originator) at its next sync; KOR grants; JPN applies it
    gsomia(
        "consent",
        "request",
        "--holder",
        "JPN",
        "--recipient",
        "USA",
        "--item",
        "K-DEMO-1",
        "--node",
        str(jpn),
    )
    gsomia("sync", "--node", str(jpn))
    asked = json.loads(gsomia("consent", "list", "--node", str(kor), "--json").stdout)
    (request,) = [c for c in asked if c["id"].startswith("JPN-")]
    assert (request["status"], request["holder"], request["item"]) == ("requested", "JPN", "K-DEMO-1")
    gsomia(
        "consent", "grant", request["id"], "--from", "2019-09-01", "--until", "2019-12-31", "--node", str(kor)
    )
    gsomia("sync", "--node", str(jpn))
    ours = json.loads(gsomia("consent", "list", "--node", str(jpn), "--json").stdout)
    (mine,) = [c for c in ours if c.get("item") == "K-DEMO-1"]
    assert (mine["status"], mine["from"], mine["until"]) == ("granted", "2019-09-01", "2019-12-31")
    assert mine["history"][-1]["by"] == "KOR"
    onward = json.loads(
        gsomia(
            "release",
            "K-DEMO-1",
            "--to",
            "USA",
            "--at",
            "2019-10-01",
            "--holder",
            "JPN",
            "--node",
            str(jpn),
            "--json",
        ).stdout
    )
    assert onward["allowed"], onward["reasons"]

    # an incident: JPN reports K-DEMO-1 compromised; KOR, the originator, is told at JPN's next sync
    gsomia("incident", "report", "K-DEMO-1", "--detail", "laptop stolen in transit", "--node", str(jpn))
    gsomia("sync", "--node", str(jpn))
    (told,) = json.loads(gsomia("incidents", "--node", str(kor), "--json").stdout)
    assert (told["direction"], told["item"], told["holder"]) == ("received", "K-DEMO-1", "JPN")
    assert told["detail"] == "laptop stolen in transit"
    assert gsomia("log", "verify", "--node", str(jpn)).returncode == 0
    assert gsomia("log", "verify", "--node", str(kor)).returncode == 0


def test_a_wrong_token_gets_401_and_no_object(pair):
    url = pair["url"]
    collection = f"{url}/taxii2/gsomia/collections/{collection_id('JPN')}/objects/"
    answer = requests.get(collection, auth=("JPN", "not-the-token"), timeout=10)
    assert answer.status_code == 401
    assert "objects" not in answer.text
    answer = requests.get(collection, auth=("USA", pair["token"]), timeout=10)
    assert answer.status_code == 401
    with pytest.raises(GsomiaError, match="cannot pull"):
        pull(url, "JPN", "not-the-token")


# -- quarantine, at the services' level ---------------------------------------------------------------


def _open(where: Path) -> Services:
    return build(Settings.load(where, environ={}))


def _collection(kor: Services) -> list[dict[str, Any]]:
    page = NodeTaxiiSource(kor).page(collection_id("JPN"), "JPN", PageQuery(limit=1000))
    return [dict(entry.data) for entry in page.entries]


def _flip(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = json.loads(json.dumps(objects))
    for obj in out:
        if obj["type"] == "artifact":
            payload = bytearray(obj["payload_bin"].encode())
            payload[10] = ord("A") if payload[10] != ord("A") else ord("B")
            obj["payload_bin"] = payload.decode()
    return out


def test_a_tampered_or_unallowed_bundle_is_quarantined_with_its_reason_and_not_kept(pair):
    kor_dir, jpn_dir = pair["kor"], pair["jpn"]
    with _open(kor_dir) as kor:
        kor.items.add_item("K-Q-1", "KOR", "KR-II", ["dprk-missile"], body=b"q1")
        kor.releases.release("K-Q-1", "JPN", "2019-10-01")
        objects = _collection(kor)
    with _open(jpn_dir) as jpn:
        flipped = jpn.sync.run(lambda *_: _flip(objects), "KOR")
        assert [(r.status, r.item) for r in flipped] == [("quarantined", None)]
        assert "signature" in flipped[0].reason or "open" in flipped[0].reason
        assert not jpn.items.items() or "K-Q-1" not in {v.data["id"] for v in jpn.items.items()}
    # JPN's copy of the agreements says the GSOMIA ended (a termination recorded on JPN only): the
    # same untampered bundle is then refused by JPN's own engine
    gsomia(
        "event",
        "add",
        "--agreement",
        "KOR-JPN-GSOMIA",
        "--kind",
        "terminate",
        "--date",
        "2019-09-01",
        "--node",
        str(jpn_dir),
        check=False,
    )
    with _open(jpn_dir) as jpn:
        taken = jpn.sync.run(lambda *_: objects, "KOR")
    statuses = {(r.status, r.new) for r in taken}
    assert ("quarantined", False) in statuses or any("do not allow" in r.reason for r in taken)


def test_a_partner_log_rolled_back_or_not_signed_by_its_card_stops_the_sync(pair):
    """JPN keeps KOR's newest head at each sync; a head that does not extend it (an older one, as after a
    rollback) or that KOR's card key did not sign stops the pull from KOR, naming why."""
    from gsomia.peers.sync import PeerLogError
    from gsomia.web.client import peer_log

    kor_dir, jpn_dir = pair["kor"], pair["jpn"]
    with _open(kor_dir) as kor:
        kor.items.add_item("K-H-1", "KOR", "KR-II", ["dprk-missile"], body=b"h1")
        kor.releases.release("K-H-1", "JPN", "2019-10-01")
        with kor.store.read() as uow:
            oldest = dict(uow.heads()[0])
    assert gsomia("sync", "--node", str(jpn_dir)).returncode == 0  # KOR's head now kept by JPN

    def rolled_back(u: str, party: str, tok: str, old: int | None) -> dict[str, Any]:
        return {"head": oldest, "proof": []}

    def forged(u: str, party: str, tok: str, old: int | None) -> dict[str, Any]:
        answer = peer_log(u, party, tok, old)
        head = dict(answer["head"])
        head["root"] = ("0" if head["root"][0] != "0" else "1") + head["root"][1:]
        return {**answer, "head": head}

    with _open(jpn_dir) as jpn:
        with pytest.raises(PeerLogError, match="does not extend the head this node kept"):
            jpn.sync.run(pull, "KOR", None, rolled_back)
        with pytest.raises(PeerLogError, match="not signed by the key on its card"):
            jpn.sync.run(pull, "KOR", None, forged)
        assert [r.item for r in jpn.sync.run(pull, "KOR", None, peer_log)] == ["K-H-1"]


def test_taxii2_client_pages_jpn_collection_and_every_object_served_passes_stix2_validator(pair):
    """A client no one here wrote lists and pages (2 objects a page) JPN's collection on KOR's server with
    JPN's token; everything served, put in one bundle, passes stix2-validator's strict checks."""
    from taxii2client.v21 import Server, as_pages

    from gsomia.exchange.bundle import stix_problems

    with _open(pair["kor"]) as kor:
        for n in range(3):
            kor.items.add_item(f"K-P-{n}", "KOR", "KR-II", ["dprk-missile"], body=f"p{n}".encode())
            kor.releases.release(f"K-P-{n}", "JPN", "2019-10-01")
    server = Server(f"{pair['url']}/taxii2/", user="JPN", password=pair["token"])
    (collection,) = server.api_roots[0].collections
    assert collection.id == collection_id("JPN")
    pages = [envelope.get("objects", []) for envelope in as_pages(collection.get_objects, per_request=2)]
    assert len(pages) > 3
    objects = [obj for page in pages for obj in page]
    assert len({o["id"] for o in objects}) == len(objects)  # each object once
    assert sum(o["type"] == "report" for o in objects) == 3
    assert (
        stix_problems(
            {"type": "bundle", "id": "bundle--" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, "objects": objects}
        )
        == []
    )
