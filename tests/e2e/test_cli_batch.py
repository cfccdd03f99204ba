"""``gsomia decide --queries``: JSON Lines in, one decision (or one error) per line out, in order."""

from __future__ import annotations

import json

from .conftest import Invoke

GOOD = [
    {"item": "K-MSL-1", "to": "JPN", "at": "2019-11-23"},
    {"item": "K-NAV-1", "to": "JPN", "at": "2019-11-23"},
    {"item": "K-MSL-1", "to": "USA", "at": "2019-10-01", "holder": "JPN"},
]


def _lines(*queries: object) -> str:
    return "".join((q if isinstance(q, str) else json.dumps(q)) + "\n" for q in queries)


def _run(gsomia: Invoke, world, text: str, write_file=None):
    if write_file is None:
        return gsomia("decide", world, "--queries", "-", input=text)
    return gsomia("decide", world, "--queries", write_file("q.jsonl", text))


def test_a_batch_of_good_lines_prints_one_decision_per_line_in_order(gsomia, examples_world, write_file):
    """Every good line is answered by its decision JSON, in input order, and the exit code is 0."""
    result = _run(gsomia, examples_world, _lines(*GOOD), write_file)
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["item"], d["recipient"], d["holder"]) for d in out] == [
        ("K-MSL-1", "JPN", "KOR"),
        ("K-NAV-1", "JPN", "KOR"),
        ("K-MSL-1", "USA", "JPN"),
    ]
    assert [d["route"] for d in out] == [["KOR", "USA", "JPN"], [], ["JPN", "USA"]]


def test_a_batch_reads_stdin_when_the_file_is_a_dash(gsomia, examples_world):
    """``--queries -`` reads the queries from standard input."""
    result = _run(gsomia, examples_world, _lines(GOOD[0]))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["marking"] == "JP-GOKUHI"


def test_the_batch_output_matches_single_decide_json(gsomia, examples_world):
    """A batch line prints exactly what ``decide --json`` prints for the same query."""
    single = gsomia(
        "decide", examples_world, "--item", "K-NAV-1", "--to", "JPN", "--at", "2019-11-23", "--json"
    )
    batch = _run(gsomia, examples_world, _lines(GOOD[1]))
    assert batch.stdout == single.stdout


def test_bad_lines_are_answered_in_place_and_the_batch_exits_two(gsomia, examples_world):
    """Each bad line yields {"line": N, "error": ...} in its place; good lines stay intact; exit code 2."""
    text = _lines(
        GOOD[0],
        "{not json",
        {"item": "K-MSL-1", "to": "JPN"},
        {"item": "K-MSL-1", "to": "JPN", "at": "2019-11-23", "priority": "high"},
        GOOD[1],
        {"item": "NOPE", "to": "JPN", "at": "2019-11-23"},
        {"item": "K-MSL-1", "to": "KOR", "at": "2019-11-23"},
        {"item": "K-MSL-1", "to": "JPN", "at": "2019-02-30"},
        {"item": "K-MSL-1", "to": "XXX", "at": "2019-11-23"},
        "[1, 2]",
        {"item": 7, "to": "JPN", "at": "2019-11-23"},
        "",
        GOOD[2],
    )
    result = _run(gsomia, examples_world, text)
    assert result.exit_code == 2
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 13
    errors = {d["line"]: d["error"] for d in out if "error" in d}
    assert sorted(errors) == [2, 3, 4, 6, 7, 8, 9, 10, 11, 12]
    assert "not JSON" in errors[2]
    assert "missing key 'at'" in errors[3]
    assert "unknown key 'priority'" in errors[4]
    assert "unknown item 'NOPE'" in errors[6]
    assert "holder itself" in errors[7]
    assert "'2019-02-30' is not a date" in errors[8]
    assert "unknown recipient 'XXX'" in errors[9]
    assert "JSON object" in errors[10]
    assert "'item' must be a string" in errors[11]
    assert "empty line" in errors[12]
    assert [out[i]["item"] for i in (0, 4, 12)] == ["K-MSL-1", "K-NAV-1", "K-MSL-1"]
    assert out[12]["holder"] == "JPN"
    assert "10 bad line(s)" in result.stderr


def test_a_null_holder_means_the_originator(gsomia, examples_world):
    """``"holder": null`` is the same as leaving the holder out."""
    result = _run(gsomia, examples_world, _lines({**GOOD[0], "holder": None}))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["holder"] == "KOR"


def test_an_empty_batch_prints_nothing_and_succeeds(gsomia, examples_world):
    """No queries, no output, exit code 0."""
    result = _run(gsomia, examples_world, "")
    assert (result.exit_code, result.stdout) == (0, "")
