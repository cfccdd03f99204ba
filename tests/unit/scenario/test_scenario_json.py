"""JSON world files: the same world as YAML, and errors that still name the line."""

from __future__ import annotations

from gsomia.scenario import load_spec

from .sample import WORLDS, assert_points_at, load_error, write


def test_the_json_examples_world_loads_the_same_spec_as_the_yaml_one():
    """examples.json and examples.yaml describe the same world."""
    assert load_spec(WORLDS / "examples.json") == load_spec(WORLDS / "examples.yaml")


def test_malformed_json_names_the_line(tmp_path):
    """A JSON syntax error is reported at its line."""
    path = write(tmp_path, '{"gsomia": 1,\n "parties": [}\n', "world.json")
    error = load_error(path)
    assert_points_at(error, path, 2, "")
    assert "not valid JSON" in str(error)


def test_a_key_given_twice_in_json_is_an_error(tmp_path):
    """JSON would keep the last of two equal keys; we refuse both."""
    path = write(tmp_path, '{"gsomia": 1,\n "gsomia": 1}\n', "world.json")
    error = load_error(path)
    assert_points_at(error, path, 2, "")
    assert "'gsomia' appears twice" in str(error)


def test_a_json_true_is_not_version_1(tmp_path):
    """``true`` equals 1 in Python but is not the version number."""
    path = write(tmp_path, '{"gsomia": true, "parties": []}', "world.json")
    assert_points_at(load_error(path), path, 1, "gsomia")


def test_a_nested_json_error_names_the_line_of_the_key(tmp_path):
    """Errors deep in a JSON file still point at their line."""
    text = (WORLDS / "examples.json").read_text(encoding="utf-8")
    broken = text.replace('"term": "1y"', '"term": "0y"')
    path = write(tmp_path, broken, "world.json")
    line = 1 + broken[: broken.index('"term": "0y"')].count("\n")
    assert_points_at(load_error(path), path, line, "agreements[0].term")
