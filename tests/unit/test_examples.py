"""Fifteen worked decisions on the Korea-Japan world (had Korea not suspended its notice), each checked."""

from __future__ import annotations

import pytest

from tests.factories import examples_world

# item, recipient, at, holder, allowed, route, marking -- copied from the examples table
ROWS = [
    ("K-MSL-1", "JPN", "2019-10-01", None, True, ("KOR", "JPN"), "JP-GOKUHI"),
    ("K-MSL-1", "JPN", "2019-11-22", None, True, ("KOR", "JPN"), "JP-GOKUHI"),
    ("K-MSL-1", "JPN", "2019-11-23", None, True, ("KOR", "USA", "JPN"), "JP-GOKUHI"),
    ("K-NAV-1", "JPN", "2019-11-22", None, True, ("KOR", "JPN"), "JP-GOKUHI"),
    ("K-NAV-1", "JPN", "2019-11-23", None, False, (), None),
    ("K-TOP-1", "JPN", "2019-10-01", None, False, (), None),
    ("K-NF-1", "USA", "2019-10-01", None, False, (), None),
    ("K-REL-1", "JPN", "2019-10-01", None, True, ("KOR", "JPN"), "JP-HI"),
    ("K-REL-1", "JPN", "2019-11-23", None, False, (), None),
    ("J-MSL-1", "KOR", "2019-10-01", None, True, ("JPN", "KOR"), "KR-II"),
    ("J-MSL-1", "KOR", "2019-12-01", None, True, ("JPN", "USA", "KOR"), "KR-II"),
    ("K-MSL-1", "USA", "2019-10-01", "JPN", True, ("JPN", "USA"), "US-S"),
    ("K-MSL-1", "USA", "2020-01-15", "JPN", False, (), None),
    ("K-MSL-1", "KOR", "2020-01-15", "JPN", True, ("JPN", "KOR"), "KR-II"),
    ("K-MSL-1", "JPN", "2016-11-22", None, True, ("KOR", "USA", "JPN"), "JP-GOKUHI"),
]


@pytest.mark.parametrize(("item", "to", "at", "holder", "allowed", "route", "marking"), ROWS)
def test_the_engine_gives_the_worked_example_decision(item, to, at, holder, allowed, route, marking):
    """Verdict, route and marking match the worked example row by row."""
    decision = examples_world().decide(item, to, at, holder)
    assert (decision.allowed, decision.route, decision.marking) == (allowed, route, marking)
