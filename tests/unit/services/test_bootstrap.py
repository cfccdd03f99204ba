"""The composition root: making a node, and building its services from settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gsomia.bootstrap import build, create_node, open_node_store
from gsomia.config import Settings
from gsomia.services.errors import NodeError, SettingsError


def test_create_node_writes_settings_keys_and_a_wal_database(tmp_path: Path):
    """A new node: gsomia.toml, keys with private modes, node.db in WAL mode; build opens it."""
    settings = create_node(tmp_path / "n", party="KOR")
    assert settings.party == "KOR"
    assert settings.node_dir == (tmp_path / "n").resolve()
    assert stat.S_IMODE((tmp_path / "n" / "keys" / "kek.bin").stat().st_mode) == 0o600
    assert (tmp_path / "n" / "node.db").read_bytes()[18:20] == b"\x02\x02"  # WAL in the file header
    with build(Settings.load(tmp_path / "n", environ={})) as services:
        assert services.settings == settings
        assert services.worldbook.world().parties == {}


def test_create_node_refuses_an_existing_node_and_changes_nothing(tmp_path: Path):
    """A second create_node on the same directory raises NodeError; the first node's files stay."""
    create_node(tmp_path, party="KOR")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "node.db" not in p.name}
    with pytest.raises(NodeError, match="never overwritten"):
        create_node(tmp_path, party="JPN")
    assert {
        p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "node.db" not in p.name
    } == before


def test_create_node_with_a_bad_setting_writes_nothing(tmp_path: Path):
    """A bad party id or database URL is refused before any file is made."""
    with pytest.raises(SettingsError, match="setting party"):
        create_node(tmp_path / "a", party="K O R")
    with pytest.raises(SettingsError, match="setting database_url"):
        create_node(tmp_path / "b", database_url="oracle://x")
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()


def test_a_node_can_keep_its_records_in_memory(tmp_path: Path):
    """database_url = memory: builds a node whose store is the in-memory adapter."""
    settings = create_node(tmp_path, database_url="memory:")
    with build(settings) as services:
        services.worldbook.add_party({"id": "KOR", "levels": [{"id": "KR-II", "marking": "II"}]})
        assert list(services.worldbook.world().parties) == ["KOR"]


def test_a_database_that_cannot_be_opened_is_a_node_error(tmp_path: Path):
    """A SQLite path in a missing directory: NodeError naming the URL."""
    with pytest.raises(NodeError, match="cannot open the node's database"):
        open_node_store(f"sqlite:///{tmp_path}/missing/dir/node.db")
