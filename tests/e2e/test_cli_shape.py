"""The command line's shape: clean help, one error style, the release and impact tables, the demo at 80
columns, and bounded input (a query line, an item body)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from gsomia.cli import app
from gsomia.cli.queries import MAX_LINE_BYTES

from .conftest import EXAMPLES_YAML


def _command_paths() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = [()]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        paths += [(name, sub) for sub in subs] if subs else [(name,)]
        if subs:
            paths.append((name,))
    return paths


def _one_error_line(stderr: str) -> bool:
    lines = stderr.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error: ")


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "gsomia")
def test_every_help_page_shows_no_bool_metavar_no_braced_argument_and_no_true_default(gsomia, path):
    """``--help`` of each command: no ``<bool>``, no ``{WORLD}``-style argument, no ``[default: True]``."""
    result = gsomia(*path, "--help")
    assert result.exit_code == 0, result.stderr
    assert "Usage: gsomia" in result.stdout
    assert "<bool>" not in result.stdout
    assert re.search(r"\{[A-Z]+\}", result.stdout) is None
    assert "default: True" not in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("decide", "w.yaml", "--frobnicate"), "no such option: --frobnicate"),
        (("decide",), "missing argument 'WORLD'"),
        (("impact", "w.yaml", "--limit", "many"), "'--limit'"),
        (("frobnicate",), "no such command 'frobnicate'"),
        (("log", "prove", "--leaf"), "--leaf"),
    ],
)
def test_a_usage_error_is_one_error_line_and_exit_two(gsomia, args, words):
    """Click's own usage errors come out as one ``error:`` line on stderr, no box, no Usage block."""
    result = gsomia(*args)
    assert result.exit_code == 2
    assert _one_error_line(result.stderr), result.stderr
    assert words in result.stderr
    assert "Usage:" not in result.stderr


def test_the_console_script_reports_a_usage_error_in_one_line():
    """Run as a program, an unknown option is one ``error:`` line and exit 2."""
    done = subprocess.run(
        [sys.executable, "-c", "from gsomia.cli import main; main()", "timeline", "--frobnicate"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert _one_error_line(done.stderr), done.stderr


def test_impact_tables_break_flows_down_by_level_with_the_denied_column(gsomia, examples_world):
    """The impact tables carry the by-level grouping and the denied count that --json has."""
    result = gsomia("impact", examples_world, "--terminate", "KOR-JPN-GSOMIA", "--on", "2019-11-01")
    assert result.exit_code == 0, result.stderr
    assert "By level" in result.stdout
    assert "denied" in result.stdout.split("By agreement")[1]


def test_impact_says_in_one_sentence_when_nothing_changes(gsomia, examples_world):
    """A termination years after the day compared changes no flow: one sentence, no empty tables."""
    result = gsomia(
        "impact", examples_world, "--terminate", "USA-KOR-GSOMIA", "--on", "2030-01-01", "--at", "2019-10-01"
    )
    assert result.exit_code == 0, result.stderr
    assert "nothing changes" in result.stdout
    assert "By agreement" not in result.stdout


def test_the_demo_at_80_columns_cuts_no_label_and_tells_who_did_what_when(gsomia):
    """At 80 columns: no ``…`` anywhere, no legend relying on reverse video, the story's dates named."""
    result = gsomia("demo", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "…" not in out
    assert "reversed" not in out
    assert all(len(line) <= 80 for line in out.splitlines())
    opening = out.split("Parties and levels")[0]
    flat = " ".join(re.sub(r"[│╭╮╰╯─]", " ", opening).split())
    for words in (
        "Korea",
        "gave notice",
        "2019-08-23",
        "2019-11-22",
        "conditionally",
        "disputed",
        "2023-03-21",
    ):
        assert words in flat


def test_a_query_line_past_the_cap_stops_the_batch_with_exit_two(gsomia, examples_world, tmp_path):
    """A query line longer than 64 KiB is an error for the command, named with its line number."""
    queries = tmp_path / "long.jsonl"
    ok = '{"item": "K-MSL-1", "to": "JPN", "at": "2019-10-01"}\n'
    queries.write_text(ok + "x" * (MAX_LINE_BYTES + 10) + "\n", encoding="utf-8")
    result = gsomia("decide", examples_world, "--queries", queries)
    assert result.exit_code == 2
    assert len(result.stdout.splitlines()) == 1
    assert "line 2 is longer than 64 KiB" in result.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_as_queries_ends_in_exit_two():
    """An endless line (``/dev/zero``) is refused after the cap: the process ends with exit 2."""
    scenario = Path(__file__).resolve().parents[2] / "src" / "gsomia" / "scenarios" / "korea-japan-2019.yaml"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gsomia.cli import main; main()",
            "decide",
            str(scenario),
            "--queries",
            "/dev/zero",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "line 1 is longer than 64 KiB" in done.stderr


@pytest.fixture
def node(gsomia, tmp_path) -> Path:
    """A KOR node holding the examples world."""
    world = tmp_path / "examples.yaml"
    world.write_text(EXAMPLES_YAML, encoding="utf-8")
    directory = tmp_path / "node"
    assert gsomia("init", directory, "--party", "KOR").exit_code == 0
    assert gsomia("import", world, "--node", directory).exit_code == 0
    return directory


def test_release_table_says_what_was_recorded_before_the_reasons(gsomia, node):
    """``gsomia release`` names the release number, its ledger leaf and the outbox, then the reasons."""
    result = gsomia("release", "K-NF-1", "--to", "JPN", "--at", "2019-10-01", "--node", node)
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(gsomia("releases", "--node", node, "--json").stdout)
    size = json.loads(gsomia("log", "head", "--node", node).stdout)["size"]
    out = result.stdout
    assert f"Recorded release #{row['seq']}" in out
    assert re.search(rf"Ledger leaf\s+{size - 1}\b", out)
    assert re.search(r"Outbox entry\s+none", out)
    assert out.index("Ledger leaf") < out.index("Reasons")


@pytest.mark.parametrize("source", ["file", "/dev/zero"])
def test_a_body_past_max_body_bytes_is_refused_with_exit_two(gsomia, node, tmp_path, source):
    """A body larger than max_body_bytes (here 16 bytes, even an endless one) is refused with exit 2."""
    if source == "/dev/zero" and not Path(source).exists():
        pytest.skip("needs /dev/zero")
    body = tmp_path / "body.bin"
    body.write_bytes(b"x" * 17)
    path = body if source == "file" else Path(source)
    item = ("item", "add", "--id", "K-BIG-1", "--originator", "KOR", "--level", "KR-II", "--topics", "naval")
    result = gsomia(*item, "--body-file", path, "--node", node, env={"GSOMIA_MAX_BODY_BYTES": "16"})
    assert result.exit_code == 2
    assert _one_error_line(result.stderr), result.stderr
    assert "larger than max_body_bytes (16 bytes)" in result.stderr
    assert "K-BIG-1" not in gsomia("item", "list", "--node", node).stdout
