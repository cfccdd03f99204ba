"""``gsomia decide`` for one query: tables for people, the decision JSON for programs."""

from __future__ import annotations

import json
from importlib.resources import as_file, files

import pytest
from ruamel.yaml import YAML

from gsomia import RULES
from gsomia.cli.story import SCENARIO

from .conftest import Invoke

# Rows of examples.md: item, to, at, holder, allowed, route, marking.
EXAMPLE_ROWS = [
    ("K-MSL-1", "JPN", "2019-10-01", None, True, ["KOR", "JPN"], "JP-GOKUHI"),
    ("K-MSL-1", "JPN", "2019-11-23", None, True, ["KOR", "USA", "JPN"], "JP-GOKUHI"),
    ("K-NAV-1", "JPN", "2019-11-23", None, False, [], None),
    ("K-TOP-1", "JPN", "2019-10-01", None, False, [], None),
    ("K-NF-1", "USA", "2019-10-01", None, False, [], None),
    ("K-REL-1", "JPN", "2019-10-01", None, True, ["KOR", "JPN"], "JP-HI"),
    ("J-MSL-1", "KOR", "2019-12-01", None, True, ["JPN", "USA", "KOR"], "KR-II"),
    ("K-MSL-1", "USA", "2019-10-01", "JPN", True, ["JPN", "USA"], "US-S"),
    ("K-MSL-1", "USA", "2020-01-15", "JPN", False, [], None),
    ("K-MSL-1", "KOR", "2020-01-15", "JPN", True, ["JPN", "KOR"], "KR-II"),
]


def _decide_json(gsomia: Invoke, world, item, to, at, holder=None):
    args = ["decide", world, "--item", item, "--to", to, "--at", at, "--json"]
    if holder:
        args += ["--holder", holder]
    result = gsomia(*args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(("item", "to", "at", "holder", "allowed", "route", "marking"), EXAMPLE_ROWS)
def test_decide_json_gives_the_route_and_marking_of_the_worked_examples(
    gsomia, examples_world, item, to, at, holder, allowed, route, marking
):
    """--json answers each examples.md row with its verdict, route and marking."""
    decision = _decide_json(gsomia, examples_world, item, to, at, holder)
    assert (decision["allowed"], decision["route"], decision["marking"]) == (allowed, route, marking)


def test_decide_json_prints_exactly_one_decision_object_with_every_rule(gsomia, examples_world):
    """--json prints one JSON object on one line, with the keys of design.md §4 and all eight rules."""
    result = gsomia(
        "decide", examples_world, "--item", "K-MSL-1", "--to", "JPN", "--at", "2019-11-23", "--json"
    )
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1
    decision = json.loads(result.stdout)
    keys = "item recipient holder at allowed route agreements marking reasons alternatives"
    assert list(decision) == keys.split()
    assert [r["rule"] for r in decision["reasons"]] == list(RULES)
    assert decision["holder"] == "KOR"
    assert decision["agreements"] == ["TISA", "USA-KOR-GSOMIA", "USA-JPN-GSOMIA"]
    assert decision["alternatives"][0]["route"] == ["KOR", "JPN"]


def test_decide_draws_verdict_route_marking_and_reasons_for_people(gsomia, examples_world):
    """Without --json: verdict, route, agreements, national marking and the eight rules ticked."""
    result = gsomia("decide", examples_world, "--item", "K-MSL-1", "--to", "JPN", "--at", "2019-11-23")
    assert result.exit_code == 0
    out = result.stdout
    assert "ALLOWED" in out
    assert "KOR → USA → JPN" in out
    assert "TISA, USA-KOR-GSOMIA, USA-JPN-GSOMIA" in out
    assert "JP-GOKUHI 極秘" in out
    assert all(rule in out for rule in RULES)
    assert out.count("✓") == len(RULES)
    assert "Routes tried first" in out  # the direct route, closed on that day


def test_a_deny_is_drawn_with_the_failed_rule_and_still_exits_zero(gsomia, examples_world):
    """A deny is a decision, not an error: DENIED, the failed rule with its detail, exit code 0."""
    result = gsomia("decide", examples_world, "--item", "K-NF-1", "--to", "USA", "--at", "2019-10-01")
    assert result.exit_code == 0
    assert "DENIED" in result.stdout
    assert "NOFORN" in result.stdout
    assert "✗" in result.stdout
    assert result.stderr == ""


def test_decide_json_on_a_deny_has_no_route_and_no_marking(gsomia, examples_world):
    """A denied decision's JSON has an empty route, a null marking and the failed rules."""
    decision = _decide_json(gsomia, examples_world, "K-TOP-1", "JPN", "2019-10-01")
    assert decision["route"] == []
    assert decision["marking"] is None
    assert decision["agreements"] == []
    failed = [r["rule"] for r in decision["reasons"] if not r["ok"]]
    assert "level-covered" in failed


def test_decide_accepts_the_world_as_json(gsomia, examples_world, write_file):
    """A world file ending in .json is read as JSON and decides the same."""
    data = YAML(typ="safe").load(examples_world.read_text(encoding="utf-8"))
    world = write_file("examples.json", json.dumps(data, default=str, ensure_ascii=False))
    decision = _decide_json(gsomia, world, "J-MSL-1", "KOR", "2019-12-01")
    assert decision["route"] == ["JPN", "USA", "KOR"]


def test_the_shipped_scenario_keeps_the_direct_route_through_the_disputed_months(gsomia):
    """In the shipped story the suspended notice keeps GSOMIA in force: the direct route holds in 2020."""
    with as_file(files("gsomia") / "scenarios" / SCENARIO) as world:
        decision = _decide_json(gsomia, world, "K-MSL-1", "JPN", "2020-06-01")
        assert decision["route"] == ["KOR", "JPN"]
        in_force = next(r for r in decision["reasons"] if r["rule"] == "agreement-in-force")
        assert "notice-suspended" in in_force["detail"]


@pytest.mark.parametrize("columns", ["20", "50"])
@pytest.mark.parametrize("command", ["decide", "timeline"])
def test_tables_survive_a_narrow_terminal(gsomia, examples_world, command, columns):
    """decide and timeline draw in a narrow terminal without crashing."""
    extra = ("--item", "K-NAV-1", "--to", "JPN", "--at", "2019-11-23") if command == "decide" else ()
    result = gsomia(command, examples_world, *extra, env={"COLUMNS": columns})
    assert result.exit_code == 0, result.stderr
    assert result.stdout
