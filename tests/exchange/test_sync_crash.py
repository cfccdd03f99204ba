"""A sync killed mid-way (SIGKILL, a real process) loses nothing and duplicates nothing: the chunks it
committed stay whole, and the next sync takes the rest, each bundle once, with every receipt sent."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from gsomia.bootstrap import build
from gsomia.config import Settings
from gsomia.peers import intake
from tests.exchange.test_two_nodes import GSOMIA, databases, gsomia, pair

__all__ = ["databases", "pair"]  # the fixtures, used by name

RELEASES = 1000


def received_keys(jpn: Path) -> list[str]:
    with build(Settings.load(jpn, environ={})) as services, services.store.read() as uow:
        return [r.key for r in uow.item_records_page(0, 100_000, kind="received")]


def test_a_sync_killed_mid_way_keeps_whole_chunks_and_the_next_takes_the_rest_once(pair):
    kor, jpn = pair["kor"], pair["jpn"]
    with build(Settings.load(kor, environ={})) as services:
        for n in range(RELEASES):
            services.items.add_item(f"K-C-{n}", "KOR", "KR-II", ["dprk-missile"], body=f"body {n}".encode())
            assert services.releases.release(f"K-C-{n}", "JPN", "2019-10-01").decision.allowed
    sync = subprocess.Popen([*GSOMIA, "sync", "--node", str(jpn)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(received_keys(jpn)) < intake.CHUNK:  # the first chunk committed
        assert sync.poll() is None, "the sync ended before its first chunk was seen"
        assert time.monotonic() < deadline, "no chunk committed in 300 s"
        time.sleep(0.01)
    sync.send_signal(signal.SIGKILL)
    sync.wait(timeout=30)
    kept = received_keys(jpn)
    assert sync.returncode == -signal.SIGKILL
    assert intake.CHUNK <= len(kept) < RELEASES, "the sync finished before it was killed"
    assert len(kept) % intake.CHUNK == 0  # only whole chunks: a chunk is one transaction

    gsomia("sync", "--node", str(jpn))
    keys = received_keys(jpn)
    assert len(keys) == RELEASES
    assert Counter(keys).most_common(1)[0][1] == 1  # each bundle once
    assert keys[: len(kept)] == kept  # what the killed sync committed stayed as it was
    inbox = {r["item"] for r in json.loads(gsomia("inbox", "--node", str(jpn), "--json").stdout)}
    assert inbox == {f"K-C-{n}" for n in range(RELEASES)}
    receipts = json.loads(gsomia("receipts", "--node", str(kor), "--json").stdout)
    assert sorted(r["seq"] for r in receipts) == sorted({r["seq"] for r in receipts})
    assert len(receipts) == RELEASES
    for where in (kor, jpn):
        gsomia("log", "verify", "--node", str(where))
