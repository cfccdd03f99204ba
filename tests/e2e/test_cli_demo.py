"""``gsomia demo``: the Korea-Japan story, what happened beside what would have."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def test_demo_tells_the_story_and_exits_zero(gsomia):
    """The demo draws its tables, mentions the key dates, and exits 0."""
    result = gsomia("demo")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in ("Parties and levels", "Agreements", "What changed on 2019-11-23", "Releases on key days"):
        assert text in out
    for day in ("2016-11-23", "2019-08-23", "2019-11-22", "2019-11-23", "2020-06-01", "2023-03-21"):
        assert day in out
    assert "notice suspended · disputed" in out
    assert "군사II급비밀" in out
    assert "極秘" in out


def test_demo_shows_dprk_items_re_routed_through_the_us_under_tisa_in_the_counterfactual(gsomia):
    """Had the notice taken effect, DPRK missile items would have gone KOR → USA → JPN under TISA."""
    out = gsomia("demo").stdout
    assert "re-routed via USA under TISA" in out
    assert "KOR → USA → JPN" in out
    assert "Re-routed via USA under TISA: K-MSL-1 → JPN" in out


def test_demo_shows_other_topics_lost_and_kr_i_and_noforn_never_moving(gsomia):
    """Naval items are lost off TISA's scope; KR-I and NOFORN items move in neither world."""
    out = gsomia("demo").stdout
    assert "naval out of scope" in out
    assert "never moves: KR-I not covered" in out
    assert "never moves: NOFORN" in out


def test_demo_json_classes_each_change_on_the_turning_day(gsomia):
    """--json gives the turning day and, for each item, how the counterfactual changes it."""
    result = gsomia("demo", "--json")
    assert result.exit_code == 0
    story = json.loads(result.stdout)
    assert story["turning_day"] == "2019-11-23"
    assert story["days"] == ["2019-10-01", "2019-11-22", "2019-11-23", "2020-06-01", "2023-03-21"]
    kinds = {(c["item"], c["recipient"]): c["change"] for c in story["changes"]}
    assert kinds[("K-MSL-1", "JPN")] == "re-routed"
    assert kinds[("J-MSL-1", "KOR")] == "re-routed"
    assert kinds[("K-NAV-1", "JPN")] == "lost"
    assert kinds[("K-REL-1", "JPN")] == "lost"
    assert kinds[("K-TOP-1", "JPN")] == "never"
    assert kinds[("K-NF-1", "JPN")] == "never"
    msl = next(c for c in story["changes"] if c["item"] == "K-MSL-1")
    assert msl["actual"]["route"] == ["KOR", "JPN"]
    assert msl["counterfactual"]["route"] == ["KOR", "USA", "JPN"]
    assert msl["counterfactual"]["marking"] == "JP-GOKUHI"


def test_demo_json_gives_both_timelines_of_the_noticed_agreement(gsomia):
    """The actual GSOMIA never ends; the counterfactual one ends on 2019-11-23."""
    story = json.loads(gsomia("demo", "--json").stdout)
    assert story["noticed"] == ["KOR-JPN-GSOMIA"]
    actual = next(t for t in story["timelines"]["actual"] if t["id"] == "KOR-JPN-GSOMIA")
    (counterfactual,) = story["timelines"]["counterfactual"]
    assert actual["end"] is None
    assert counterfactual["end"] == "2019-11-23"


def test_demo_json_decides_every_pair_on_every_key_day_in_both_worlds(gsomia):
    """On 2023-03-21 the real GSOMIA is plainly in force: direct again; the counterfactual still detours."""
    story = json.loads(gsomia("demo", "--json").stdout)
    row = next(r for r in story["decisions"] if r["item"] == "K-MSL-1" and r["recipient"] == "JPN")
    last = row["days"][-1]
    assert last["at"] == "2023-03-21"
    assert last["actual"]["route"] == ["KOR", "JPN"]
    assert last["counterfactual"]["route"] == ["KOR", "USA", "JPN"]


def test_demo_tells_the_story_of_another_world_file(gsomia, examples_world):
    """--world points the demo at another file; a world where nothing was suspended changes nothing."""
    result = gsomia("demo", "--world", examples_world)
    assert result.exit_code == 0, result.stderr
    assert "nothing changes" in result.stdout
    story = json.loads(gsomia("demo", "--world", examples_world, "--json").stdout)
    assert story["turning_day"] is None
    assert story["days"] == ["2019-08-23", "2019-11-22", "2019-11-23"]


@pytest.mark.parametrize("columns", ["20", "40", "80"])
def test_demo_survives_a_narrow_terminal(gsomia, columns):
    """However narrow the terminal, the demo draws without crashing."""
    result = gsomia("demo", env={"COLUMNS": columns})
    assert result.exit_code == 0, result.stderr


def test_the_console_script_tells_the_demo_through_a_pipe():
    """``gsomia demo`` run as a program into a pipe (no terminal) prints the story and exits 0."""
    env = {**os.environ, "COLUMNS": "120", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-c", "from gsomia.cli import main; main()", "demo"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "re-routed via USA under TISA" in done.stdout
    assert "\x1b[" not in done.stdout  # no colour codes into a pipe
