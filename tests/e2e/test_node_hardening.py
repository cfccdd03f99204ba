"""Hardening found by review: tampers `log verify` must catch, and bad `init`/`import` input that must be
exit 2 with nothing left behind.

The tamper tests edit a real SQLite node's file directly (dropping its append-only triggers, as an intruder
holding the file could) and expect ``gsomia log verify`` to exit 1 with a report that is not OK.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gsomia.bootstrap import build, create_node
from gsomia.cli import app
from gsomia.config import Settings
from tests.contract import pg

EXAMPLES = Path(__file__).parents[1] / "unit" / "scenario" / "worlds" / "examples.yaml"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node with a world, a sealed item, two allowed releases (1, 2) and one refused release (3)."""
    node = tmp_path_factory.mktemp("review") / "kor"
    create_node(node, party="KOR")
    with build(Settings.load(node)) as s:
        s.import_world(EXAMPLES)
        s.items.add_item("K-B1", "KOR", "KR-II", ["dprk-missile"], body=b"body one")
        assert s.releases.release("K-B1", "JPN", "2019-10-01").release.allowed
        assert s.releases.release("K-B1", "USA", "2019-10-01").release.allowed
        assert not s.releases.release("K-NF-1", "USA", "2019-10-01").release.allowed  # NOFORN
    return node


@pytest.fixture
def node(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "node"
    shutil.copytree(pristine, copy)
    return copy


def tamper(node: Path, *statements: str) -> None:
    db = sqlite3.connect(node / "node.db")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def verify(node: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["log", "verify", "--node", str(node), "--json"])
    return result.exit_code, result.stdout


def assert_caught(node: Path) -> None:
    code, out = verify(node)
    assert code == 1, f"verify exit {code}: {out.strip()}"
    assert json.loads(out)["ok"] is False


# -- promise 4: log verify misses rewrites --------------------------------------------------------------


def test_verify_catches_an_edited_leaf_kind_column(node):
    """Relabelling the newest leaf (a release) as a consent leaf is not noticed by log verify."""
    tamper(node, "UPDATE leaves SET kind = 'consent' WHERE ref = 'release:3'")
    assert_caught(node)


def test_verify_catches_an_outbox_row_added_for_a_refused_release(node):
    """A payload queued for sending for release 3, which was refused (NOFORN), passes log verify."""
    tamper(
        node,
        "INSERT INTO outbox (seq, release_seq, recipient, wrapped_key, nonce, ciphertext) "
        "SELECT 3, 3, 'USA', wrapped_key, nonce, ciphertext FROM outbox WHERE seq = 2",
    )
    assert_caught(node)


def test_verify_catches_a_deleted_outbox_row_of_an_allowed_release(node):
    """Deleting the outbox row of allowed release 2 (a half-done release) passes log verify."""
    tamper(node, "DELETE FROM outbox WHERE release_seq = 2")
    assert_caught(node)


def test_verify_catches_the_newest_signed_head_being_deleted(node):
    """With the newest head deleted, the last leaves are covered by no signed head, yet verify says OK."""
    tamper(node, "DELETE FROM heads WHERE seq = (SELECT max(seq) FROM heads)")
    assert_caught(node)


def test_verify_catches_two_signed_heads_swapped(node):
    """Swapping two stored heads (so log head serves an older one) passes log verify."""
    tamper(
        node,
        "UPDATE heads SET seq = -1 WHERE seq = 2",
        "UPDATE heads SET seq = 2 WHERE seq = (SELECT max(seq) FROM heads)",
        "UPDATE heads SET seq = (SELECT max(seq) FROM heads) + 1 WHERE seq = -1",
    )
    assert_caught(node)


def test_verify_reports_a_malformed_stored_head_as_a_fault_not_an_internal_error(node):
    """A stored head with an extra JSON key makes verify crash (internal error, no JSON report)."""
    tamper(node, "UPDATE heads SET data = json_set(data, '$.note', 'x') WHERE seq = 1")
    assert_caught(node)


# -- promise 5: bad input to node commands --------------------------------------------------------------


def test_init_with_a_bad_database_url_writes_nothing_and_can_be_retried(tmp_path):
    """gsomia init with an unusable SQLite path exits 2 but leaves keys/ behind, so a retry is refused."""
    target = tmp_path / "n"
    bad = CliRunner().invoke(app, ["init", str(target), "--database-url", "sqlite:////nonexistent/x.db"])
    assert bad.exit_code == 2
    assert not (target / "keys").exists(), "the failed init left the node's keys behind"
    assert CliRunner().invoke(app, ["init", str(target)]).exit_code == 0


def test_init_with_an_unreachable_postgres_server_is_a_clear_error_with_exit_2(tmp_path):
    """An unreachable PostgreSQL URL makes gsomia init exit 1 ("internal error") after writing keys."""
    target = tmp_path / "n"
    url = "postgresql://postgres@127.0.0.1:1/test"
    result = CliRunner().invoke(app, ["init", str(target), "--database-url", url])
    assert result.exit_code == 2, result.stderr
    assert not (target / "keys").exists()


def test_init_on_a_path_that_is_a_file_is_a_clear_error_with_exit_2(tmp_path):
    """gsomia init FILE (a regular file, not a directory) is an internal error with exit 1."""
    target = tmp_path / "f"
    target.write_text("x")
    result = CliRunner().invoke(app, ["init", str(target)])
    assert result.exit_code == 2, result.stderr


def test_import_of_text_sqlite_cannot_store_is_exit_2_with_nothing_written(tmp_path):
    """A world file with a lone surrogate in an id crashes the SQLite insert: exit 1 "internal error"."""
    node = tmp_path / "n"
    create_node(node)
    world = tmp_path / "w.yaml"
    world.write_text(EXAMPLES.read_text().replace("id: K-NAV-1", 'id: "K-NAV\\uD800-1"'), encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(world), "--node", str(node)])
    assert result.exit_code == 2, result.stderr
    with sqlite3.connect(node / "node.db") as db:
        assert db.execute("SELECT count(*) FROM leaves").fetchone()[0] == 0


def test_import_of_a_nul_in_an_id_on_postgres_is_exit_2_with_nothing_written(tmp_path):
    """On PostgreSQL a NUL in a world file's id reaches the INSERT and fails as an internal error (exit 1)."""
    server = pg.server_url()
    reason = pg.unreachable(server)
    if reason is not None:
        if pg.required():
            pytest.fail(reason)
        pytest.skip(reason)
    with pg.fresh_schema(server) as url:
        node = tmp_path / "n"
        create_node(node, database_url=url)
        world = tmp_path / "w.yaml"
        world.write_text(EXAMPLES.read_text().replace("id: K-NAV-1", 'id: "K-NAV\\0-1"'), encoding="utf-8")
        result = CliRunner().invoke(app, ["import", str(world), "--node", str(node)])
        assert result.exit_code == 2, result.stderr
        with build(Settings.load(node)) as s, s.store.read() as uow:
            assert uow.leaf_count() == 0
