"""A node's own TAXII source for ``taxii_bench.py --source benchmarks.taxii_node_source:node_source``.

``node_source(n)`` makes a KOR node on SQLite in a temporary folder (the shipped Korea-Japan world), adds
JPN as its partner, and releases to JPN enough DPRK-missile items (each with a 1 KiB body, each one
durable transaction through the node's Python API) for its collection to hold at least ``n`` objects
(three per release, after the three every bundle shares). It then builds and keeps every release's bundle
(what a running server does in the background as releases are recorded), so that the walk measures
serving, not building; both times are printed to standard error. JPN reads with the benchmark's fixed
token instead of the one the node issued.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gsomia.bootstrap import build, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.store.memory import MemoryStore
from gsomia.web.node_source import NodeTaxiiSource

WORLD = Path(__file__).parents[1] / "src" / "gsomia" / "scenarios" / "korea-japan-2019.yaml"
PARTY, TOKEN = "JPN", "jpn-bench-token"
SHARED = 3  # objects every bundle shares, served once
PER_RELEASE = 3  # a release's own objects: its marking, report and artifact


class BenchNodeSource(NodeTaxiiSource):
    """The node's source, with JPN's reads allowed by the benchmark's fixed token."""

    def authenticate(self, party: str | None, token: str) -> str | None:
        return PARTY if party in (PARTY, None) and token == TOKEN else None


def releases_for(objects: int) -> int:
    """How many releases make a collection of at least ``objects`` objects."""
    return max(0, -(-(objects - SHARED) // PER_RELEASE))


def node_source(objects: int) -> NodeTaxiiSource:
    folder = Path(tempfile.mkdtemp(prefix="gsomia-taxii-node-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # the server stops on SIGTERM: exit runs
    init = [sys.executable, "-c", "from gsomia.cli import main; main()", "init", str(folder / "kor")]
    subprocess.run([*init, "--party", "KOR"], check=True, capture_output=True)
    services = build(Settings.load(folder / "kor"))
    services.import_world(WORLD)
    jpn = Settings.resolve({"node_dir": str(folder / "jpn"), "party": PARTY})
    services.partners.add(compose(MemoryStore(), NodeKeys.generate(), jpn).partners.own_card())
    count = releases_for(objects)
    began = time.perf_counter()
    for n in range(count):
        services.items.add_item(f"K-T-{n}", "KOR", "KR-II", ["dprk-missile"], body=b"x" * 1024)
        services.releases.release(f"K-T-{n}", PARTY, "2019-10-01")
    released = time.perf_counter() - began
    source = BenchNodeSource(services)
    began = time.perf_counter()
    source.prepare()
    print(
        f"node source: {count:,} releases in {released:.1f} s, their bundles built in "
        f"{time.perf_counter() - began:.1f} s ({folder})",
        file=sys.stderr,
    )
    return source
