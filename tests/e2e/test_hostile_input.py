"""Hostile input through the real command line: each bad file exits 2 with one short, clean error line.

Every case runs ``gsomia`` in a fresh process with a timeout, so a file that blocks (a FIFO) or never ends
fails the test instead of hanging it. The table says, for each case, how to make the bad input and what the
one ``error:`` line must say; every line must also be short and free of control characters, whatever the
input held.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gsomia.bootstrap import create_node

from .conftest import EXAMPLES_YAML

TIMEOUT = 120  # seconds: far above any case's run, far below a CI job's patience
LONGEST_LINE = 1000  # characters: an error echoes a cut-down value, never a whole hostile one
QUERY = ["--item", "K-MSL-1", "--to", "JPN", "--at", "2019-11-23"]
EXAMPLES_JSON = (Path(__file__).parents[1] / "unit" / "scenario" / "worlds" / "examples.json").read_text(
    encoding="utf-8"
)

Args = list[str]
Make = Callable[[Path], Args]


def gsomia(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``gsomia ARGS...`` in a new process, with no node settings inherited from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GSOMIA_")}
    command = [sys.executable, "-c", "from gsomia.cli import main; main()", *map(str, args)]
    return subprocess.run(
        command, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=TIMEOUT, env=env
    )


def world(tmp_path: Path, text: str, name: str = "world.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str, text: str = EXAMPLES_YAML) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def decide(path: Path) -> Args:
    return ["decide", str(path), *QUERY]


def decide_yaml(old: str, new: str) -> Make:
    return lambda tmp: decide(world(tmp, edited(old, new)))


def decide_json(old: str, new: str) -> Make:
    return lambda tmp: decide(world(tmp, edited(old, new, EXAMPLES_JSON), "world.json"))


def decide_text(text: str, name: str = "world.yaml") -> Make:
    return lambda tmp: decide(world(tmp, text, name))


def fifo(tmp: Path) -> Args:
    path = tmp / "world.yaml"
    os.mkfifo(path)
    return decide(path)


def sparse(tmp: Path) -> Args:
    path = tmp / "world.yaml"
    with open(path, "wb") as handle:
        handle.truncate(600 * 2**20)  # a hole: no disk used, but 600 MiB to read
    return decide(path)


def alias_bomb(tmp: Path) -> Args:
    lines = ["gsomia: 1", 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 10)]
    return decide(world(tmp, "\n".join([*lines, "parties: *l9", ""])))


def node(tmp: Path) -> Path:
    return create_node(tmp / "node").node_dir


def node_with_settings(first_line: bytes) -> Make:
    def make(tmp: Path) -> Args:
        directory = node(tmp)
        settings = directory / "gsomia.toml"
        settings.write_bytes(first_line + settings.read_bytes())
        return ["timeline", "--node", str(directory)]

    return make


def node_with_open_keys(tmp: Path) -> Args:
    directory = node(tmp)
    os.chmod(directory / "keys", 0o777)
    return ["timeline", "--node", str(directory)]


def node_with_a_fifo_key(tmp: Path) -> Args:
    directory = node(tmp)
    (directory / "keys" / "kek.bin").unlink()
    os.mkfifo(directory / "keys" / "kek.bin", 0o600)
    return ["timeline", "--node", str(directory)]


def node_is_a_file(tmp: Path) -> Args:
    return ["timeline", "--node", str(world(tmp, EXAMPLES_YAML))]


BIG = "X" * 2_000_000
CASES: list[tuple[str, Make, str]] = [
    ("a FIFO as the world", fifo, "named pipe (FIFO), not a regular file"),
    ("a directory as the world", lambda tmp: decide(tmp), "is a directory, not a regular file"),
    ("a device as the world", lambda tmp: decide(Path(os.devnull)), "is a device, not a regular file"),
    ("a world larger than any world", sparse, "larger than 512 MiB"),
    ("a JSON version in quotes", decide_json('"gsomia": 1', '"gsomia": "1"'), '"gsomia": 1 (a number'),
    ("a YAML file holding null", decide_text("null\n"), "holds only null"),
    ("a JSON file holding null", decide_text("null", "world.json"), "holds only null"),
    ("a JSON number too large", decide_json('"gsomia": 1', '"gsomia": 1e400'), "the number 1e400"),
    ("a 5000-digit JSON integer", decide_json('"gsomia": 1', f'"gsomia": {"9" * 5000}'), "(5000 characters)"),
    ("an id of two million characters", decide_yaml("level: KR-III,", f"level: {BIG},"), "at most 200"),
    ("an id of 201 characters", decide_yaml("id: K-NF-1,", f"id: {'N' * 201},"), "201 characters long"),
    ("a bell in an id", decide_yaml("id: K-NAV-1,", 'id: "K-NAV\\a1",'), ":60: items[1].id: an item id"),
    ("a right-to-left override in an id", decide_yaml("[NOFORN]", '["NO\\u202eFORN"]'), "U+202E"),
    ("an isolate in a topic", decide_yaml("[naval]", '["\\u2066naval"]'), "U+2066"),
    ("a raw escape character", decide_yaml("name: Korea", "name: \x1b[2JKorea"), "control character U+001B"),
    ("an escape in an unknown key", decide_yaml("    term: 1y", '    "te\\e[2Jrm": 1y'), "unknown key"),
    ("an Arabic-Indic digit in a term", decide_yaml("term: 1y", "term: \u0661y"), "is not a length"),
    ("a term of 99999999 years", decide_yaml("term: 1y", "term: 99999999y"), "longer than 1000 years"),
    ("YAML nested 100000 deep", decide_text("[" * 100_000 + "]" * 100_000), "nests more than 64 levels"),
    ("JSON nested 100000 deep", decide_text("[" * 100_000 + "]" * 100_000, "world.json"), "nests too deep"),
    ("a billion laughs of YAML aliases", alias_bomb, "an alias (*l0)"),
    ("a node given as a file", node_is_a_file, "is a file, not a node directory"),
    ("a settings file that is not UTF-8", node_with_settings(b"# caf\xe9\n"), "gsomia.toml:1: not UTF-8"),
    ("a setting named at length", node_with_settings(b"x" * 100_000 + b" = 1\n"), "unknown setting 'xxx"),
    ("a key directory others may write", node_with_open_keys, "run chmod 700"),
    ("a FIFO in place of a key", node_with_a_fifo_key, "kek.bin: not a key file"),
    ("an unknown item id of 100000 characters", lambda tmp: ["decide", str(world(tmp, EXAMPLES_YAML)),
     "--item", "I" * 100_000, "--to", "JPN", "--at", "2019-11-23"], "(100000 characters)"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_exits_two_with_one_short_clean_error_line(tmp_path, make, fragment):
    """Exit 2; stderr is one line starting 'error: ', saying what is wrong, short and printable."""
    result = gsomia(*make(tmp_path))
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr[:2000]
    assert len(lines) == 1, result.stderr[:2000]
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert len(lines[0]) < LONGEST_LINE
    assert lines[0].isprintable()


def test_a_fresh_node_passes_the_checks_the_hostile_node_cases_trip(tmp_path):
    """The node ``gsomia init`` makes has a private key directory and a clean settings file: it opens."""
    made = gsomia("init", tmp_path / "node")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "node" / "keys").stat().st_mode & 0o077 == 0
    opened = gsomia("timeline", "--node", tmp_path / "node")
    assert opened.returncode == 0, opened.stderr


def test_a_query_with_a_null_item_is_answered_with_a_plain_reason(tmp_path):
    """A JSON Lines query with ``"item": null`` says null is not text, without Python's type names."""
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"item": null, "to": "JPN", "at": "2019-11-23"}\n', encoding="utf-8")
    result = gsomia("decide", world(tmp_path, EXAMPLES_YAML), "--queries", queries)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.splitlines()) == 1
    answer = json.loads(result.stdout)
    assert answer["line"] == 1
    assert "null" in answer["error"]
    assert "NoneType" not in answer["error"]
