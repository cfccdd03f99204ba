"""Settings: one table, a settings file, environment overrides, loud failures naming the setting."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from gsomia.config import SETTINGS, SETTINGS_FILE, Settings, describe_settings, toml_string, write_file
from gsomia.services.errors import NodeError, SettingsError


def node_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / SETTINGS_FILE).write_text(text, encoding="utf-8")
    return tmp_path


def test_every_setting_has_a_name_a_default_and_help():
    """The single table lists node_dir, party and database_url, each with help and its variable."""
    names = [s.name for s in SETTINGS]
    assert {"node_dir", "party", "database_url"} <= set(names)
    assert all(row["help"] and row["env"] == "GSOMIA_" + row["name"].upper() for row in describe_settings())


def test_the_default_database_is_a_sqlite_file_in_the_node_directory(tmp_path: Path):
    """database_url defaults to sqlite:///<node>/node.db, with the node's absolute path."""
    settings = Settings.load(node_with(tmp_path, ""), environ={})
    assert settings.node_dir == tmp_path.resolve()
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/node.db"
    assert settings.party == ""


def test_a_written_settings_file_reads_back_the_same_settings(tmp_path: Path):
    """write_file then load gives the settings written, the database kept relative to the node."""
    settings = Settings.resolve({"node_dir": str(tmp_path), "party": "KOR"})
    write_file(tmp_path / SETTINGS_FILE, settings.file_values())
    assert "{node_dir}" in (tmp_path / SETTINGS_FILE).read_text(encoding="utf-8")
    assert Settings.load(tmp_path, environ={}) == settings


def test_the_environment_overrides_the_file_and_the_command_line_overrides_both(tmp_path: Path):
    """Defaults < gsomia.toml < GSOMIA_<NAME> < overrides."""
    node = node_with(tmp_path, 'party = "KOR"\n')
    assert Settings.load(node, environ={"GSOMIA_PARTY": "JPN"}).party == "JPN"
    assert Settings.load(node, environ={"GSOMIA_PARTY": "JPN"}, overrides={"party": "USA"}).party == "USA"


def test_the_node_directory_comes_from_the_environment_when_not_given(tmp_path: Path):
    """GSOMIA_NODE_DIR names the node when no directory is passed."""
    node = node_with(tmp_path, "")
    assert Settings.load(environ={"GSOMIA_NODE_DIR": str(node)}).node_dir == node.resolve()


@pytest.mark.parametrize(
    ("text", "env", "named"),
    [
        ('database_url = "mysql://x"\n', {}, "setting database_url (from "),
        ("", {"GSOMIA_DATABASE_URL": "ftp://x"}, "setting database_url (from GSOMIA_DATABASE_URL)"),
        ('party = "K O R"\n', {}, "setting party"),
        ("party = 7\n", {}, "setting party"),
        ('colour = "blue"\n', {}, "unknown setting 'colour'"),
        ('node_dir = "/elsewhere"\n', {}, "node_dir is the directory this file is in"),
        ("party = \n", {}, "not valid TOML"),
    ],
)
def test_a_bad_value_fails_loudly_naming_the_setting(tmp_path: Path, text, env, named):
    """Every bad value is a SettingsError whose message names the setting and its source."""
    with pytest.raises(SettingsError) as caught:
        Settings.load(node_with(tmp_path, text), environ=env)
    assert named in str(caught.value)


def test_a_directory_without_settings_is_not_a_node(tmp_path: Path):
    """Loading settings where there is no gsomia.toml says how to make a node."""
    with pytest.raises(NodeError, match="gsomia init"):
        Settings.load(tmp_path, environ={})


@pytest.mark.parametrize("value", ['quo"te', "back\\slash", "tab\tnew\nline\x7f", "군사II급비밀", "😀"])
def test_toml_strings_read_back_as_written(value):
    """The tiny TOML writer escapes what TOML needs escaped and nothing else."""
    assert tomllib.loads(f"x = {toml_string(value)}")["x"] == value


def test_a_file_given_as_the_node_says_it_is_a_file_not_a_node_directory(tmp_path: Path):
    """``--node world.yaml`` is not told to run ``gsomia init world.yaml``, which would fail."""
    path = tmp_path / "world.yaml"
    path.write_text("gsomia: 1\n", encoding="utf-8")
    with pytest.raises(NodeError) as caught:
        Settings.load(path, environ={})
    assert "is a file, not a node directory" in str(caught.value)
    assert f"gsomia init {path}" not in str(caught.value)


def test_a_settings_file_that_is_not_utf8_names_its_line_and_byte(tmp_path: Path):
    """A stray Latin-1 byte is reported with its line, its byte offset, and what to do."""
    (tmp_path / SETTINGS_FILE).write_bytes(b'party = "KOR"\n# caf\xe9\n')
    with pytest.raises(SettingsError) as caught:
        Settings.load(tmp_path, environ={})
    message = str(caught.value)
    assert f"{tmp_path / SETTINGS_FILE}:2: not UTF-8 text (byte 0xe9 at byte offset 19, column 6)" in message
    assert "save the file as UTF-8" in message


def test_a_fifo_as_the_settings_file_is_refused_without_blocking(tmp_path: Path):
    """A named pipe called gsomia.toml is not read (it would wait for a writer forever)."""
    os.mkfifo(tmp_path / SETTINGS_FILE)
    with pytest.raises(SettingsError, match="not a regular file"):
        Settings.load(tmp_path, environ={})


@pytest.mark.parametrize(
    "text",
    ["x" * 100_000 + " = 1\n", "party = [" + "1," * 50_000 + "]\n", 'party = "' + "K" * 100_000 + '"\n'],
)
def test_a_long_bad_setting_is_echoed_cut_short(tmp_path: Path, text: str):
    """An unknown name or a bad value of any length is shown cut down, not whole."""
    with pytest.raises(SettingsError) as caught:
        Settings.load(node_with(tmp_path, text), environ={})
    assert len(str(caught.value)) < 500
    assert "characters)" in str(caught.value)


@pytest.mark.parametrize("party", ["K\u202eOR", "K\u200bOR", "K" * 201])
def test_a_party_id_the_world_file_would_refuse_is_refused_here_too(tmp_path: Path, party: str):
    """A bidirectional override, an invisible character or an over-long id is not a party id."""
    with pytest.raises(SettingsError, match="is not a party id"):
        Settings.load(node_with(tmp_path, ""), environ={"GSOMIA_PARTY": party})
