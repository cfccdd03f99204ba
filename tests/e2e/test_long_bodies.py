"""A body longer than one segment, through the CLI: added a piece at a time, kept in STREAM segments,
shown, released and verified; a segment altered in the database is named by verify and never shown."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from gsomia.cli.shared import open_node
from gsomia.crypto.seal import PREFIX_SIZE, SEGMENT, TAG_SIZE

from .test_node_cli import as_json, body, node, run, world  # noqa: F401  (fixtures)

LONG = SEGMENT * 2 + 12_345  # three segments, the last one short


def stored(node_dir: Path, item: str) -> tuple[bytes, bytes]:
    with sqlite3.connect(node_dir / "node.db") as db:
        nonce, ciphertext = db.execute(
            "SELECT nonce, ciphertext FROM bodies WHERE item = ?", (item,)
        ).fetchone()
    return bytes(nonce), bytes(ciphertext)


def test_a_long_body_is_kept_in_segments_shown_released_and_verified(run, node, tmp_path):  # noqa: F811
    plain = os.urandom(LONG)
    path = tmp_path / "long.bin"
    path.write_bytes(plain)
    line = "item add --id K-LONG --originator KOR --level KR-II --topics dprk-missile --body-file"
    assert run(*line.split(), path, "--node", node).exit_code == 0
    nonce, ciphertext = stored(node, "K-LONG")
    assert len(nonce) == PREFIX_SIZE
    assert len(ciphertext) == LONG + 3 * TAG_SIZE
    assert plain[:4096] not in ciphertext  # sealed, not copied
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


def test_a_segment_altered_in_the_database_is_named_by_verify_and_never_shown(run, node, tmp_path):  # noqa: F811
    path = tmp_path / "long.bin"
    path.write_bytes(os.urandom(LONG))
    line = "item add --id K-LONG --originator KOR --level KR-II --topics dprk-missile --body-file"
    assert run(*line.split(), path, "--node", node).exit_code == 0
    _, ciphertext = stored(node, "K-LONG")
    at = 2 * (SEGMENT + TAG_SIZE) + 100  # inside the third segment
    edited = ciphertext[:at] + bytes([ciphertext[at] ^ 1]) + ciphertext[at + 1 :]
    with sqlite3.connect(node / "node.db") as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f'DROP TRIGGER "{name}"')
        db.execute("UPDATE bodies SET ciphertext = ? WHERE item = 'K-LONG'", (edited,))
    verified = run("log", "verify", "--node", node)
    assert verified.exit_code == 1
    assert "K-LONG" in verified.output
    shown = run("item", "show", "K-LONG", "--body", "--node", node)
    assert shown.exit_code == 2
    assert b"K-LONG" in shown.stdout_bytes + shown.stderr_bytes
    assert len(shown.stdout_bytes) < SEGMENT  # no plaintext came out: the proof fails before any segment
