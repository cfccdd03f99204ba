"""Nothing partial after a crash: a node killed with SIGKILL mid-release keeps whole releases only.

A child process makes releases in a loop on a SQLite node, printing each release's number once it has
committed; it is killed at a random moment, several times. After each kill every committed release has
its decision, its outbox row if allowed (a payload that opens to the body) and its ledger leaf; there is
no outbox row or leaf without its release, no release the child saw committed is missing, and the log
(leaves, stored tree nodes, signed heads) verifies whole.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gsomia.bootstrap import build, create_node
from gsomia.config import Settings
from gsomia.ledger import canonical
from gsomia.services.journal import release_leaf_json
from gsomia.services.release import transport_aad

from .conftest import EXAMPLES_YAML

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

BODY = b"crash-test body \xea\xb5\xb0"
CHILD = """
import sys
from gsomia.bootstrap import build
from gsomia.config import Settings

services = build(Settings.load(sys.argv[1], environ={}))
queries = [
    ("K-BODY-1", "JPN", "2019-09-01"),  # allowed: decision, outbox row, leaf
    ("K-NF-1", "JPN", "2019-09-01"),  # denied (NOFORN): decision and leaf
    ("K-BODY-1", "USA", "2019-09-02"),
]
n = 0
while True:
    item, to, at = queries[n % len(queries)]
    outcome = services.releases.release(item, to, at)
    print(outcome.release.seq, flush=True)
    n += 1
"""
RUNS = 5


def make_node(tmp_path: Path) -> Path:
    node = tmp_path / "node"
    create_node(node, party="KOR")
    world = tmp_path / "examples.yaml"
    world.write_text(EXAMPLES_YAML, encoding="utf-8")
    with build(Settings.load(node, environ={})) as services:
        services.import_world(world)
        services.items.add_item("K-BODY-1", "KOR", "KR-II", ["dprk-missile"], body=BODY)
    return node


def run_and_kill(node: Path, rng: random.Random) -> int:
    """Start the child, let it commit a few releases, kill it at a random moment; the last seq it saw."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-c", CHILD, str(node)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        last = 0
        try:
            for _ in range(rng.randint(3, 12)):
                line = child.stdout.readline()
                assert line, child.stderr.read().decode()
                last = int(line)
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return last


def check_whole(node: Path, seen: int) -> int:
    """Every committed release is whole and nothing is orphaned; returns how many releases there are."""
    with build(Settings.load(node, environ={})) as services, services.store.read() as uow:
        releases, outbox, leaves = uow.releases(), uow.outbox(), uow.leaves()
        records = uow.records()
        bodies = {f"body:{item}" for item, _ in uow.bodies()}
        keys = services.keys
        assert [r.seq for r in releases] == list(range(1, len(releases) + 1))
        assert len(releases) >= seen, "a release the child saw committed is missing"
        by_ref = {leaf.ref: leaf for leaf in leaves}
        assert [leaf.index for leaf in leaves] == list(range(len(leaves)))
        assert (
            set(by_ref)
            == {f"release:{r.seq}" for r in releases} | {f"record:{r.seq}" for r in records} | bodies
        )
        payloads = {o.release_seq: o.payload for o in outbox}
        for row in releases:
            assert by_ref[f"release:{row.seq}"].data == canonical(
                release_leaf_json(row, payloads.get(row.seq))
            )
            assert row.decision["allowed"] is row.allowed
            assert row.decision["reasons"]
        allowed = {r.seq: r for r in releases if r.allowed}
        assert sorted(o.release_seq for o in outbox) == sorted(allowed)
        for row in outbox:
            assert row.recipient == allowed[row.release_seq].recipient
            assert keys.open(row.payload, transport_aad(row.release_seq, row.recipient)) == BODY
    with build(Settings.load(node, environ={})) as services:
        report = services.audit.verify()  # the tree's nodes and the signed heads committed with them
    assert report.ok, report.faults
    assert report.heads >= 1
    return len(releases)


@pytest.mark.slow
def test_releases_killed_at_random_points_are_whole_or_absent(tmp_path: Path):
    """Five SIGKILLs at random moments: afterwards, only whole releases, and none lost once committed."""
    node = make_node(tmp_path)
    rng = random.Random(20191122)
    total = 0
    for _ in range(RUNS):
        seen = run_and_kill(node, rng)
        count = check_whole(node, seen)
        assert count > total
        total = count
