"""Hostile world files: each is a ScenarioError that names the line and echoes no more than a short value."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.domain.errors import ScenarioError
from gsomia.scenario import load_spec, locate
from gsomia.scenario.fields import Context, Cursor
from gsomia.scenario.jsontext import JsonLines
from gsomia.scenario.reader import _checked_item, _plain_item
from gsomia.scenario.source import LineMap, _loader, parse_text

from .sample import BASE, WORLDS, assert_points_at, edited, load_error, write

EXAMPLES_JSON = (WORLDS / "examples.json").read_text(encoding="utf-8")


def error_for(
    tmp_path: Path, old: str, new: str, text: str = BASE, name: str = "world.yaml"
) -> ScenarioError:
    return load_error(write(tmp_path, edited(old, new, text), name))


def test_a_fifo_is_refused_before_it_is_opened(tmp_path):
    """A named pipe would block the reader forever: it is named as a FIFO, never read."""
    path = tmp_path / "world.yaml"
    os.mkfifo(path)
    error = load_error(path)
    assert_points_at(error, path, None, "")
    assert "named pipe (FIFO), not a regular file" in str(error)


def test_a_device_is_refused(tmp_path):
    """/dev/null is not a world file, though it opens and reads as empty."""
    error = load_error(Path(os.devnull))
    assert "is a device, not a regular file" in str(error)


def test_a_file_larger_than_any_world_is_refused_unread(tmp_path):
    """A 600 MiB file (sparse, so free to make) is refused by its size."""
    path = tmp_path / "world.yaml"
    with open(path, "wb") as handle:
        handle.truncate(600 * 2**20)
    assert "larger than 512 MiB" in str(load_error(path))


def test_a_file_holding_null_says_null_not_empty(tmp_path):
    """``null`` is not an empty file: the error says it holds null and what a world is."""
    error = load_error(write(tmp_path, "null\n"))
    assert "holds only null" in str(error)
    assert "'gsomia: 1'" in str(error)


def test_a_json_version_in_quotes_gets_json_advice(tmp_path):
    """``"gsomia": "1"`` is told to write the JSON number, not YAML."""
    error = error_for(tmp_path, '"gsomia": 1', '"gsomia": "1"', EXAMPLES_JSON, "world.json")
    assert_points_at(error, tmp_path / "world.json", 2, "gsomia")
    assert str(error).endswith('write "gsomia": 1 (a number, not in quotes)')


@pytest.mark.parametrize(
    ("number", "shown"),
    [("1e400", "the number 1e400"), ("-1e400", "the number -1e400"), ("9" * 5000, "(5000 characters)")],
)
def test_a_json_number_python_would_change_is_shown_as_written(tmp_path, number, shown):
    """1e400 is not called inf, and a 5000-digit integer is neither a traceback nor printed whole."""
    error = error_for(tmp_path, '"gsomia": 1', f'"gsomia": {number}', EXAMPLES_JSON, "world.json")
    assert shown in str(error)
    assert len(str(error)) < 300


def test_a_json_number_where_an_id_belongs_is_told_to_be_quoted(tmp_path):
    """A huge number as an id is still told to be written in quotes."""
    error = error_for(tmp_path, '"id": "KOR"', '"id": 1e999', EXAMPLES_JSON, "world.json")
    assert "got the number 1e999; write it in quotes" in str(error)


@pytest.mark.parametrize(
    ("new", "said"),
    [
        ('{id: "I\\x07", originator', "U+0007"),
        ('{id: "I\\u202e1", originator', "U+202E"),
        ('{id: "\\u20661", originator', "U+2066"),
        ('{id: "I\\u200b1", originator', "U+200B"),
        ("{id: " + "I" * 201 + ", originator", "201 characters long; an id has at most 200"),
    ],
)
def test_an_id_with_a_hidden_character_or_too_long_names_its_line(tmp_path, new, said):
    """Control characters, bidirectional overrides, zero-width characters and over-long ids are refused."""
    error = error_for(tmp_path, "{id: I1, originator", new)
    assert_points_at(error, tmp_path / "world.yaml", 20, "items[0].id")
    assert said in str(error)
    assert str(error).isprintable()


@pytest.mark.parametrize("where", ["topics: [naval]", "caveats: [naval]", "releasable_to: [naval]"])
def test_ids_in_lists_are_checked_too(tmp_path, where):
    """Topics, caveats and party lists are ids: an override inside one is refused at its entry."""
    error = error_for(tmp_path, "topics: [naval]", where.replace("naval", '"na\\u202eval"'))
    assert "U+202E" in str(error)
    assert "[0]: " in str(error)


def test_a_name_may_hold_spaces_but_not_an_override(tmp_path):
    """Names and markings are not ids, yet an override or an escape in one is refused."""
    assert load_spec(write(tmp_path, edited("marking: II", "marking: II 급 비밀"))).parties[0].levels[0]
    error = error_for(tmp_path, "marking: II", 'marking: "II\\u202e"')
    assert_points_at(error, tmp_path / "world.yaml", 5, "parties[0].levels[0].marking")
    assert "U+202E" in str(error)


def test_a_value_of_two_million_characters_is_echoed_cut_short(tmp_path):
    """Whatever the key, a huge value appears in the message as 60 characters and its length."""
    for old, new in [
        ("kind: treaty", "kind: " + "t" * 2_000_000),
        ("I1, originator", "X" * 2_000_000 + ", originator"),
    ]:
        error = error_for(tmp_path, old, new)
        assert "(2000000 characters)" in str(error)
        assert len(str(error)) < 400


@pytest.mark.parametrize(
    "key", ['"te\\e[2Jrm"', '"' + "k" * 500 + '"', '"te\\nrm"'], ids=["escape", "long", "newline"]
)
def test_an_unknown_key_that_is_no_word_is_named_only_in_the_message(tmp_path, key):
    """A key with an escape or newline, or far too long, is shown escaped and cut, on the key's line."""
    error = error_for(tmp_path, "    term: 1y\n", f"    term: 1y\n    {key}: 1\n")
    assert_points_at(error, tmp_path / "world.yaml", 15, "agreements[0]")
    assert "unknown key" in str(error)
    assert str(error).isprintable()
    assert len(str(error)) < 400


@pytest.mark.parametrize("term", ["\u0661y", "1\u0660y", "\uff11y", "²y"])
def test_a_length_takes_only_ascii_digits(tmp_path, term):
    """Arabic-Indic, fullwidth and superscript digits are not read as numbers."""
    error = error_for(tmp_path, "term: 1y", f"term: {term}")
    assert_points_at(error, tmp_path / "world.yaml", 14, "agreements[0].term")
    assert "is not a length" in str(error)


@pytest.mark.parametrize("term", ["99999999y", "1001y", "12001m", "366001d", "9" * 5000 + "d"])
def test_a_length_beyond_a_thousand_years_is_refused(tmp_path, term):
    """Terms too long for the calendar are refused naming the key, the limit, and no 5000-digit echo."""
    error = error_for(tmp_path, "term: 1y", f"term: {term}")
    assert_points_at(error, tmp_path / "world.yaml", 14, "agreements[0].term")
    assert "longer than 1000 years; write at most 1000y, 12000m or 366000d" in str(error)
    assert len(str(error)) < 300


def test_a_thousand_years_is_still_a_length(tmp_path):
    """The limit itself is accepted."""
    spec = load_spec(write(tmp_path, edited("term: 1y", "term: 1000y")))
    assert spec.agreements[0].term is not None


def test_a_date_takes_only_ascii_digits(tmp_path):
    """A day written with Arabic-Indic digits is not a date."""
    error = error_for(tmp_path, "2016-11-23", "٢٠١٦-١١-٢٣")
    assert "is not a date" in str(error)


def test_an_alias_bomb_is_refused_at_its_first_alias(tmp_path):
    """A billion laughs of YAML aliases is refused as soon as an alias appears, not expanded."""
    lines = ["gsomia: 1", "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 10)]
    path = write(tmp_path, "\n".join([*lines, "parties: *l9", ""]))
    error = load_error(path)
    assert_points_at(error, path, 3, "")
    assert "an alias (*l0)" in str(error)


def test_a_merge_key_is_refused_as_an_alias(tmp_path):
    """``<<: *defaults`` needs an alias, so it is refused with the same advice."""
    error = error_for(tmp_path, "  - id: KJ\n", "  - &kj\n    id: KJ\n  - <<: *kj\n    id: KJ2\n")
    assert "write the value out in full" in str(error)


@pytest.mark.parametrize("name", ["world.yaml", "world.json"])
def test_nesting_a_hundred_thousand_deep_is_refused_without_a_crash(tmp_path, name):
    """Deep nesting is a ScenarioError, never a RecursionError or a crash."""
    error = load_error(write(tmp_path, "[" * 100_000 + "]" * 100_000, name))
    assert "nests" in str(error)


def test_a_raw_control_character_names_its_line(tmp_path):
    """An escape character YAML refuses is named by code point and line, not a stream position."""
    path = write(tmp_path, edited("marking: HI", "marking: H\x1bI"))
    error = load_error(path)
    assert_points_at(error, path, 8, "")
    assert "control character U+001B" in str(error)


def test_json_lines_match_the_yaml_line_map_for_every_key():
    """The lazy JSON line finder gives the line ruamel records, for every path in the examples world."""
    data = json.loads(EXAMPLES_JSON)
    fast, slow = JsonLines(EXAMPLES_JSON), LineMap(_loader().load(EXAMPLES_JSON))
    paths: list[tuple[str | int, ...]] = []

    def walk(value: object, path: tuple[str | int, ...]) -> None:
        paths.append(path)
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
        )
        for key, inner in items:
            walk(inner, (*path, key))

    walk(data, ())
    assert len(paths) > 100
    assert all(fast(path) == slow(path) for path in paths[1:])
    assert fast(("agreements", 99)) is None
    assert fast(("nope",)) is None


def test_locate_finds_lines_in_json_text():
    """locate(error, file, text) on JSON text points at the key's line without reading it as YAML."""
    from gsomia.domain.errors import WorldError

    line = 1 + EXAMPLES_JSON[: EXAMPLES_JSON.index('"term"')].count("\n")
    assert locate(WorldError("bad", ("agreements", 0, "term")), "w.json", EXAMPLES_JSON).line == line


def test_a_duplicate_json_key_deep_in_the_file_names_its_line():
    """The second of two equal keys is found by its line, even deep inside a list."""
    text = '{"gsomia": 1,\n "parties": [\n  {"id": "A",\n   "levels": [],\n   "id": "B"}]}\n'
    with pytest.raises(ScenarioError) as caught:
        parse_text(text, "world.json")
    assert caught.value.line == 5
    assert "'id' appears twice" in str(caught.value)


VALUES = st.one_of(
    st.sampled_from(["K-1", "KOR", "KR-II", "naval", " K", "K\u202e", "", "X" * 201, "007"]),
    st.none(),
    st.integers(),
    st.lists(st.sampled_from(["KOR", "JPN", "naval", "", "\x07", "X" * 201]), max_size=3),
)
ITEM_KEYS = ["id", "originator", "level", "topics", "releasable_to", "caveats", "colour"]


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(ITEM_KEYS), VALUES, max_size=7))
def test_the_quick_item_reader_agrees_with_the_checked_one(value):
    """The quick path for plain items returns what the checked path returns, and never takes a bad item."""
    quick = _plain_item(value)
    try:
        checked = _checked_item(Cursor(Context("world.json"), ("items", 0), value))
    except ScenarioError:
        assert quick is None
        return
    assert quick is None or quick == checked


def test_a_plain_item_takes_the_quick_path_and_reads_the_same():
    """An item of plain ids is read without cursors, to the Item the checked path reads."""
    value = {"id": "K-1", "originator": "KOR", "level": "KR-II", "topics": ["naval"], "releasable_to": []}
    quick = _plain_item(value)
    assert quick is not None
    assert quick == _checked_item(Cursor(Context("world.json"), ("items", 0), value))
