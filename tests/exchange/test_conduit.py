"""Three nodes (KOR, USA, JPN), each a real `gsomia serve` process with its own database, set up only
through the CLI, in the counterfactual where Korea's 2019 notice took effect (the world file without the
suspension and the withdrawal): a DPRK-missile item released by KOR to JPN on 2019-12-02 travels KOR → USA
→ JPN under TISA. USA's node forwards it only after its own engine allows the route; JPN sees the whole
route and KOR as originator. A naval item (outside TISA's scope) is refused at KOR and goes nowhere.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.contract import pg

from .test_two_nodes import GSOMIA, WORLD, free_port, gsomia

PARTIES = ("KOR", "USA", "JPN")


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Each node's database URL: empty (SQLite in its directory) or a fresh PostgreSQL schema each."""
    if request.param == "sqlite":
        yield dict.fromkeys(PARTIES, "")
        return
    server = pg.server_or_skip()
    with pg.fresh_schema(server) as a, pg.fresh_schema(server) as b, pg.fresh_schema(server) as c:
        yield dict(zip(PARTIES, (a, b, c), strict=True))


@pytest.fixture
def three(tmp_path: Path, databases: dict[str, str]) -> Iterator[dict[str, Any]]:
    text = WORLD.read_text(encoding="utf-8")
    kept = [
        line for line in text.splitlines() if "suspend-notice" not in line and "withdraw-notice" not in line
    ]
    world = tmp_path / "counterfactual.yaml"
    world.write_text("\n".join(kept) + "\n", encoding="utf-8")
    nodes = {p: tmp_path / p.lower() for p in PARTIES}
    ports = {p: free_port() for p in PARTIES}
    for party, where in nodes.items():
        url_of_db = databases[party]
        gsomia("init", str(where), "--party", party, *(("--database-url", url_of_db) if url_of_db else ()))
        gsomia("import", str(world), "--node", str(where))
        url = f"http://127.0.0.1:{ports[party]}"
        (tmp_path / f"{party}.card").write_text(
            gsomia("partner", "card", "--node", str(where), "--url", url).stdout
        )
    tokens: dict[tuple[str, str], str] = {}  # (server, client) -> the token the client presents to the server
    for server in PARTIES:
        for client in PARTIES:
            if client != server:
                out = gsomia(
                    "partner", "add", str(tmp_path / f"{client}.card"), "--node", str(nodes[server]), "--json"
                )
                tokens[(server, client)] = json.loads(out.stdout)["token"]
    for client in PARTIES:
        for server in PARTIES:
            if client != server:
                gsomia(
                    "partner",
                    "add",
                    str(tmp_path / f"{server}.card"),
                    "--node",
                    str(nodes[client]),
                    "--url",
                    f"http://127.0.0.1:{ports[server]}",
                    "--token",
                    tokens[(server, client)],
                )
    servers = []
    for party in PARTIES:
        with open(tmp_path / f"{party}.log", "wb") as err:
            servers.append(
                subprocess.Popen(
                    [*GSOMIA, "serve", "--node", str(nodes[party]), "--port", str(ports[party])], stderr=err
                )
            )
    deadline = time.monotonic() + 60
    for party in PARTIES:
        while True:
            try:
                requests.get(f"http://127.0.0.1:{ports[party]}/taxii2/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise AssertionError((tmp_path / f"{party}.log").read_text()) from None
                time.sleep(0.2)
    try:
        yield {"nodes": nodes, "tmp": tmp_path}
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)


def test_a_dprk_missile_item_travels_kor_usa_jpn_under_tisa_and_a_naval_item_goes_nowhere(three):
    kor, usa, jpn = (three["nodes"][p] for p in PARTIES)
    body = three["tmp"] / "body.txt"
    body.write_bytes(b"launch telemetry, 2019-12")
    add = [
        "item",
        "add",
        "--originator",
        "KOR",
        "--level",
        "KR-II",
        "--body-file",
        str(body),
        "--node",
        str(kor),
    ]
    gsomia(*add, "--id", "K-CF-MSL", "--topics", "dprk-missile")
    gsomia(*add, "--id", "K-CF-NAV", "--topics", "naval")
    missile = json.loads(
        gsomia(
            "release", "K-CF-MSL", "--to", "JPN", "--at", "2019-12-02", "--node", str(kor), "--json"
        ).stdout
    )
    assert missile["allowed"]
    assert missile["route"] == ["KOR", "USA", "JPN"]
    naval = json.loads(
        gsomia(
            "release", "K-CF-NAV", "--to", "JPN", "--at", "2019-12-02", "--node", str(kor), "--json"
        ).stdout
    )
    assert not naval["allowed"]

    assert json.loads(gsomia("sync", "--node", str(jpn), "--json").stdout) == []  # nothing comes straight
    at_hub = json.loads(gsomia("sync", "--node", str(usa), "--json").stdout)
    assert [(r["item"], r["status"]) for r in at_hub] == [("K-CF-MSL", "forwarding")]
    forwarded = json.loads(gsomia("releases", "--node", str(usa), "--json").stdout)
    assert [(r["item"], r["holder"], r["recipient"], r["allowed"]) for r in forwarded] == [
        ("K-CF-MSL", "KOR", "JPN", True)
    ]
    (entry,) = json.loads(gsomia("sync", "--node", str(jpn), "--json").stdout)
    assert (entry["item"], entry["sender"], entry["originator"]) == ("K-CF-MSL", "USA", "KOR")
    assert entry["route"] == ["KOR", "USA", "JPN"]
    assert (entry["status"], entry["marking"]) == ("accepted", "JP-GOKUHI")
    from gsomia.bootstrap import build
    from gsomia.config import Settings

    with build(Settings.load(jpn, environ={})) as services:
        assert services.items.body("K-CF-MSL") == body.read_bytes()
    for node in (kor, usa, jpn):
        assert gsomia("log", "verify", "--node", str(node)).returncode == 0


def test_an_onward_release_carries_the_originators_consent_and_usa_receives_it_with_kor_as_originator(three):
    """JPN holds KOR's item; its release to USA is refused until KOR grants consent across the nodes; then
    it passes, KOR's signed decision travels with it, and USA's own engine accepts it on that consent,
    with KOR still the originator."""
    kor, usa, jpn = (three["nodes"][p] for p in PARTIES)
    body = three["tmp"] / "body.txt"
    body.write_bytes(b"missile debris analysis")
    gsomia(
        "item",
        "add",
        "--id",
        "K-ON-1",
        "--originator",
        "KOR",
        "--level",
        "KR-II",
        "--topics",
        "dprk-missile",
        "--body-file",
        str(body),
        "--node",
        str(kor),
    )
    gsomia("release", "K-ON-1", "--to", "JPN", "--at", "2019-10-01", "--node", str(kor))
    gsomia("sync", "--node", str(jpn))
    refused = json.loads(
        gsomia(
            "release",
            "K-ON-1",
            "--to",
            "USA",
            "--at",
            "2019-10-02",
            "--holder",
            "JPN",
            "--node",
            str(jpn),
            "--json",
        ).stdout
    )
    assert not refused["allowed"]
    gsomia(
        "consent", "request", "--holder", "JPN", "--recipient", "USA", "--item", "K-ON-1", "--node", str(jpn)
    )
    gsomia("sync", "--node", str(jpn))
    (asked,) = [
        c
        for c in json.loads(gsomia("consent", "list", "--node", str(kor), "--json").stdout)
        if c["id"].startswith("JPN-")
    ]
    gsomia("consent", "grant", asked["id"], "--node", str(kor))
    gsomia("sync", "--node", str(jpn))
    passed = json.loads(
        gsomia(
            "release",
            "K-ON-1",
            "--to",
            "USA",
            "--at",
            "2019-10-02",
            "--holder",
            "JPN",
            "--node",
            str(jpn),
            "--json",
        ).stdout
    )
    assert passed["allowed"], passed["reasons"]
    taken = json.loads(gsomia("sync", "--node", str(usa), "--json").stdout)
    assert [(r["item"], r["sender"], r["originator"], r["status"]) for r in taken] == [
        ("K-ON-1", "JPN", "KOR", "accepted")
    ]
    (held,) = [
        c
        for c in json.loads(gsomia("consent", "list", "--node", str(usa), "--json").stdout)
        if c.get("item") == "K-ON-1"
    ]
    assert (held["holder"], held["recipient"], held["status"]) == ("JPN", "USA", "granted")
    for node in (kor, usa, jpn):
        assert gsomia("log", "verify", "--node", str(node)).returncode == 0


def test_a_release_its_agreement_no_longer_allows_is_withheld_when_served_and_the_withholding_logged(three):
    """KOR released a naval item to JPN on 2019-10-01; a termination recorded since (back-dated to 2019-09-01)
    means KOR would not release it on that day any more: KOR's server withholds it, logs why, and JPN
    receives nothing."""
    kor, jpn = three["nodes"]["KOR"], three["nodes"]["JPN"]
    body = three["tmp"] / "body.txt"
    body.write_bytes(b"harbour survey")
    gsomia(
        "item",
        "add",
        "--id",
        "K-W-1",
        "--originator",
        "KOR",
        "--level",
        "KR-II",
        "--topics",
        "naval",
        "--body-file",
        str(body),
        "--node",
        str(kor),
    )
    made = json.loads(
        gsomia("release", "K-W-1", "--to", "JPN", "--at", "2019-10-01", "--node", str(kor), "--json").stdout
    )
    assert made["allowed"]
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
        str(kor),
    )
    assert json.loads(gsomia("sync", "--node", str(jpn), "--json").stdout) == []
    from gsomia.bootstrap import build
    from gsomia.config import Settings

    with build(Settings.load(kor, environ={})) as services, services.store.read() as uow:
        (logged,) = uow.item_records([f"release:{made['release']}|JPN"], kind="withheld")
    assert logged.data["item"] == "K-W-1"
    assert "terminated on 2019-09-01" in logged.data["reason"]
    assert gsomia("log", "verify", "--node", str(kor)).returncode == 0
