"""Two writers on one SQLite node: 1,000 releases each, no error, no lost row, every release whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gsomia.bootstrap import build, create_node
from gsomia.config import Settings
from gsomia.ledger import canonical
from gsomia.services.journal import release_json

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


def test_two_writers_make_a_thousand_releases_each_with_nothing_lost(tmp_path: Path):
    """Both processes finish cleanly; the node holds 2,000 whole releases, numbered without gaps."""
    node = tmp_path / "node"
    create_node(node, party="KOR")
    world = tmp_path / "examples.yaml"
    world.write_text(EXAMPLES_YAML, encoding="utf-8")
    with build(Settings.load(node, environ={})) as services:
        services.worldbook.import_world(world)
        services.items.add_item("K-BODY-1", "KOR", "KR-II", ["dprk-missile"], body=b"body")
    argv = [sys.executable, "-c", WRITER, str(node), str(EACH)]
    writers = [subprocess.Popen(argv, stderr=subprocess.PIPE) for _ in range(2)]
    for writer in writers:
        _, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, err.decode()
    with build(Settings.load(node, environ={})) as services, services.store.read() as uow:
        releases, outbox, leaves = uow.releases(), uow.outbox(), uow.leaves()
        assert [r.seq for r in releases] == list(range(1, 2 * EACH + 1))
        assert sorted(o.release_seq for o in outbox) == [r.seq for r in releases if r.allowed]
        by_ref = {leaf.ref: leaf.data for leaf in leaves}
        assert all(by_ref[f"release:{r.seq}"] == canonical(release_json(r)) for r in releases)
        assert len(leaves) == len(uow.records()) + len(releases)


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
        node = tmp_path / "node"
        create_node(node, party="KOR", database_url=url)
        world = tmp_path / "examples.yaml"
        world.write_text(EXAMPLES_YAML, encoding="utf-8")
        with build(Settings.load(node, environ={})) as services:
            services.worldbook.import_world(world)
            services.items.add_item("K-BODY-1", "KOR", "KR-II", ["dprk-missile"], body=b"body")
        argv = [sys.executable, "-c", WRITER, str(node), str(EACH)]
        writers = [subprocess.Popen(argv, stderr=subprocess.PIPE) for _ in range(8)]
        for writer in writers:
            _, err = writer.communicate(timeout=900)
            assert writer.returncode == 0, err.decode()
        with build(Settings.load(node, environ={})) as services:
            with services.store.read() as uow:
                releases = uow.releases()
                assert [r.seq for r in releases] == list(range(1, 8 * EACH + 1))
            report = services.audit.verify()
        assert report.ok, report.faults[:3]
        assert report.heads >= 8 * EACH
