"""``gsomia timeline``: each agreement's states with their dates, its end and its amendments."""

from __future__ import annotations

import json
from importlib.resources import as_file, files

from gsomia.cli.story import SCENARIO

from .conftest import EXAMPLES_YAML


def _shipped_timeline(gsomia, *args: str):
    with as_file(files("gsomia") / "scenarios" / SCENARIO) as world:
        return gsomia("timeline", world, *args)


def _agreement(result, aid: str) -> dict:
    data = json.loads(result.stdout)
    return next(a for a in data["agreements"] if a["id"] == aid)


def test_timeline_json_lists_the_gsomia_states_of_the_real_story(gsomia):
    """KOR-JPN-GSOMIA: in force, notice pending, suspended (disputed), in force again; no end."""
    result = _shipped_timeline(gsomia, "--json")
    assert result.exit_code == 0, result.stderr
    gsomia_ = _agreement(result, "KOR-JPN-GSOMIA")
    assert [(s["start"], s["state"], s["disputed"]) for s in gsomia_["segments"]] == [
        ("2016-11-23", "in-force", False),
        ("2019-08-23", "notice-pending", False),
        ("2019-11-22", "notice-suspended", True),
        ("2023-03-21", "in-force", False),
    ]
    assert "2019-11-23" in gsomia_["segments"][1]["cause"]
    assert gsomia_["end"] is None


def test_timeline_json_names_every_agreement_with_its_conduit_and_hops(gsomia):
    """Every agreement of the world is listed; TISA carries its conduit and hops."""
    result = _shipped_timeline(gsomia, "--json")
    data = json.loads(result.stdout)
    assert data["world"] == "Korea-Japan 2019"
    assert sorted(a["id"] for a in data["agreements"]) == [
        "KOR-JPN-GSOMIA",
        "TISA",
        "USA-JPN-GSOMIA",
        "USA-KOR-GSOMIA",
    ]
    tisa = _agreement(result, "TISA")
    assert (tisa["conduit"], tisa["hops"]) == ("USA", ["USA-KOR-GSOMIA", "USA-JPN-GSOMIA"])
    assert tisa["versions"][0]["scope"] == ["dprk-nuclear", "dprk-missile"]


def test_timeline_shows_the_end_of_an_agreement_whose_notice_took_effect(gsomia, examples_world):
    """Without the suspension the notice ends GSOMIA on 2019-11-23: state terminated, end set."""
    result = gsomia("timeline", examples_world, "--json")
    gsomia_ = _agreement(result, "KOR-JPN-GSOMIA")
    assert gsomia_["end"] == "2019-11-23"
    assert gsomia_["segments"][-1]["state"] == "terminated"


def test_timeline_draws_states_dates_and_the_disputed_flag_for_people(gsomia):
    """The table shows each agreement, its dated states and 'disputed' on the suspended notice."""
    result = _shipped_timeline(gsomia)
    assert result.exit_code == 0
    out = result.stdout
    for text in ("KOR-JPN-GSOMIA", "TISA", "2016-11-23", "2019-08-23", "2019-11-22", "2023-03-21"):
        assert text in out
    assert "notice suspended · disputed" in out
    assert "notice pending" in out
    assert "term 1y, renewed automatically; notice 90d" in out


def test_timeline_lists_amendments_as_versions(gsomia, write_file):
    """An amend event shows as a second version in JSON and an 'amended' row in the table."""
    amend = (
        "  - {date: 2020-01-01, agreement: TISA, kind: amend, scope: [dprk-nuclear, dprk-missile, naval]}\n"
    )
    text = EXAMPLES_YAML.replace("items:\n", "" + amend + "items:\n", 1)
    world = write_file("amended.yaml", text)
    data = gsomia("timeline", world, "--json")
    assert data.exit_code == 0, data.stderr
    tisa = _agreement(data, "TISA")
    assert [(v["start"], v["scope"]) for v in tisa["versions"]] == [
        ("2014-12-29", ["dprk-nuclear", "dprk-missile"]),
        ("2020-01-01", ["dprk-nuclear", "dprk-missile", "naval"]),
    ]
    table = gsomia("timeline", world)
    assert "amended" in table.stdout
    assert "2020-01-01" in table.stdout
