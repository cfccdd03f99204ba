"""``gsomia impact``: what-if terminate, amend and add from the command line."""

from __future__ import annotations

import json

import pytest


def test_impact_of_terminating_gsomia_lists_reroutes_and_losses_as_json(gsomia, examples_world):
    """Ending GSOMIA on 2019-11-01 (before the notice bites) re-routes K-MSL-1 and loses K-NAV-1."""
    result = gsomia("impact", examples_world, "--terminate", "KOR-JPN-GSOMIA", "--on", "2019-11-01", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["change"] == "terminate KOR-JPN-GSOMIA on 2019-11-01"
    rerouted = {(tuple(f["items"]), f["recipient"]) for f in report["flows"]["rerouted"]}
    lost = {(tuple(f["items"]), f["recipient"]) for f in report["flows"]["lost"]}
    assert (("K-MSL-1",), "JPN") in rerouted
    assert (("K-NAV-1",), "JPN") in lost
    assert report["pairs"] == sum(report["counts"].values())


def test_impact_prints_tables_for_people(gsomia, examples_world):
    """Without --json the summary, breakdowns and changing flows are tables."""
    result = gsomia("impact", examples_world, "--terminate", "KOR-JPN-GSOMIA", "--on", "2019-11-01")
    assert result.exit_code == 0, result.stderr
    assert "By agreement" in result.stdout
    assert "KOR → USA → JPN" in result.stdout


def test_impact_of_an_amendment_and_of_a_new_agreement(gsomia, examples_world, write_file):
    """--amend with --scope, and --add with an agreement file, both run and report."""
    amended = gsomia(
        "impact",
        examples_world,
        "--amend",
        "KOR-JPN-GSOMIA",
        "--scope",
        "naval",
        "--on",
        "2018-01-01",
        "--json",
    )
    assert amended.exit_code == 0, amended.stderr
    assert json.loads(amended.stdout)["counts"]["rerouted"] >= 1
    new = write_file(
        "new.yaml",
        "{id: NEW, kind: treaty, parties: [KOR, USA], entry_into_force: 2018-01-01,"
        " equivalence: [{KOR: KR-I, USA: US-TS}]}\n",
    )
    added = gsomia("impact", examples_world, "--add", new, "--on", "2018-01-01", "--json")
    assert added.exit_code == 0, added.stderr
    gained = json.loads(added.stdout)["flows"]["gained"]
    assert any(f["items"] == ["K-TOP-1"] and f["recipient"] == "USA" for f in gained)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--on", "2019-01-01"), "exactly one of"),
        (("--terminate", "KOR-JPN-GSOMIA"), "--on DATE"),
        (("--terminate", "NOPE", "--on", "2019-01-01"), "unknown agreement"),
        (("--terminate", "KOR-JPN-GSOMIA", "--on", "2019-02-30"), "not a date"),
        (("--terminate", "KOR-JPN-GSOMIA", "--on", "2010-01-01"), "before KOR-JPN-GSOMIA entered into force"),
        (("--amend", "KOR-JPN-GSOMIA", "--on", "2019-01-01"), "--scope"),
    ],
)
def test_bad_impact_input_exits_two_with_a_message(gsomia, examples_world, args, message):
    """Each kind of bad impact request exits 2 and says what is wrong."""
    result = gsomia("impact", examples_world, *args)
    assert result.exit_code == 2
    assert message in result.stderr
