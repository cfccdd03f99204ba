"""Only ``gsomia init`` creates a node: opening a database that holds none refuses and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from gsomia.bootstrap import build, create_node
from gsomia.config import Settings
from gsomia.services.errors import NodeError
from gsomia.store.postgres import psycopg_url


def _settings_on(url: str, tmp_path: Path) -> Settings:
    node = tmp_path / "node"
    create_node(node, party="KOR")  # keys and settings: a real node directory...
    return Settings.load(node, environ={}, overrides={"database_url": url})  # ...pointed elsewhere


def test_a_node_pointed_at_an_empty_postgresql_database_refuses_and_creates_no_table(postgres_url, tmp_path):
    """An empty schema is not a node: the services refuse to open it, naming gsomia init."""
    settings = _settings_on(postgres_url, tmp_path)
    with pytest.raises(NodeError, match="no gsomia node in that database; create one with gsomia init"):
        build(settings)
    engine = create_engine(psycopg_url(postgres_url))
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_a_node_whose_sqlite_file_is_missing_refuses_and_creates_no_file(tmp_path):
    """A missing database file is not an empty node: nothing is created where it should have been."""
    missing = tmp_path / "elsewhere.db"
    settings = _settings_on(f"sqlite:///{missing}", tmp_path)
    with pytest.raises(NodeError, match="no gsomia node database at"):
        build(settings)
    assert not missing.exists()
