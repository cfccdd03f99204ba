"""Bad input exits 2 with one line naming what is wrong; a bug exits 1 without a traceback."""

from __future__ import annotations

import json

import pytest

from gsomia import cli
from gsomia.domain.world import World

from .conftest import EXAMPLES_YAML

QUERY = ("--item", "K-MSL-1", "--to", "JPN", "--at", "2019-11-23")


def _is_one_error_line(result) -> bool:
    lines = result.stderr.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error: ")


@pytest.mark.parametrize("command", [("decide", *QUERY), ("timeline",)])
def test_a_missing_world_file_exits_two_naming_the_path(gsomia, tmp_path, command):
    """A world file that is not there: exit 2, one line naming the path."""
    missing = tmp_path / "nowhere.yaml"
    result = gsomia(command[0], missing, *command[1:])
    assert result.exit_code == 2
    assert _is_one_error_line(result)
    assert str(missing) in result.stderr
    assert result.stdout == ""


def test_demo_with_a_missing_world_file_exits_two_naming_the_path(gsomia, tmp_path):
    """``demo --world`` a file that is not there: exit 2 naming the path."""
    result = gsomia("demo", "--world", tmp_path / "nowhere.yaml")
    assert result.exit_code == 2
    assert "nowhere.yaml" in result.stderr


def test_malformed_yaml_exits_two_naming_the_file_and_line(gsomia, write_file):
    """YAML that does not parse: exit 2, the message names the file and the line."""
    world = write_file("broken.yaml", "gsomia: 1\nparties: [\n  - id: KOR\n")
    result = gsomia("decide", world, *QUERY)
    assert result.exit_code == 2
    assert _is_one_error_line(result)
    assert "broken.yaml:" in result.stderr


def test_an_invalid_world_exits_two_naming_the_file_line_and_key(gsomia, write_file):
    """A world with an unknown key: exit 2, the message names the file, line and key."""
    world = write_file("typo.yaml", EXAMPLES_YAML.replace("    term: 1y\n", "    trem: 1y\n"))
    result = gsomia("timeline", world)
    assert result.exit_code == 2
    assert "typo.yaml:" in result.stderr
    assert "trem" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--item", "NOPE", "--to", "JPN", "--at", "2019-11-23"), "unknown item 'NOPE'"),
        (("--item", "K-MSL-1", "--to", "XXX", "--at", "2019-11-23"), "unknown recipient 'XXX'"),
        (
            ("--item", "K-MSL-1", "--to", "JPN", "--at", "2019-11-23", "--holder", "ZZZ"),
            "unknown holder 'ZZZ'",
        ),
        (("--item", "K-MSL-1", "--to", "KOR", "--at", "2019-11-23"), "recipient 'KOR' is the holder itself"),
        (("--item", "K-MSL-1", "--to", "USA", "--at", "2019-11-23", "--holder", "USA"), "holder itself"),
        (("--item", "K-MSL-1", "--to", "JPN", "--at", "2019-02-30"), "'2019-02-30' is not a date"),
        (("--item", "K-MSL-1", "--to", "JPN", "--at", "23/11/2019"), "'23/11/2019' is not a date"),
    ],
)
def test_a_bad_query_exits_two_with_one_line_naming_what_is_wrong(gsomia, examples_world, args, message):
    """Unknown ids, recipient = holder and bad dates are bad input, not denies: exit 2, one line."""
    result = gsomia("decide", examples_world, *args)
    assert result.exit_code == 2
    assert _is_one_error_line(result)
    assert message in result.stderr
    assert result.stdout == ""


def test_a_bad_jsonl_line_exits_two_and_names_its_line(gsomia, examples_world):
    """A batch with one bad line: that line's error object names it, and the process exits 2."""
    result = gsomia("decide", examples_world, "--queries", "-", input='{"item": "K-MSL-1"\n')
    assert result.exit_code == 2
    (line,) = result.stdout.splitlines()
    answer = json.loads(line)
    assert answer["line"] == 1
    assert answer["error"].startswith("not JSON")
    assert "1 bad line(s) in stdin" in result.stderr


def test_a_missing_queries_file_exits_two_naming_the_path(gsomia, examples_world, tmp_path):
    """``--queries`` a file that is not there: exit 2 naming it."""
    result = gsomia("decide", examples_world, "--queries", tmp_path / "q.jsonl")
    assert result.exit_code == 2
    assert _is_one_error_line(result)
    assert "q.jsonl" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--item", "K-MSL-1"), "missing --to, --at"),
        (("--queries", "-", "--item", "K-MSL-1"), "give either --queries or --item"),
        (("--item", "K-MSL-1", "--to", "JPN", "--at", "2019-11-23", "--frobnicate"), "--frobnicate"),
        ((), "WORLD"),
    ],
)
def test_bad_command_lines_exit_two_with_usage(gsomia, examples_world, args, message):
    """Missing or conflicting options, unknown options and a missing world argument: exit 2."""
    argv = ("decide", examples_world, *args) if args else ("decide",)
    result = gsomia(*argv)
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_unknown_command_exits_two(gsomia):
    """``gsomia frobnicate``: exit 2."""
    assert gsomia("frobnicate").exit_code == 2


def test_an_internal_error_exits_one_with_a_short_message_and_no_traceback(
    gsomia, examples_world, monkeypatch
):
    """A bug (any exception gsomia did not raise on purpose) exits 1 with one line and no traceback."""

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(World, "decide", broken)
    result = gsomia("decide", examples_world, *QUERY)
    assert result.exit_code == 1
    assert _is_one_error_line(result)
    assert "internal error: ZeroDivisionError: boom" in result.stderr
    assert "Traceback" not in result.stderr


def test_gsomia_debug_lets_an_internal_error_through_with_its_traceback(gsomia, examples_world, monkeypatch):
    """With GSOMIA_DEBUG=1 the unexpected exception propagates instead of being summed up."""

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(World, "decide", broken)
    result = gsomia("decide", examples_world, *QUERY, env={"GSOMIA_DEBUG": "1"})
    assert result.exit_code == 1
    assert isinstance(result.exception, ZeroDivisionError)


def test_main_maps_bad_input_to_exit_two(examples_world, monkeypatch, capsys):
    """The console script's ``main()`` exits 2 on bad input with ``error: ...`` on stderr."""
    argv = ["gsomia", "decide", str(examples_world), "--item", "NOPE", "--to", "JPN", "--at", "2019-11-23"]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    assert "error: unknown item 'NOPE'" in capsys.readouterr().err


def test_main_exits_zero_on_a_deny(examples_world, monkeypatch, capsys):
    """The console script's ``main()`` exits 0 on a deny: a decision was made."""
    argv = ["gsomia", "decide", str(examples_world), "--item", "K-NF-1", "--to", "USA", "--at", "2019-10-01"]
    monkeypatch.setattr("sys.argv", [*argv, "--json"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 0
    assert '"allowed": false' in capsys.readouterr().out


def test_a_queries_file_that_is_not_utf8_exits_two(gsomia, examples_world, tmp_path):
    """Queries that are not UTF-8 text are bad input: exit 2 naming the file."""
    queries = tmp_path / "latin1.jsonl"
    queries.write_bytes(b'{"item": "K-\xe9"}\n')
    result = gsomia("decide", examples_world, "--queries", queries)
    assert result.exit_code == 2
    assert "latin1.jsonl: the queries are not UTF-8 text" in result.stderr
