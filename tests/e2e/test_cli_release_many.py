"""``gsomia release-many FILE``: many releases in one transaction, refusals recorded too; a bad line
anywhere records nothing and names the line."""

from __future__ import annotations

import json
from pathlib import Path

from .test_node_cli import as_json, body, node, run, world

__all__ = ["body", "node", "run", "world"]  # the fixtures, used by name


def lines(tmp_path: Path, *entries: object) -> Path:
    path = tmp_path / "releases.jsonl"
    path.write_text("".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in entries))
    return path


def test_releases_are_recorded_in_order_allowed_and_refused_alike(run, node, tmp_path):
    path = lines(
        tmp_path,
        {"item": "K-BODY-1", "to": "JPN", "at": "2019-09-01"},
        {"item": "K-NF-1", "to": "JPN", "at": "2019-09-01"},
        {"item": "K-BODY-1", "to": "USA", "at": "2019-09-01", "holder": None},
    )
    made = as_json(run("release-many", path, "--node", node, "--json"))
    assert [(r["release"], r["item"], r["recipient"], r["allowed"]) for r in made] == [
        (1, "K-BODY-1", "JPN", True),
        (2, "K-NF-1", "JPN", False),
        (3, "K-BODY-1", "USA", True),
    ]
    assert made[0]["marking"] == "JP-GOKUHI"
    assert made[0]["outbox"] is True
    assert made[1]["outbox"] is False
    listed = as_json(run("releases", "--node", node, "--json"))
    assert [r["seq"] for r in listed] == [1, 2, 3]
    assert run("log", "verify", "--node", node).exit_code == 0
    human = run("release-many", path, "--node", node)
    assert human.exit_code == 0
    assert "Releases recorded" in human.stdout


def test_a_bad_line_or_an_unknown_item_records_nothing_and_says_where(run, node, tmp_path):
    good = {"item": "K-BODY-1", "to": "JPN", "at": "2019-09-01"}
    for entries, words in (
        ((good, "{not json"), "line 2"),
        ((good, {"item": "K-BODY-1", "to": "JPN"}), "missing key 'at'"),
        ((good, {"item": "NO-SUCH", "to": "JPN", "at": "2019-09-01"}), "release 2 of 2"),
    ):
        done = run("release-many", lines(tmp_path, *entries), "--node", node)
        assert done.exit_code == 2, done.output
        assert words in done.output
        assert as_json(run("releases", "--node", node, "--json")) == []
    missing = run("release-many", tmp_path / "nowhere.jsonl", "--node", node)
    assert missing.exit_code == 2
    assert "cannot read" in missing.output
