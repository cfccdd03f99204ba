"""Labels as STIX 2.1 marking definitions: strict stix2-validator acceptance, round-trips, refusals."""

from __future__ import annotations

import copy
import json
import socket

import pytest
import stix2
from hypothesis import given, settings
from stix2validator import ValidationOptions, validate_instance, validate_parsed_json

from gsomia.labels import (
    Alternative,
    Classification,
    Label,
    LabelError,
    extension_definition,
    label_from_marking,
    marking_definition,
    producer_identity,
)
from gsomia.labels.stix import EXTENSION_ID, FURTHER_SHARING_RULE

from .test_labels_stanag import SETTINGS, labels

STRICT = ValidationOptions(version="2.1", strict=True, strict_types=True, strict_properties=True, silent=True)


def _label(**changes: object) -> Label:
    fields: dict[str, object] = {
        "policy": "KOR",
        "classification": Classification("KR-II", "군사II급비밀"),
        "originator": "KOR",
        "created": "2019-08-23T00:00:00Z",
        "releasable_to": ("JPN", "USA"),
        "caveats": ("ORCON",),
        "alternatives": (
            Alternative("JPN", "JPN", Classification("JP-GOKUHI", "極秘")),
            Alternative("USA", "US-DOD", Classification("US-S", "SECRET")),
        ),
    }
    fields.update(changes)
    return Label(**fields)  # type: ignore[arg-type]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to resolve a name or open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("stix2-validator tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    import requests

    monkeypatch.setattr(requests, "get", refuse)
    monkeypatch.setattr(requests.Session, "request", refuse)


def _assert_strictly_valid(obj):
    result = validate_instance(obj, STRICT)
    assert [str(e) for e in result.errors] == []
    assert [str(w) for w in result.warnings] == []
    assert result.is_valid


@pytest.mark.usefixtures("no_network")
def test_the_extension_definition_and_identity_validate_strictly_offline():
    definition = extension_definition()
    assert definition["extension_types"] == ["property-extension"]
    assert definition["id"] == EXTENSION_ID
    _assert_strictly_valid(definition)
    _assert_strictly_valid(producer_identity())


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("releasable_to", [None, (), ("JPN",)])
def test_a_marking_validates_strictly_offline(releasable_to):
    _assert_strictly_valid(marking_definition(_label(releasable_to=releasable_to)))


@pytest.mark.usefixtures("no_network")
def test_a_bundle_of_all_three_validates_strictly():
    bundle = {
        "type": "bundle",
        "id": "bundle--3f0c2a4e-9d1b-4c3a-8e7f-1a2b3c4d5e6f",
        "objects": [producer_identity(), extension_definition(), marking_definition(_label())],
    }
    result = validate_parsed_json(bundle, STRICT)
    assert [str(e) for e in result.errors] == []
    assert result.is_valid


def test_the_validator_catches_a_broken_marking():
    """The strict check above can fail: a marking without its created time does not validate."""
    broken = marking_definition(_label())
    del broken["created"]
    assert not validate_instance(broken, STRICT).is_valid


def test_the_marking_carries_levels_releasability_caveats_and_the_consent_rule():
    marking = marking_definition(_label())
    content = marking["extensions"][EXTENSION_ID]
    assert content["extension_type"] == "property-extension"
    assert content["levels"]["originator"] == {
        "party": "KOR",
        "policy": "KOR",
        "level": "KR-II",
        "marking": "군사II급비밀",
    }
    assert [e["level"] for e in content["levels"]["equivalents"]] == ["JP-GOKUHI", "US-S"]
    assert content["releasable_to"] == ["JPN", "USA"]
    assert content["caveats"] == ["ORCON"]
    assert content["further_sharing"] == [{**FURTHER_SHARING_RULE, "consent_of": "KOR"}]
    assert marking["created"] == "2019-08-23T00:00:00.000Z"


def test_the_id_is_deterministic_and_follows_the_content():
    assert marking_definition(_label())["id"] == marking_definition(_label())["id"]
    assert marking_definition(_label())["id"] != marking_definition(_label(caveats=()))["id"]
    assert (
        marking_definition(_label())["id"] != marking_definition(_label(created="2019-08-24T00:00:00Z"))["id"]
    )


@SETTINGS
@given(labels())
def test_any_label_round_trips_through_stix(label):
    assert label_from_marking(marking_definition(label)) == label


@given(labels())
@settings(SETTINGS, max_examples=15)
def test_any_label_validates_strictly(label):
    result = validate_instance(marking_definition(label), STRICT)
    assert [str(e) for e in result.errors] == []


def test_stix2_parses_both_objects_and_the_label_survives_its_serialisation():
    parsed = stix2.parse(marking_definition(_label()), allow_custom=True)
    assert isinstance(parsed, stix2.v21.MarkingDefinition)
    assert label_from_marking(json.loads(parsed.serialize())) == _label()
    assert isinstance(stix2.parse(extension_definition(), allow_custom=True), stix2.v21.ExtensionDefinition)


def _broken(edit):
    marking = copy.deepcopy(marking_definition(_label()))
    edit(marking, marking["extensions"][EXTENSION_ID])
    return marking


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda m, c: m.update(type="indicator"), "type"),
        (lambda m, c: m.update(created="yesterday"), "created"),
        (lambda m, c: m["extensions"].clear(), "extensions"),
        (lambda m, c: c.pop("originator"), f"extensions.{EXTENSION_ID}"),
        (lambda m, c: c.update(colour="red"), f"extensions.{EXTENSION_ID}"),
        (lambda m, c: c["levels"]["originator"].update(marking=""), "levels.originator.marking"),
        (lambda m, c: c["levels"]["originator"].update(party="JPN"), "levels.originator"),
        (lambda m, c: c["levels"]["equivalents"][0].update(party="KOR"), f"extensions.{EXTENSION_ID}"),
        (
            lambda m, c: c.update(further_sharing=[{"sharing_scope": "all", "rule_effect": "permit"}]),
            "further_sharing",
        ),
        (lambda m, c: c.update(releasable_to=[]), "releasable_to"),
        (lambda m, c: c.pop("release_restricted"), "releasable_to"),
        (lambda m, c: c.update(releasable_to="JPN"), "releasable_to"),
        (lambda m, c: c.update(caveats=[7]), "caveats[0]"),
        (lambda m, c: c.update(levels=[]), "levels"),
    ],
)
def test_a_marking_gsomia_cannot_carry_is_refused_naming_the_property(edit, where):
    with pytest.raises(LabelError) as caught:
        label_from_marking(_broken(edit))
    assert where in caught.value.where


@pytest.mark.parametrize("value", [None, [], "marking", 3])
def test_wrong_types_are_a_label_error(value):
    with pytest.raises(LabelError):
        label_from_marking(value)
