"""Reading the world records after a given number: exactly the world's kinds after it, in order, on every
store; on the SQL stores through the partial index of the world's records (migration 0007), so that the
read costs what it returns, not every consent and party ever recorded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy import text

from gsomia.services.ports import KEYED_KINDS, WORLD_KINDS, Store
from gsomia.store import open_store
from gsomia.store.schema import (
    WORLD_CONDITION,
    WORLD_CONDITION_SQLITE,
    WORLD_RECORDS_AFTER,
    WORLD_RECORDS_AFTER_SQLITE,
)
from gsomia.store.sql import MIGRATIONS


def test_world_records_after_a_number_are_the_world_kinds_after_it_in_order(store: Store):
    kinds = [*WORLD_KINDS, *KEYED_KINDS] * 3  # world records among many others, interleaved
    with store.begin() as uow:
        for n, kind in enumerate(kinds):
            uow.add_record(kind, f"{kind}-{n}", {"n": n})
    with store.read() as uow:
        everything = uow.records()
        for after in (0, 1, len(WORLD_KINDS), len(kinds) - 2, len(kinds)):
            want = [r for r in everything if r.kind in WORLD_KINDS and r.seq > after]
            assert list(uow.world_records(after)) == want
        assert len(uow.world_records()) == 3 * len(WORLD_KINDS)


def test_the_partial_index_and_the_query_name_the_same_kinds_as_the_migration():
    """The query's condition is the index's (else the database cannot use the index) and the migration's
    (a new world kind comes with a migration that rebuilds the index)."""
    path = MIGRATIONS / "versions" / "0007_world_records_index.py"
    spec = importlib.util.spec_from_file_location("migration_0007", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._WORLD == WORLD_CONDITION
    assert module._WORLD_SQLITE == WORLD_CONDITION_SQLITE
    assert WORLD_CONDITION in WORLD_RECORDS_AFTER
    assert WORLD_CONDITION_SQLITE in WORLD_RECORDS_AFTER_SQLITE
    for kind in WORLD_KINDS:
        assert f"'{kind}'" in WORLD_CONDITION
        assert f"kind = '{kind}'" in WORLD_CONDITION_SQLITE
    assert WORLD_CONDITION.count("'") == WORLD_CONDITION_SQLITE.count("'") == 2 * len(WORLD_KINDS)


def test_on_sqlite_the_read_goes_through_the_partial_index(tmp_path: Path):
    """SQLite's plan for the query reads ix_records_world_seq's range, in order, nothing sorted (PostgreSQL's
    planner chooses by the table's statistics, so a plan on a test's near-empty table says nothing: its
    benefit is measured instead)."""
    store = open_store(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            plan = conn.execute(
                text("EXPLAIN QUERY PLAN " + WORLD_RECORDS_AFTER_SQLITE.format(":after")), {"after": 5}
            )
            steps = " | ".join(str(row[-1]) for row in plan)
    finally:
        store.close()
    assert steps == "SEARCH records USING INDEX ix_records_world_seq (seq>?)", steps


def test_on_sqlite_a_node_without_the_index_still_reads_its_world_records(tmp_path: Path):
    """A node whose index is gone (dropped by hand, or the table rebuilt) is not broken: the same rows come
    back, by the plan SQLite chooses itself."""
    store = open_store(f"sqlite:///{tmp_path / 'node.db'}")
    try:
        with store.begin() as uow:
            for n, kind in enumerate([*WORLD_KINDS, *KEYED_KINDS]):
                uow.add_record(kind, f"{kind}-{n}", {"n": n})
        with store.read() as uow:
            want = list(uow.world_records(2))
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(text("DROP INDEX ix_records_world_seq"))
            conn.commit()
        with store.read() as uow:
            assert list(uow.world_records(2)) == want
            assert [r.kind for r in want] == list(WORLD_KINDS[2:])
    finally:
        store.close()
