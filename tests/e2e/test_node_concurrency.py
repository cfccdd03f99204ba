"""Concurrent writers on one node (two on SQLite, eight on PostgreSQL): 1,000 releases each, no error, no
lost row, every release whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gsomia.bootstrap import build, create_node
from gsomia.config import Settings
from gsomia.ledger import canonical
from gsomia.services.journal import release_leaf_json

from .conftest import EXAMPLES_YAML

EACH = 1000
WRITER = """
import sys
from gsomia.bootstrap import build
from gsomia.config import Settings

with build(Settings.load(sys.argv[1], environ={})) as services:
    for n in range(int(sys.argv[2])):
        item, to = (("K-BODY-1", "JPN"), ("K-NF-1", "JPN"), ("K-BODY-1", "USA"))[n % 3]
        services.releases.release(item, to, "2019-09-01")
"""


def _seeded_node(tmp_path: Path, database_url: str = "") -> Path:
    """A KOR node holding the examples world and K-BODY-1, an item with a body."""
    node = tmp_path / "node"
    create_node(node, party="KOR", database_url=database_url)
    world = tmp_path / "examples.yaml"
    world.write_text(EXAMPLES_YAML, encoding="utf-8")
    with build(Settings.load(node, environ={})) as services:
        services.import_world(world)
        services.items.add_item("K-BODY-1", "KOR", "KR-II", ["dprk-missile"], body=b"body")
    return node


def _run_writers(node: Path, count: int) -> None:
    """``count`` processes, each making EACH releases; every one must exit cleanly."""
    argv = [sys.executable, "-c", WRITER, str(node), str(EACH)]
    writers = [subprocess.Popen(argv, stderr=subprocess.PIPE) for _ in range(count)]
    for writer in writers:
        _, err = writer.communicate(timeout=900)
        assert writer.returncode == 0, err.decode()


@pytest.mark.slow
def test_two_writers_make_a_thousand_releases_each_with_nothing_lost(tmp_path: Path):
    """Both processes finish cleanly; the node holds 2,000 whole releases, numbered without gaps."""
    node = _seeded_node(tmp_path)
    _run_writers(node, 2)
    with build(Settings.load(node, environ={})) as services, services.store.read() as uow:
        releases, outbox, leaves = uow.releases(), uow.outbox(), uow.leaves()
        assert [r.seq for r in releases] == list(range(1, 2 * EACH + 1))
        assert sorted(o.release_seq for o in outbox) == [r.seq for r in releases if r.allowed]
        by_ref = {leaf.ref: leaf.data for leaf in leaves}
        payloads = {o.release_seq: o.payload for o in outbox}
        assert all(
            by_ref[f"release:{r.seq}"] == canonical(release_leaf_json(r, payloads.get(r.seq)))
            for r in releases
        )
        assert len(leaves) == len(uow.records()) + len(releases) + 1  # and K-BODY-1's body leaf


@pytest.mark.slow
def test_eight_writers_on_postgresql_make_a_thousand_releases_each_with_a_whole_log(tmp_path: Path):
    """Eight processes on one PostgreSQL node (a fresh schema): 8,000 releases, none lost, and the
    transparency log (leaves, tree nodes, one signed head per write) verifies whole afterwards."""
    import pytest

    from tests.contract import pg

    why = pg.unreachable(pg.server_url())
    if why is not None:
        if pg.required():
            pytest.fail(f"{why} (GSOMIA_REQUIRE_POSTGRES=1)")
        pytest.skip(why)
    with pg.fresh_schema(pg.server_url()) as url:
        node = _seeded_node(tmp_path, url)
        _run_writers(node, 8)
        with build(Settings.load(node, environ={})) as services:
            with services.store.read() as uow:
                releases = uow.releases()
                assert [r.seq for r in releases] == list(range(1, 8 * EACH + 1))
            report = services.audit.verify()
        assert report.ok, report.faults[:3]
        assert report.heads >= 8 * EACH
