"""Open XML SPIF import: classifications and equivalences read, world-file entries built, bad files named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import gsomia
from gsomia.cli import spif as spif_cli
from gsomia.cli.shared import Group
from gsomia.labels import LabelError, Spif, equivalence_rows, parties_entries, read_spif
from gsomia.labels.spif import MAX_SPIF_BYTES, SPIF_NS
from gsomia.scenario.source import parse_text

DATA = Path(__file__).resolve().parents[1] / "data" / "spif"
PARTIES = {"ROK-MND": "KOR", "1.2.826.0.1.3680043.2.392": "JPN", "US-DOD": "USA"}


def _read(name: str) -> Spif:
    return read_spif((DATA / name).read_bytes(), name)


def _text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# -- reading ----------------------------------------------------------------------------------------


def test_a_namespaced_spif_is_read_lowest_first():
    kor = _read("kor.xml")
    assert (kor.policy_name, kor.policy_id, kor.schema_version) == (
        "ROK-MND",
        "1.2.826.0.1.3680043.2.410",
        "2.1",
    )
    assert [(c.name, c.lacv, c.hierarchy) for c in kor.classifications] == [
        ("군사III급비밀", 13, 1),
        ("군사II급비밀", 12, 2),
        ("군사I급비밀", 11, 3),
    ]
    assert kor.equivalent_policies == (("JP-MOD", "1.2.826.0.1.3680043.2.392"),)
    second = kor.classifications[1].equivalents[0]
    assert (second.policy_ref, second.lacv, second.applied, second.line) == ("JP-MOD", 22, "both", 13)


def test_a_prefixed_2_0_spif_listed_highest_first_is_ordered_by_hierarchy():
    jpn = _read("jpn.xml")
    assert jpn.schema_version == "2.0"
    assert [c.name for c in jpn.classifications] == ["秘", "極秘", "特定秘密"]
    assert jpn.classifications[0].equivalents[0].applied == "decrypt"


def test_a_spif_without_namespace_is_read():
    usa = _read("usa-plain.xml")
    assert [c.name for c in usa.classifications] == ["CONFIDENTIAL", "SECRET", "TOP SECRET"]
    assert [len(c.equivalents) for c in usa.classifications] == [2, 2, 2]


# -- world-file entries -----------------------------------------------------------------------------


def test_parties_entries_have_the_world_file_shape():
    entries = parties_entries([_read("kor.xml"), _read("jpn.xml")], PARTIES)
    assert entries[0] == {
        "id": "KOR",
        "name": "ROK-MND",
        "levels": [
            {"id": "KOR-군사III급비밀", "marking": "군사III급비밀"},
            {"id": "KOR-군사II급비밀", "marking": "군사II급비밀"},
            {"id": "KOR-군사I급비밀", "marking": "군사I급비밀"},
        ],
    }
    assert [lv["marking"] for lv in entries[1]["levels"]] == ["秘", "極秘", "特定秘密"]


def test_an_unmapped_policy_is_its_own_party_and_spaces_in_names_become_dashes():
    (usa,) = parties_entries([_read("usa-plain.xml")])
    assert usa["id"] == "US-DOD"
    assert usa["levels"][-1] == {"id": "US-DOD-TOP-SECRET", "marking": "TOP SECRET"}


def test_two_policies_for_one_party_are_refused():
    with pytest.raises(LabelError, match="both map to party 'KOR'"):
        parties_entries([_read("kor.xml"), _read("jpn.xml")], {"ROK-MND": "KOR", "JP-MOD": "KOR"})


def test_equivalence_rows_between_two_policies():
    rows = equivalence_rows([_read("kor.xml"), _read("jpn.xml")], PARTIES)
    assert rows == [
        {"KOR": "KOR-군사II급비밀", "JPN": "JPN-極秘"},
        {"KOR": "KOR-군사III급비밀", "JPN": "JPN-秘"},
    ]


def test_rows_among_three_policies_and_statements_about_absent_policies_are_left_out():
    three = equivalence_rows([_read("kor.xml"), _read("jpn.xml"), _read("usa-plain.xml")], PARTIES)
    assert three[0] == {"KOR": "KOR-군사I급비밀", "JPN": "JPN-特定秘密", "USA": "USA-TOP-SECRET"}
    assert len(three) == 3
    assert equivalence_rows([_read("kor.xml")], PARTIES) == []
    pair = equivalence_rows([_read("usa-plain.xml"), _read("kor.xml")], PARTIES)
    assert pair[-1] == {"USA": "USA-CONFIDENTIAL", "KOR": "KOR-군사III급비밀"}


def test_several_levels_in_one_row_list_the_highest_first():
    jpn = _text("jpn.xml").replace(
        '<spif:securityClassification name="特定秘密" lacv="23" hierarchy="3"/>',
        '<spif:securityClassification name="特定秘密" lacv="23" hierarchy="3">'
        '<spif:equivalentClassification policyRef="ROK-MND" lacv="12" applied="both"/>'
        "</spif:securityClassification>",
    )
    rows = equivalence_rows([_read("kor.xml"), read_spif(jpn.encode(), "jpn.xml")], PARTIES)
    assert rows[0] == {"KOR": "KOR-군사II급비밀", "JPN": ["JPN-特定秘密", "JPN-極秘"]}


def test_the_entries_make_a_world_gsomia_loads_and_decides_on(tmp_path):
    spifs = [_read("kor.xml"), _read("jpn.xml")]
    world_file = tmp_path / "spif-world.json"
    world_file.write_text(
        json.dumps(
            {
                "gsomia": 1,
                "parties": parties_entries(spifs, PARTIES),
                "agreements": [
                    {
                        "id": "KOR-JPN-GSOMIA",
                        "kind": "treaty",
                        "parties": ["KOR", "JPN"],
                        "entry_into_force": "2016-11-23",
                        "equivalence": equivalence_rows(spifs, PARTIES),
                    }
                ],
                "items": [
                    {"id": "K-1", "originator": "KOR", "level": "KOR-군사II급비밀"},
                    {"id": "K-2", "originator": "KOR", "level": "KOR-군사I급비밀"},
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    world = gsomia.load_world(world_file)
    allowed = world.decide("K-1", "JPN", "2020-01-01")
    assert allowed.allowed
    assert allowed.marking == "JPN-極秘"
    assert not world.decide("K-2", "JPN", "2020-01-01").allowed


# -- bad files --------------------------------------------------------------------------------------


def _bad(old: str, new: str, name: str = "kor.xml") -> bytes:
    text = _text(name)
    assert old in text
    return text.replace(old, new, 1).encode("utf-8")


@pytest.mark.parametrize(
    ("data", "needle", "where", "line"),
    [
        (_bad(' lacv="12" hierarchy="2"', ' hierarchy="2"'), "missing attribute lacv", "@lacv", 11),
        (_bad('lacv="12" hierarchy', 'lacv="twelve" hierarchy'), "not an integer", "@lacv", 11),
        (_bad('hierarchy="2"', 'hierarchy="1"'), "two classifications have hierarchy", "@hierarchy", 11),
        (
            _bad('name="군사II급비밀" lacv', 'name="군사III급비밀" lacv'),
            "two classifications have name",
            "@name",
            11,
        ),
        (
            _bad('policyRef="JP-MOD" lacv="22"', 'policyRef="FR-MINARM" lacv="22"'),
            "names no equivalentPolicy",
            "@policyRef",
            13,
        ),
        (_bad('applied="both"', 'applied="sometimes"'), "encrypt, decrypt or both", "@applied", 9),
        (
            _bad('<securityPolicyId name="ROK-MND" id="1.2.826.0.1.3680043.2.410"/>', ""),
            "missing element securityPolicyId",
            "SPIF/securityPolicyId",
            3,
        ),
        (_bad('schemaVersion="2.1"', 'schemaVersion="3.0"'), "schemaVersion", "SPIF@schemaVersion", 3),
        (_bad("http://www.xmlspif.org/spif", "urn:example:other"), "namespace", "SPIF", 3),
    ],
)
def test_a_malformed_spif_names_the_file_the_element_and_the_line(data, needle, where, line):
    with pytest.raises(LabelError, match=needle) as caught:
        read_spif(data, "kor.xml")
    assert where in caught.value.where
    assert caught.value.line == line
    assert str(caught.value).startswith(f"kor.xml:{line}: ")


def test_an_equivalence_to_a_missing_lacv_names_the_statement():
    kor = read_spif(_bad('policyRef="JP-MOD" lacv="22"', 'policyRef="JP-MOD" lacv="99"'), "kor.xml")
    with pytest.raises(LabelError, match="lacv 99") as caught:
        equivalence_rows([kor, _read("jpn.xml")])
    assert (caught.value.source, caught.value.line) == ("kor.xml", 13)


def _jpn_without_statements() -> Spif:
    lines = [ln for ln in _text("jpn.xml").splitlines() if "spif:equivalentClassification" not in ln]
    return read_spif("\n".join(lines).encode("utf-8"), "jpn.xml")


def test_interleaving_equivalences_are_refused():
    kor = read_spif(_bad('lacv="21" applied', 'lacv="23" applied'), "kor.xml")
    with pytest.raises(LabelError, match="interleave"):
        equivalence_rows([kor, _read("jpn.xml")], PARTIES)


def test_crossing_equivalences_are_refused():
    swapped = _bad('lacv="21" applied', 'lacv="X" applied').replace(
        b'lacv="22" applied', b'lacv="21" applied'
    )
    kor = read_spif(swapped.replace(b'lacv="X" applied', b'lacv="22" applied'), "kor.xml")
    with pytest.raises(LabelError, match="cross"):
        equivalence_rows([kor, _jpn_without_statements()], PARTIES)
    assert equivalence_rows([_read("kor.xml"), _jpn_without_statements()], PARTIES) == [
        {"KOR": "KOR-군사II급비밀", "JPN": "JPN-極秘"},
        {"KOR": "KOR-군사III급비밀", "JPN": "JPN-秘"},
    ]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE SPIF [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<SPIF schemaVersion="2.1">&d;</SPIF>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE SPIF [<!ENTITY x SYSTEM "file:///etc/hostname">]>
<SPIF schemaVersion="2.1"><securityPolicyId name="&x;" id="1.2"/></SPIF>"""


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (BILLION_LAUGHS, "DOCTYPE"),
        (XXE, "DOCTYPE"),
        (_text("kor.xml").encode("utf-8")[:600], "not well-formed"),
        (b"<SPIF schemaVersion='2.1'>", "not well-formed"),
        (b"not xml at all", "not well-formed"),
        (b"", "empty"),
    ],
)
def test_hostile_or_broken_spifs_are_refused(data, needle):
    with pytest.raises(LabelError, match=needle):
        read_spif(data, "evil.xml")


def test_a_fifty_megabyte_spif_is_refused_unread():
    huge = b"<SPIF>" + b" " * (50 * 1024 * 1024) + b"</SPIF>"
    with pytest.raises(LabelError, match=f"at most {MAX_SPIF_BYTES}"):
        read_spif(huge, "huge.xml")


def test_a_truncated_spif_names_the_line():
    cut = _text("kor.xml").encode("utf-8")[:600]
    with pytest.raises(LabelError) as caught:
        read_spif(cut, "cut.xml")
    assert caught.value.line == cut.count(b"\n") + 1


def test_an_empty_classification_list_is_refused():
    data = f'<SPIF xmlns="{SPIF_NS}" schemaVersion="2.1"><securityPolicyId name="P" id="1.2"/>'
    data += "<securityClassifications/></SPIF>"
    with pytest.raises(LabelError, match="at least one"):
        read_spif(data, "empty.xml")


# -- the command ------------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(cls=Group, add_completion=False, rich_markup_mode=None)

    @app.callback()
    def _root() -> None:
        """Test root."""

    spif_cli.register(app)
    return app


def _run(*args: str):
    return CliRunner().invoke(_app(), ["spif", *args])


def test_the_command_prints_yaml_a_world_file_can_take():
    result = _run(
        str(DATA / "kor.xml"), str(DATA / "jpn.xml"), "--party", "ROK-MND=KOR", "--party", "JP-MOD=JPN"
    )
    assert result.exit_code == 0, result.output
    data = parse_text(result.output, "out.yaml").data
    spifs = [_read("kor.xml"), _read("jpn.xml")]
    mapping = {"ROK-MND": "KOR", "JP-MOD": "JPN"}
    assert json.loads(json.dumps(data)) == {
        "parties": parties_entries(spifs, mapping),
        "equivalence": equivalence_rows(spifs, mapping),
    }
    assert "# lacv 12, hierarchy 2" in result.output


def test_the_command_prints_json():
    result = _run(str(DATA / "usa-plain.xml"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["parties"] == parties_entries([_read("usa-plain.xml")])
    assert out["equivalence"] == []
    assert out["lacv"]["US-DOD-SECRET"] == 4


def test_a_bad_spif_is_one_error_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(BILLION_LAUGHS)
    result = _run(str(bad))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert result.output.startswith("error: ")
    assert "DOCTYPE" in result.output


@pytest.mark.parametrize("pair", ["KOR", "=KOR", "ROK-MND="])
def test_a_malformed_party_option_is_exit_2(pair):
    result = _run(str(DATA / "kor.xml"), "--party", pair)
    assert result.exit_code == 2
    assert "--party" in result.output


def test_a_missing_file_is_exit_2(tmp_path):
    result = _run(str(tmp_path / "absent.xml"))
    assert result.exit_code == 2
    assert "cannot read the SPIF" in result.output
