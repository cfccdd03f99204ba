"""No plaintext on disk: item bodies appear in no file of a SQLite node, whether it is open or closed."""

from __future__ import annotations

from pathlib import Path

from gsomia.bootstrap import build, create_node
from gsomia.config import Settings

from .conftest import EXAMPLES_YAML

BODIES = {
    "K-CANARY-1": b"PLAINTEXT-CANARY-7f3a9c-" * 8,
    "K-CANARY-2": "군사II급비밀 평문 카나리아 — 북한 미사일 발사 보고서".encode(),
    "K-CANARY-3": bytes(range(256)) + b"BINARY-CANARY",
}
# what must not be found: each body, and long slices of it (a page boundary could split a body)
NEEDLES = [needle for body in BODIES.values() for needle in (body, body[:24], body[-24:])]


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def assert_no_plaintext(directory: Path) -> set[str]:
    found = files_under(directory)
    for name, data in found.items():
        for needle in NEEDLES:
            assert needle not in data, f"plaintext of an item body found in {name}"
    return set(found)


def test_item_bodies_are_in_no_file_of_the_node_directory(tmp_path: Path):
    """Add items with distinctive bodies, release them, then grep the db, -wal and -shm files, open
    and closed: no body (nor a slice of one) is there."""
    node = tmp_path / "node"
    create_node(node, party="KOR")
    world = tmp_path / "examples.yaml"
    world.write_text(EXAMPLES_YAML, encoding="utf-8")
    services = build(Settings.load(node, environ={}))
    try:
        services.import_world(world)
        for item, body in BODIES.items():
            services.items.add_item(item, "KOR", "KR-II", ["dprk-missile"], body=body)
        services.items.attach_body("K-MSL-1", BODIES["K-CANARY-1"] + b"-attached")
        for item in (*BODIES, "K-MSL-1"):
            for to, at in (("JPN", "2019-09-01"), ("USA", "2019-09-01"), ("JPN", "2020-09-01")):
                services.releases.release(item, to, at)
        assert len(services.releases.outbox()) >= len(BODIES)
        assert services.items.body("K-CANARY-2") == BODIES["K-CANARY-2"]  # still readable with the key
        while_open = assert_no_plaintext(node)
        assert "node.db-wal" in while_open  # the write-ahead log was searched too
    finally:
        services.close()
    assert "node.db" in assert_no_plaintext(node)
