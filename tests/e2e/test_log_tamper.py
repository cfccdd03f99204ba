"""The transparency log catches every rewrite: a flipped byte, a deleted row, two rows swapped, a rebuilt log.

Each test makes a real SQLite node through the services, keeps a signed head (as a partner would), writes
more, then edits the database file directly (dropping its append-only triggers, as an intruder with the
file could) and checks that ``verify`` and the check against the kept head both catch it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gsomia.bootstrap import build, create_node
from gsomia.cli import app
from gsomia.config import Settings
from gsomia.ledger import MerkleTree, TreeHead, canonical, leaf_hash, sign_head, verify_inclusion
from gsomia.services.logstore import tree_of

EXAMPLES = Path(__file__).parents[1] / "unit" / "scenario" / "worlds" / "examples.yaml"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A node with a world, items, releases (allowed and refused), consent changes and an event; and the
    head a partner kept half-way."""
    node = tmp_path_factory.mktemp("node") / "kor"
    create_node(node, party="KOR")
    with build(Settings.load(node)) as s:
        s.import_world(EXAMPLES)
        s.items.add_item("K-B1", "KOR", "KR-II", ["dprk-missile"], body=b"body one")
        s.releases.release("K-B1", "JPN", "2019-10-01")
        kept = s.audit.head().to_dict()
        s.releases.release("K-B1", "USA", "2019-10-01")
        s.releases.release("K-NF-1", "USA", "2019-10-01")  # refused: NOFORN
        s.items.add_item("K-B2", "KOR", "KR-III", ["naval"], body=b"body two")
        s.events.add_event("TISA", "notice", "2021-01-05", by="KOR")
    return node, kept


@pytest.fixture
def node(pristine: tuple[Path, dict[str, object]], tmp_path: Path) -> Path:
    copy = tmp_path / "node"
    shutil.copytree(pristine[0], copy)
    return copy


@pytest.fixture
def kept(pristine: tuple[Path, dict[str, object]], tmp_path: Path) -> Path:
    path = tmp_path / "head.json"
    path.write_text(json.dumps(pristine[1]), encoding="utf-8")
    return path


def tamper(node: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    """Run SQL on the node's file with the append-only triggers dropped."""
    db = sqlite3.connect(node / "node.db")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        db.execute(statement, params if "?" in statement else ())
    db.commit()
    db.close()


def verify(node: Path, kept: Path | None = None) -> tuple[int, dict[str, object]]:
    args = ["log", "verify", "--node", str(node), "--json"] + (["--from-head", str(kept)] if kept else [])
    result = CliRunner().invoke(app, args)
    return result.exit_code, json.loads(result.stdout)


def test_an_untouched_log_verifies_and_extends_the_kept_head(node, kept):
    """Every record and release has its leaf, heads verify, and the log extends the partner's head."""
    code, report = verify(node, kept)
    assert (code, report["ok"], report["faults"]) == (0, True, [])
    assert report["leaves"] > 20


def test_every_record_release_and_body_has_exactly_one_leaf(node):
    """No row without its leaf and no leaf without its row: refs and counts match one to one."""
    with build(Settings.load(node)) as s, s.store.read() as uow:
        refs = [leaf.ref for leaf in uow.leaves()]
        expected = {f"record:{r.seq}" for r in uow.records()} | {f"release:{r.seq}" for r in uow.releases()}
        expected |= {f"body:{item}" for item, _ in uow.bodies()}
    assert sorted(refs) == sorted(expected)


@pytest.mark.parametrize("leaf", [0, 5, -1])
def test_a_flipped_byte_in_a_leaf_is_named(node, kept, leaf):
    """Flip a byte of a stored leaf: verify exits 1 naming that leaf (and the kept head, if it covers it)."""
    with sqlite3.connect(node / "node.db") as db:
        count = db.execute("SELECT count(*) FROM leaves").fetchone()[0]
        index = leaf % count
        data = bytearray(db.execute("SELECT data FROM leaves WHERE idx = ?", (index,)).fetchone()[0])
    data[len(data) // 2] ^= 0x01
    tamper(node, "UPDATE leaves SET data = ? WHERE idx = " + str(index), params=(bytes(data),))
    code, report = verify(node, kept)
    assert code == 1
    assert report["first_bad_leaf"] == index
    kept_size = json.loads(kept.read_text())["size"]
    if index < kept_size:
        assert any("the head you kept" in f["what"] for f in report["faults"])


def test_an_edited_record_no_longer_matches_its_leaf(node):
    """Change a release's stored decision: its leaf no longer holds it, and verify names that leaf."""
    tamper(node, "UPDATE releases SET allowed = 1 WHERE seq = 3")
    code, report = verify(node)
    assert code == 1
    assert any("release:3" in f["what"] for f in report["faults"])
    assert report["first_bad_leaf"] is not None


def test_a_deleted_leaf_row_is_named(node, kept):
    """Delete leaf 7: verify names leaf 7 missing and the kept head no longer matches."""
    tamper(node, "DELETE FROM leaves WHERE idx = 7")
    code, report = verify(node, kept)
    assert code == 1
    assert report["first_bad_leaf"] == 7


def test_two_swapped_rows_are_caught(node, kept):
    """Swap leaves 4 and 9 (data, ref, kind): the recomputed tree differs from the stored one at leaf 4."""
    tamper(
        node,
        "UPDATE leaves SET idx = -1 WHERE idx = 4",
        "UPDATE leaves SET idx = 4 WHERE idx = 9",
        "UPDATE leaves SET idx = 9 WHERE idx = -1",
    )
    code, report = verify(node, kept)
    assert code == 1
    assert report["first_bad_leaf"] == 4


def _rebuild(node: Path, edit: Callable[[dict[str, object]], None]) -> None:
    """An intruder holding the node's signing key edits record 2 and rebuilds leaves, tree and heads."""
    with build(Settings.load(node)) as s, s.store.read() as uow:
        keys = s.keys
        records = list(uow.records())
        leaves = list(uow.leaves())
    db = sqlite3.connect(node / "node.db")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    record = next(r for r in records if r.seq == 2)
    data = dict(record.data)
    edit(data)
    db.execute(
        "UPDATE records SET data = ? WHERE seq = 2", (json.dumps(data, sort_keys=True, ensure_ascii=False),)
    )
    new_leaf = canonical({"seq": 2, "kind": record.kind, "key": record.key, "data": data})
    hashes = [leaf_hash(new_leaf if leaf.ref == "record:2" else leaf.data) for leaf in leaves]
    db.execute("UPDATE leaves SET data = ? WHERE ref = 'record:2'", (new_leaf,))
    tree = MerkleTree(hashes)
    db.execute("DELETE FROM tree_nodes")
    db.executemany("INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)", tree.nodes_since(0))
    db.execute("DELETE FROM heads")
    head = sign_head(tree.size, tree.root(), keys, keys.key_id).to_dict()
    db.execute("INSERT INTO heads (seq, data) VALUES (1, ?)", (json.dumps(head, sort_keys=True),))
    db.commit()
    db.close()


def test_a_rebuilt_log_passes_alone_but_fails_against_the_kept_head(node, kept):
    """Rebuilt and re-signed with the node's own key, the log is self-consistent; only a head kept earlier
    (by a partner) shows the rewrite, and verify --from-head catches it."""
    _rebuild(node, lambda data: data.update(name="Rewritten"))
    assert verify(node)[0] == 0
    code, report = verify(node, kept)
    assert code == 1
    assert any("the head you kept" in f["what"] for f in report["faults"])


def test_the_consistency_proof_from_the_kept_head_verifies(node, kept):
    """gsomia log consistency OLD NEW gives a proof that RFC 9162 verification accepts for the kept head."""
    from gsomia.ledger import verify_consistency

    head = TreeHead.from_dict(json.loads(kept.read_text()))
    new = verify(node)[1]["leaves"]
    result = CliRunner().invoke(app, ["log", "consistency", str(head.size), str(new), "--node", str(node)])
    proof = json.loads(result.stdout)
    assert verify_consistency(
        head.size,
        new,
        head.root_hash,
        bytes.fromhex(proof["new_root"]),
        [bytes.fromhex(h) for h in proof["proof"]],
    )


def test_an_inclusion_proof_verifies_against_the_signed_head(node):
    """gsomia log prove gives a proof that leads from the leaf to the signed head's root."""
    head = json.loads(CliRunner().invoke(app, ["log", "head", "--node", str(node)]).stdout)
    proof = json.loads(CliRunner().invoke(app, ["log", "prove", "--leaf", "3", "--node", str(node)]).stdout)
    assert proof["size"] == head["size"]
    assert verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        3,
        head["size"],
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(head["root"]),
    )


def test_proofs_are_served_from_stored_nodes(node):
    """The tree read back from the store equals the tree recomputed from the leaves."""
    with build(Settings.load(node)) as s, s.store.read() as uow:
        stored = tree_of(uow)
        recomputed = MerkleTree(leaf_hash(leaf.data) for leaf in uow.leaves())
    assert stored.export_levels() == recomputed.export_levels()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["log", "prove", "--leaf", "9999"], "is not in a tree"),
        (["log", "consistency", "5", "2"], "OLD <= NEW"),
    ],
)
def test_bad_proof_requests_exit_two(node, args, message):
    """A leaf beyond the log or sizes out of order: exit 2 with a message."""
    result = CliRunner().invoke(app, [*args, "--node", str(node)])
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_file_that_is_not_a_head_is_refused(node, tmp_path):
    """--from-head with garbage: exit 2 naming the file."""
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(app, ["log", "verify", "--node", str(node), "--from-head", str(bad)])
    assert result.exit_code == 2
    assert "bad.json" in result.stderr
