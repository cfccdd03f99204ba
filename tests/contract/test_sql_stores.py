"""What the SQL stores (SQLite, PostgreSQL) promise beyond the port: migrations, durability, locks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DBAPIError

from gsomia.services.ports import SealedBody, SealedStream
from gsomia.store import open_store
from gsomia.store.postgres import WRITER_LOCK_CLASS, WRITER_LOCK_KEY
from gsomia.store.schema import APPEND_ONLY_TABLES, metadata
from gsomia.store.sql import MIGRATIONS, SqlStore, alembic_config, newest_migration
from gsomia.store.sqlite import SqliteStore
from tests.contract.writers import one_release

BODY = SealedBody(b"k" * 40, b"n" * 12, b"ciphertext")


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def test_opening_a_store_records_the_newest_migration(sql_store: SqlStore):
    """After ``open_store`` the database is at the head revision, recorded in ``alembic_version``."""
    with sql_store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            head_revision()
        ]
    assert head_revision() == "0009_note_places"


def test_the_newest_migration_file_names_the_head_alembic_reads():
    """Opening a node compares its recorded revision with the newest migration file's name, without
    loading Alembic: that holds only while each file is NNNN_name.py, its revision is its name, and each
    revises the one numbered before it, so the newest file is Alembic's one head."""
    scripts = ScriptDirectory.from_config(alembic_config())
    files = sorted(p.stem for p in (MIGRATIONS / "versions").glob("*.py") if p.stem != "__init__")
    assert [s.revision for s in reversed(list(scripts.walk_revisions()))] == files
    assert newest_migration() == head_revision() == files[-1]


def test_opening_a_node_that_needs_no_migration_does_not_load_alembic(sql_url: str):
    """A node already at the head opens (in a fresh interpreter) without importing Alembic; a database
    with nothing in it is migrated, which does load it."""
    open_store(sql_url).close()  # migrated once here
    probe = (
        "import sys; from gsomia.store import open_store; "
        f"open_store({sql_url!r}, create=False).close(); print('alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_migrations_build_exactly_the_schema_the_adapters_use(sql_store: SqlStore):
    """Alembic finds no difference between the migrated database and ``store.schema.metadata``."""
    with sql_store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_the_first_migration_can_be_undone_and_redone(sql_store: SqlStore):
    """Downgrading to base drops every table; migrating again rebuilds exactly the same schema."""
    with sql_store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(sql_store.engine).get_table_names()) == {"alembic_version"}
    sql_store.migrate()
    with sql_store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_json_is_stored_as_canonical_readable_text(sql_store: SqlStore):
    """The database holds sorted, compact JSON with markings as UTF-8, not escapes."""
    with sql_store.begin() as uow:
        uow.add_record(
            "item", "KOR-0001", {"marking": "極秘", "b": [1, 2], "a": {"z": None, "y": "군사II급비밀"}}
        )
    with sql_store.engine.connect() as conn:
        stored = conn.execute(text("SELECT data FROM records")).scalar_one()
    assert stored == '{"a":{"y":"군사II급비밀","z":null},"b":[1,2],"marking":"極秘"}'


def test_reopening_a_store_sees_what_was_committed_and_migrates_nothing_twice(sql_url: str):
    """A second ``open_store`` on the same database finds every committed row and one recorded revision."""
    first = open_store(sql_url)
    with first.begin() as uow:
        uow.add_record("party", "KOR", {"marking": "군사II급비밀"})
        seq = uow.add_release("KOR-0001", "JPN", "KOR", "2019-11-22", True, {"ok": True}, "t").seq
        uow.add_outbox(seq, "JPN", BODY)
        uow.append_leaf("release", "release:1", b"leaf")
    first.close()
    again = open_store(sql_url)
    try:
        with again.read() as uow:
            assert uow.records()[0].data == {"marking": "군사II급비밀"}
            assert [o.release_seq for o in uow.outbox()] == [seq]
            assert uow.leaf_count() == 1
        assert isinstance(again, SqlStore)
        with again.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        again.close()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
@pytest.mark.parametrize("verb", ["UPDATE", "DELETE"])
def test_the_database_itself_refuses_to_rewrite_history(sql_store: SqlStore, table: str, verb: str):
    """A hand-written UPDATE or DELETE on any table is refused by the database's own triggers."""
    with sql_store.begin() as uow:  # SQLite's triggers fire per row: give every table one
        uow.add_record("party", "KOR", {})
        uow.put_body("KOR-0001", BODY)
        uow.put_body_stream("KOR-0002", SealedStream(b"k" * 40, b"n" * 7, iter([b"s" * 40, b"t" * 20])))
        uow.add_outbox(
            uow.add_release("KOR-0001", "JPN", "KOR", "2019-11-22", True, {}, "t").seq, "JPN", BODY
        )
        uow.append_leaf("release", "release:1", b"leaf")
        uow.add_tree_nodes([(0, 0, b"h" * 32)])
        uow.add_head({"size": 1})
    column = {"bodies": "item", "tree_nodes": "level", "leaves": "idx", "body_segments": "n"}.get(
        table, "seq"
    )
    statement = f"UPDATE {table} SET {column} = {column}" if verb == "UPDATE" else f"DELETE FROM {table}"
    with pytest.raises(DBAPIError, match="append-only"), sql_store.engine.begin() as conn:
        conn.execute(text(statement))


def test_a_reader_keeps_its_snapshot_while_a_writer_commits(sql_store: SqlStore):
    """A read unit that has started reading does not see a release committed after it began."""
    with sql_store.begin() as uow:
        uow.add_release("KOR-0001", "JPN", "KOR", "2019-11-22", True, {}, "t")
    with sql_store.read() as reader:
        assert len(reader.releases()) == 1
        with sql_store.begin() as writer:
            writer.add_release("KOR-0002", "JPN", "KOR", "2019-11-22", True, {}, "t")
        assert len(reader.releases()) == 1
    with sql_store.read() as reader:
        assert len(reader.releases()) == 2


def test_sqlite_runs_in_wal_mode_with_full_sync_foreign_keys_and_a_long_busy_timeout(tmp_path: Path):
    """Every SQLite connection is WAL, synchronous=FULL (2), enforces foreign keys, waits 30 s when busy."""
    store = open_store(tmp_path / "node.db")
    assert isinstance(store, SqliteStore)
    try:
        with store.engine.connect() as conn:
            pragmas = [conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in PRAGMA_NAMES]
    finally:
        store.close()
    assert pragmas == ["wal", 2, 1, 30000]


PRAGMA_NAMES = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")


def test_a_sqlite_write_unit_holds_the_write_lock_from_its_first_moment(tmp_path: Path):
    """While a unit is open (before it writes anything), no other connection can begin writing."""
    path = tmp_path / "node.db"
    store = open_store(path)
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with store.begin():
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            assert other.execute("SELECT count(*) FROM releases").fetchone() == (0,)  # readers still read
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
        store.close()


@pytest.mark.postgres
def test_a_postgres_write_unit_makes_other_writers_wait_until_it_commits(postgres_url: str):
    """A second writer (another store, as another process would be) waits on the advisory lock."""
    store, other = open_store(postgres_url), open_store(postgres_url)
    assert isinstance(store, SqlStore)
    seen: list[int] = []

    def second_writer() -> None:
        with other.begin() as uow:
            seen.append(uow.add_release("KOR-0002", "JPN", "KOR", "2019-11-22", True, {}, "t").seq)

    try:
        with store.begin() as uow:
            uow.add_release("KOR-0001", "JPN", "KOR", "2019-11-22", True, {}, "t")
            thread = threading.Thread(target=second_writer)
            thread.start()
            thread.join(timeout=0.5)
            assert thread.is_alive()
            assert seen == []
            with store.engine.connect() as probe:
                assert not lock_is_free(probe)
        thread.join(timeout=30)
        assert seen == [2]
    finally:
        store.close()
        other.close()


def test_writer_threads_of_one_process_take_turns_without_losing_a_row(sql_store: SqlStore):
    """Four threads sharing one store commit 25 releases each: 100 rows, leaves 0..99 in order."""

    def write(writer: int) -> None:
        for n in range(25):
            with sql_store.begin() as uow:
                one_release(uow, writer, n)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with sql_store.read() as uow:
        assert [r.seq for r in uow.releases()] == list(range(1, 101))
        assert [leaf.ref for leaf in uow.leaves()] == [f"release:{n}" for n in range(1, 101)]


def lock_is_free(conn: Connection) -> bool:
    free = conn.execute(
        text(f"SELECT pg_try_advisory_xact_lock({WRITER_LOCK_KEY})"),
        {"lock_class": WRITER_LOCK_CLASS},
    ).scalar_one()
    conn.rollback()
    return bool(free)


def test_opening_an_up_to_date_sqlite_node_needs_no_write_lock(tmp_path: Path):
    """While another connection holds the write lock, a migrated node still opens and reads at once."""
    path = tmp_path / "node.db"
    open_store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        store = open_store(path)
        try:
            with store.read() as uow:
                assert uow.releases() == ()
        finally:
            store.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_file_that_is_not_a_database_is_named_so_not_called_an_empty_node(tmp_path: Path):
    """Opening a node whose file is not SQLite at all says so (the driver's error), instead of the quick
    look at ``alembic_version`` calling it a database with no node in it."""
    path = tmp_path / "node.db"
    path.write_bytes(b"this is not SQLite " * 300)
    with pytest.raises(DBAPIError, match="not a database"):
        open_store(path, create=False)
