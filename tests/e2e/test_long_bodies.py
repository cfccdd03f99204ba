"""A body longer than one segment, through the CLI: added a piece at a time, kept in STREAM segments (a
row each), shown, released and verified; a segment altered, dropped or moved in the database is named by
verify and never shown."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from gsomia.cli.shared import open_node
from gsomia.crypto.seal import PREFIX_SIZE, SEGMENT, TAG_SIZE

from .test_node_cli import as_json, body, node, run, world  # noqa: F401  (fixtures)

LONG = SEGMENT * 2 + 12_345  # three segments, the last one short


def stored(node_dir: Path, item: str) -> tuple[bytes, bytes, list[bytes]]:
    """The body's nonce, its row's own ciphertext, and its segment rows in order."""
    with sqlite3.connect(node_dir / "node.db") as db:
        nonce, ciphertext = db.execute(
            "SELECT nonce, ciphertext FROM bodies WHERE item = ?", (item,)
        ).fetchone()
        rows = db.execute("SELECT n, data FROM body_segments WHERE item = ? ORDER BY n", (item,)).fetchall()
    assert [n for n, _ in rows] == list(range(len(rows)))
    return bytes(nonce), bytes(ciphertext), [bytes(data) for _, data in rows]


def tamper(node_dir: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Run ``statements`` on the node's database with its append-only triggers dropped (an intruder)."""
    with sqlite3.connect(node_dir / "node.db") as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f'DROP TRIGGER "{name}"')
        for sql, params in statements:
            db.execute(sql, params)


def test_a_long_body_is_kept_in_segments_shown_released_and_verified(run, node, tmp_path):  # noqa: F811
    plain = os.urandom(LONG)
    path = tmp_path / "long.bin"
    path.write_bytes(plain)
    line = "item add --id K-LONG --originator KOR --level KR-II --topics dprk-missile --body-file"
    assert run(*line.split(), path, "--node", node).exit_code == 0
    nonce, own, segments = stored(node, "K-LONG")
    assert len(nonce) == PREFIX_SIZE
    assert own == b""  # the ciphertext is in the segment rows, one sealed segment each
    assert [len(s) for s in segments] == [SEGMENT + TAG_SIZE] * 2 + [12_345 + TAG_SIZE]
    assert all(plain[:4096] not in s for s in segments)  # sealed, not copied
    shown = run("item", "show", "K-LONG", "--body", "--node", node)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout_bytes.endswith(plain)
    released = as_json(
        run("release", "K-LONG", "--to", "JPN", "--at", "2019-10-01", "--node", node, "--json")
    )
    assert released["allowed"] is True
    with open_node(node) as services:  # the transport seal took the body a segment at a time, as STREAM
        (payload,) = services.releases.outbox()
        assert len(payload.payload.nonce) == PREFIX_SIZE
        assert services.releases.open_payload(payload) == plain
    assert run("log", "verify", "--node", node).exit_code == 0


SEGMENT_EDITS = {
    "a byte of the third segment flipped": lambda segments: [
        ("UPDATE body_segments SET data = ? WHERE item = 'K-LONG' AND n = 2", (flip(segments[2], 100),))
    ],
    "the last segment dropped": lambda segments: [
        ("DELETE FROM body_segments WHERE item = 'K-LONG' AND n = 2", ())
    ],
    "two segments swapped": lambda segments: [
        ("UPDATE body_segments SET n = -1 WHERE item = 'K-LONG' AND n = 0", ()),
        ("UPDATE body_segments SET n = 0 WHERE item = 'K-LONG' AND n = 1", ()),
        ("UPDATE body_segments SET n = 1 WHERE item = 'K-LONG' AND n = -1", ()),
    ],
    "the whole ciphertext put back in the body's row": lambda segments: [
        ("UPDATE bodies SET ciphertext = ? WHERE item = 'K-LONG'", (flip(b"".join(segments), 5),)),
        ("DELETE FROM body_segments WHERE item = 'K-LONG'", ()),
    ],
}


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


@pytest.mark.parametrize("edit", SEGMENT_EDITS, ids=list(SEGMENT_EDITS))
def test_a_segment_altered_in_the_database_is_named_by_verify_and_never_shown(run, node, tmp_path, edit):  # noqa: F811
    path = tmp_path / "long.bin"
    path.write_bytes(os.urandom(LONG))
    line = "item add --id K-LONG --originator KOR --level KR-II --topics dprk-missile --body-file"
    assert run(*line.split(), path, "--node", node).exit_code == 0
    _, _, segments = stored(node, "K-LONG")
    tamper(node, *SEGMENT_EDITS[edit](segments))
    verified = run("log", "verify", "--node", node)
    assert verified.exit_code == 1
    assert "K-LONG" in verified.output
    shown = run("item", "show", "K-LONG", "--body", "--node", node)
    assert shown.exit_code == 2
    assert b"K-LONG" in shown.stdout_bytes + shown.stderr_bytes
    assert len(shown.stdout_bytes) < SEGMENT  # no plaintext came out: the proof fails before any segment
    released = run("release", "K-LONG", "--to", "JPN", "--at", "2019-10-01", "--node", node)
    assert released.exit_code == 2  # nothing sent of an altered body
    assert "K-LONG" in released.output
