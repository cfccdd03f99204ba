"""Release bundles: they round-trip, are valid STIX 2.1 offline, keep their ids, and every alteration,
wrong key, wrong recipient or malformed part is a BundleError with a reason fit for quarantine."""

from __future__ import annotations

import copy
import json
import math
import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import stix2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from gsomia.crypto import NodeKeys
from gsomia.domain.ids import id_problem
from gsomia.exchange import (
    BundleError,
    Card,
    ItemMeta,
    Shipment,
    build_bundle,
    bundle_from_json,
    bundle_to_json,
    hpke,
    open_bundle,
)
from gsomia.exchange.bundle import EXTENSION_ID, bundle_ids, stix_problems
from gsomia.exchange.cards import key_id_of
from gsomia.ledger.canonical import canonical

MARKING_ID = "marking-definition--3b2a3d0e-6f43-4a55-9f6d-7b0f2a1c9e11"
STRICT = {"version": "2.1", "strict": True, "strict_properties": True, "enforce_refs": True, "silent": True}


def statement_marking(text: str = "KR-II / JP-GOKUHI: protect as JP-GOKUHI") -> dict[str, Any]:
    """A plain STIX 2.1 statement marking-definition."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": MARKING_ID,
        "created": "2019-11-22T00:00:00.000Z",
        "definition_type": "statement",
        "definition": {"statement": text},
    }


def raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Parties:
    """The sender's signing key and card, the recipient's HPKE key pair."""

    def __init__(self) -> None:
        self.signer = Ed25519PrivateKey.generate()
        self.hpke_private, self.hpke_public = hpke.generate_x25519()
        self.sender_hpke_public = hpke.generate_x25519()[1]
        self.card = Card("KOR", raw_public(self.signer), self.sender_hpke_public, "https://kor.example/")
        self.key_id = key_id_of(self.card.signing_key)

    def build(self, shipment: Shipment) -> dict[str, Any]:
        return build_bundle(shipment, self.hpke_public, self.signer.sign, self.key_id)

    def open(self, bundle: object, **kwargs: Any) -> Any:
        return open_bundle(bundle, self.card, self.hpke_private, **kwargs)


@pytest.fixture(scope="module")
def parties() -> Parties:
    return Parties()


def make_shipment(**changes: Any) -> Shipment:
    base = Shipment(
        sender="KOR",
        release_seq=12,
        originator="KOR",
        recipient="JPN",
        route=("KOR", "JPN"),
        decided=date(2019, 11, 22),
        item=ItemMeta("K-MSL-1", "KR-II", "JP-GOKUHI", ("dprk-missile",), ("JPN", "USA"), ("REL-TO",)),
        body="radar tracks, 군사II급비밀".encode(),
        marking_definition=statement_marking(),
        log_head={"v": 2, "size": 40, "root": "ab" * 32, "key_id": "cd" * 16, "signature": "AAAA"},
        created=datetime(2019, 11, 22, 9, 30, 15, 250000, tzinfo=UTC),
    )
    return replace(base, **changes)


@pytest.fixture(scope="module")
def shipment() -> Shipment:
    return make_shipment()


@pytest.fixture(scope="module")
def bundle(parties, shipment) -> dict[str, Any]:
    return parties.build(shipment)


def resign(bundle: dict[str, Any], signer: Ed25519PrivateKey) -> dict[str, Any]:
    """The bundle signed again after an edit: what a sender (or a thief of its key) could send."""
    unsigned = copy.deepcopy(bundle)
    record = unsigned["objects"][4]["extensions"][EXTENSION_ID].pop("signature")
    record["value"] = __import__("base64").b64encode(signer.sign(canonical(unsigned))).decode()
    unsigned["objects"][4]["extensions"][EXTENSION_ID]["signature"] = record
    return unsigned


def gsomia_extension(bundle: dict[str, Any], index: int) -> dict[str, Any]:
    extension: dict[str, Any] = bundle["objects"][index]["extensions"][EXTENSION_ID]
    return extension


# -- round trip and STIX validity ------------------------------------------------------------------------


def test_a_bundle_opens_to_the_shipment_it_was_built_from(parties, shipment, bundle):
    opened = parties.open(bundle, recipient="JPN")
    assert opened.shipment == shipment
    assert opened.shipment.body == shipment.body
    assert opened.bundle_id == bundle["id"] == bundle_ids("KOR", 12)["bundle"]
    assert opened.key_id == parties.key_id


def test_it_round_trips_through_json_bytes(parties, shipment, bundle):
    raw = bundle_to_json(bundle)
    assert raw == canonical(bundle)
    assert parties.open(bundle_from_json(raw)).shipment == shipment


def test_the_layout_is_marking_identities_extension_report_artifact(bundle, shipment):
    types = [obj["type"] for obj in bundle["objects"]]
    assert types == [
        "marking-definition",
        "identity",
        "extension-definition",
        "identity",
        "report",
        "artifact",
    ]
    report, artifact = bundle["objects"][4], bundle["objects"][5]
    assert report["name"] == "K-MSL-1"
    assert report["object_refs"] == [artifact["id"]]
    assert report["object_marking_refs"] == artifact["object_marking_refs"] == [MARKING_ID]
    assert artifact["encryption_algorithm"] == "AES-256-GCM"
    assert shipment.body not in json.dumps(bundle).encode()
    params = gsomia_extension(bundle, 5)["hpke"]
    assert (params["kem_id"], params["kdf_id"], params["aead_id"], params["mode"]) == (0x20, 1, 2, "base")


def test_the_bundle_is_valid_stix_2_1_under_the_strict_validator(bundle):
    """stix2-validator, strict (SHOULDs are errors), no custom properties, every reference inside."""
    results = validate_instance(copy.deepcopy(bundle), ValidationOptions(**STRICT))
    assert [e.message for e in results.errors] == []
    assert results.is_valid
    assert stix_problems(bundle) == []


def test_strict_types_flags_only_the_top_level_artifact(bundle):
    """With strict_types the validator (3.3.2) calls any top-level cyber-observable a custom type; that
    is the only complaint, which is why stix_problems leaves strict_types off. Should the validator be
    fixed, this test fails and strict_types can go back on."""
    results = validate_instance(copy.deepcopy(bundle), ValidationOptions(strict_types=True, **STRICT))
    messages = [e.message for e in results.errors]
    artifact = bundle["objects"][5]["id"]
    assert messages == [
        f"{artifact}: Object type 'artifact' is not one of those defined in the specification."
    ]


def test_stix2_parses_it_without_custom_content(bundle):
    parsed = stix2.parse(copy.deepcopy(bundle), allow_custom=False)
    assert [type(obj).__name__ for obj in parsed.objects] == [
        "MarkingDefinition",
        "Identity",
        "ExtensionDefinition",
        "Identity",
        "Report",
        "Artifact",
    ]


def test_validation_never_touches_the_network(monkeypatch, bundle):
    """Schemas come from the validator's own package: with every connection refused it still passes."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the validator tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr("requests.Session.request", refuse)
    validator = __import__("stix2validator.validator", fromlist=["_HTTP_SCHEMAS"])
    monkeypatch.setattr(validator, "_FILE_SCHEMAS", {})
    monkeypatch.setattr(validator, "_PATCHED_SCHEMAS", {})
    assert stix_problems(bundle) == []


def test_a_node_key_ring_can_sign_bundles(shipment):
    """The node's NodeKeys.sign and key_id plug straight in."""
    keys = NodeKeys.generate()
    private, public = hpke.generate_x25519()
    signing = keys.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    card = Card("KOR", signing, hpke.generate_x25519()[1])
    bundle = build_bundle(shipment, public, keys.sign, keys.key_id)
    assert open_bundle(bundle, card, private).key_id == keys.key_id


# -- deterministic ids ---------------------------------------------------------------------------------


def test_the_same_release_always_gets_the_same_ids(parties, shipment, bundle):
    again = parties.build(shipment)
    assert again["id"] == bundle["id"]
    assert [o["id"] for o in again["objects"]] == [o["id"] for o in bundle["objects"]]
    assert again["objects"][5]["payload_bin"] != bundle["objects"][5]["payload_bin"]  # fresh HPKE each time


def test_ids_differ_between_releases_and_senders():
    a, b, c = bundle_ids("KOR", 12), bundle_ids("KOR", 13), bundle_ids("JPN", 12)
    for kind in ("bundle", "report", "artifact"):
        assert len({a[kind], b[kind], c[kind]}) == 3
    assert bundle_ids("KOR#1", 2) != bundle_ids("KOR", 12)  # no ambiguity in how names are joined


def test_sdo_and_bundle_ids_are_uuid4_shaped_and_the_artifact_uuid5(bundle):
    """STIX 2.1: SDOs, SMOs and bundles use v4 ids, cyber-observables v5."""
    versions = {obj["type"]: uuid.UUID(obj["id"].split("--")[1]).version for obj in bundle["objects"][1:]}
    assert versions == {"identity": 4, "extension-definition": 4, "report": 4, "artifact": 5}
    assert uuid.UUID(bundle["id"].split("--")[1]).version == 4


# -- tampering -----------------------------------------------------------------------------------------


def leaves(value: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a scalar, an empty array or an empty object inside ``value``."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path


def altered(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        if not value:
            return "x"
        return ("B" if value[0] == "A" else "A") + value[1:]  # the first character: base64 stays base64
    if value is None:
        return "x"
    if isinstance(value, list):
        return ["x"]
    return {"x": 1}


def set_at(bundle: dict[str, Any], path: tuple[Any, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(bundle)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def get_at(bundle: dict[str, Any], path: tuple[Any, ...]) -> Any:
    target: Any = bundle
    for key in path:
        target = target[key]
    return target


def test_changing_any_single_value_anywhere_is_refused(parties, bundle):
    """Every leaf of the bundle (ids, marking, metadata, log head, HPKE parameters, ciphertext,
    signature) changed on its own: a BundleError each time, never an opened body."""
    paths = list(leaves(bundle))
    assert len(paths) > 80
    for path in paths:
        with pytest.raises(BundleError):
            parties.open(set_at(bundle, path, altered(get_at(bundle, path))))


def test_adding_or_removing_any_property_is_refused(parties, bundle):
    def objects_of(value: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        if isinstance(value, dict):
            yield path
            for key, item in value.items():
                yield from objects_of(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from objects_of(item, (*path, index))

    for path in objects_of(bundle):
        target = get_at(bundle, path)
        extra = set_at(bundle, (*path, "x_extra"), 1) if path else {**bundle, "x_extra": 1}
        with pytest.raises(BundleError):
            parties.open(extra)
        for key in target:
            changed = copy.deepcopy(bundle)
            del get_at(changed, path)[key]
            with pytest.raises(BundleError):
                parties.open(changed)


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ((4, "extensions", EXTENSION_ID, "signature", "value"), "signature"),
        ((5, "payload_bin"), "ciphertext"),
        ((5, "extensions", EXTENSION_ID, "hpke", "enc"), "enc"),
        ((4, "extensions", EXTENSION_ID, "item", "level"), "metadata"),
        ((4, "extensions", EXTENSION_ID, "release", "recipient"), "metadata"),
        ((0, "definition", "statement"), "marking"),
        ((4, "object_marking_refs", 0), "marking reference"),
    ],
)
def test_each_kind_of_alteration_breaks_the_signature(parties, bundle, path, what):
    full = ("objects", *path)
    changed = set_at(bundle, full, altered(get_at(bundle, full)))
    with pytest.raises(BundleError, match=r"the signature does not verify .* altered after it was signed"):
        parties.open(changed)


def test_a_resigned_ciphertext_or_metadata_change_still_does_not_open(parties, bundle):
    """Even signed again by the sender's own key, an altered body or item metadata fails HPKE's check:
    the metadata is the body's associated data."""
    body = set_at(bundle, ("objects", 5, "payload_bin"), altered(bundle["objects"][5]["payload_bin"]))
    with pytest.raises(BundleError, match="the body does not open"):
        parties.open(resign(body, parties.signer))
    item = copy.deepcopy(bundle)
    gsomia_extension(item, 4)["item"]["level"] = "KR-III"
    with pytest.raises(BundleError, match="the body does not open"):
        parties.open(resign(item, parties.signer))
    assert parties.open(resign(bundle, parties.signer)).shipment.body  # resigning alone changes nothing


def test_a_resigned_bundle_with_a_wrong_id_is_refused_as_out_of_layout(parties, bundle):
    changed = copy.deepcopy(bundle)
    changed["id"] = bundle_ids("KOR", 13)["bundle"]
    with pytest.raises(BundleError, match=r"not laid out as a gsomia release bundle: bundle.id: expected"):
        parties.open(resign(changed, parties.signer))


def test_a_resigned_wrong_type_names_the_field(parties, bundle):
    changed = copy.deepcopy(bundle)
    gsomia_extension(changed, 4)["release"]["seq"] = "12"
    with pytest.raises(BundleError, match=r"release\.seq: expected an integer"):
        parties.open(resign(changed, parties.signer))
    changed = copy.deepcopy(bundle)
    gsomia_extension(changed, 4)["item"]["topics"] = "dprk-missile"
    with pytest.raises(BundleError, match=r"item\.topics: expected an array of ids, found the string"):
        parties.open(resign(changed, parties.signer))


# -- wrong signer, wrong recipient -----------------------------------------------------------------------


def test_a_bundle_signed_by_another_key_is_refused(parties, shipment):
    impostor = Ed25519PrivateKey.generate()
    forged = build_bundle(shipment, parties.hpke_public, impostor.sign, parties.key_id)  # claims KOR's key id
    with pytest.raises(BundleError, match="signature does not verify with the signing key of 'KOR'"):
        parties.open(forged)
    honest_id = build_bundle(shipment, parties.hpke_public, impostor.sign, key_id_of(raw_public(impostor)))
    with pytest.raises(BundleError, match=r"signed with key id .*; 'KOR''s card holds key id"):
        parties.open(honest_id)


def test_the_card_of_another_party_is_refused(parties, bundle):
    other = replace(parties.card, party="USA")
    with pytest.raises(BundleError, match="names sender 'KOR', but the card given is 'USA''s"):
        open_bundle(bundle, other, parties.hpke_private)


def test_a_bundle_for_another_recipient_is_refused(parties, bundle):
    other_private, _ = hpke.generate_x25519()
    with pytest.raises(BundleError, match="meant for another recipient"):
        open_bundle(bundle, parties.card, other_private)
    with pytest.raises(BundleError, match="addressed to 'JPN', not to this node's party 'USA'"):
        parties.open(bundle, recipient="USA")


# -- missing, duplicate, extra objects and bad shapes ----------------------------------------------------


def test_a_missing_object_is_named(parties, bundle):
    for index, kind in enumerate(["marking-definition", "identity", "extension-definition"]):
        changed = copy.deepcopy(bundle)
        del changed["objects"][index]
        with pytest.raises(BundleError, match=f"expected {'2' if kind == 'identity' else '1'} {kind}"):
            parties.open(changed)
    for index, kind in ((4, "report"), (5, "artifact")):
        changed = copy.deepcopy(bundle)
        del changed["objects"][index]
        with pytest.raises(BundleError, match=f"expected 1 {kind} object"):
            parties.open(changed)


def test_a_duplicate_object_is_named(parties, bundle):
    changed = copy.deepcopy(bundle)
    changed["objects"].append(copy.deepcopy(bundle["objects"][4]))
    with pytest.raises(
        BundleError, match=r"objects\[6\]: duplicate object id 'report--.*' \(also objects\[4\]\)"
    ):
        parties.open(changed)


def test_an_extra_or_reordered_object_is_refused(parties, bundle):
    changed = copy.deepcopy(bundle)
    changed["objects"].append({"type": "indicator", "id": "indicator--" + str(uuid.uuid4())})
    with pytest.raises(BundleError, match="unexpected object type 'indicator'"):
        parties.open(changed)
    changed = copy.deepcopy(bundle)
    changed["objects"][4], changed["objects"][5] = changed["objects"][5], changed["objects"][4]
    with pytest.raises(BundleError, match="expected the order"):
        parties.open(changed)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (None, "a bundle is a JSON object, not null"),
        ([], "a bundle is a JSON object, not an array"),
        ({"type": "report", "objects": []}, "type: expected 'bundle'"),
        ({"type": "bundle", "objects": {}}, "objects: expected an array"),
        ({"type": "bundle", "objects": [1]}, r"objects\[0\]: expected a STIX object"),
        (
            {"type": "bundle", "objects": [{"type": "report", "id": 3}]},
            r"objects\[0\]: expected a STIX object",
        ),
        ({"type": "bundle", "objects": []}, "expected 1 marking-definition object"),
    ],
)
def test_bad_shapes_are_refused(parties, bad, message):
    with pytest.raises(BundleError, match=message):
        parties.open(bad)


def test_an_unsigned_bundle_is_refused(parties, bundle):
    changed = copy.deepcopy(bundle)
    del gsomia_extension(changed, 4)["signature"]
    with pytest.raises(BundleError, match="signature: missing; the bundle is not signed"):
        parties.open(changed)


def test_hostile_values_inside_never_escape_as_other_errors(parties, bundle):
    """Huge numbers, floats, NaN, deep nesting and keys holding a lone surrogate in the signed part:
    BundleError, not a crash."""
    for value in (2**80, 1.5, math.nan, [[[[[]]]]]):
        changed = copy.deepcopy(bundle)
        gsomia_extension(changed, 4)["log_head"]["size"] = value
        with pytest.raises(BundleError):
            parties.open(changed)
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    changed = copy.deepcopy(bundle)
    gsomia_extension(changed, 4)["log_head"]["deep"] = deep
    with pytest.raises(BundleError):
        parties.open(changed)
    for place in ((4, "log_head"), (4, "item"), (5, "hpke")):  # a key no canonical form holds
        changed = copy.deepcopy(bundle)
        gsomia_extension(changed, place[0])[place[1]]["\ud800"] = 1
        with pytest.raises(BundleError):
            parties.open(changed)


# -- JSON text -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"type": "bundle", "type": "bundle"}', "repeats the key 'type'"),
        (b'{"a": NaN}', "holds NaN"),
        (b'{"a": -Infinity}', "holds -Infinity"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": ', "not JSON"),
        (b"[1, 2]", "not an object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not JSON"),
    ],
)
def test_bundle_json_text_is_parsed_strictly(raw, message):
    with pytest.raises(BundleError, match=message):
        bundle_from_json(raw)


def test_an_oversized_bundle_is_refused_before_parsing():
    with pytest.raises(BundleError, match="the bundle is 101 bytes; at most 100"):
        bundle_from_json(b" " * 101, max_bytes=100)


# -- building from bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sender": " KOR"}, "sender: the id ' KOR' starts or ends with whitespace"),
        ({"recipient": 7}, "recipient: expected an id"),
        ({"recipient": "KOR", "route": ("KOR", "KOR")}, "cannot release to itself"),
        ({"release_seq": 0}, "release_seq: expected an integer in 1.."),
        ({"release_seq": True}, "release_seq: expected an integer"),
        ({"release_seq": 2**53}, "release_seq: expected an integer"),
        ({"route": ("JPN", "KOR")}, "route: expected a route on which the sender 'KOR'"),
        ({"route": ["KOR", "JPN"]}, "route: expected a tuple of ids"),
        ({"decided": datetime(2019, 11, 22, tzinfo=UTC)}, "decided: expected a date"),
        ({"created": datetime(2019, 11, 22)}, "created: expected a timezone-aware datetime"),
        ({"body": "text"}, "body: expected bytes"),
        ({"marking_definition": {"type": "marking-definition"}}, "expected a STIX 2.1 marking-definition"),
        (
            {"marking_definition": {**statement_marking(), "id": "marking-definition--x"}},
            "marking_definition.id",
        ),
        ({"log_head": {"size": math.inf}}, "log_head: has no RFC 8785 canonical JSON form"),
        ({"log_head": []}, "log_head: expected a signed head"),
        ({"item": ItemMeta("K\u200b1", "KR-II", "JP-HI")}, r"item\.id: .* U\+200B"),
        ({"item": ItemMeta("K-1", "KR-II", "JP-HI", topics=["t"])}, "item.topics: expected a tuple"),
    ],
)
def test_building_from_a_bad_shipment_names_the_field(parties, changes, message):
    with pytest.raises(BundleError, match=message):
        parties.build(make_shipment(**changes))


def test_building_refuses_an_invalid_marking_definition(parties):
    marking = {**statement_marking(), "definition_type": "tlp", "definition": {"tlp": "purple"}}
    with pytest.raises(BundleError, match=r"would not be valid STIX 2\.1"):
        parties.build(make_shipment(marking_definition=marking))


def test_building_refuses_bad_keys_and_signatures(parties, shipment):
    with pytest.raises(BundleError, match=r"cannot seal the body for the recipient: .*32 bytes"):
        build_bundle(shipment, b"short", parties.signer.sign, parties.key_id)
    with pytest.raises(BundleError, match="low-order point"):
        build_bundle(shipment, bytes(32), parties.signer.sign, parties.key_id)
    with pytest.raises(BundleError, match="64-byte Ed25519 signature"):
        build_bundle(shipment, parties.hpke_public, lambda data: b"sig", parties.key_id)
    with pytest.raises(BundleError, match="key_id: expected 32 lowercase hex digits"):
        build_bundle(shipment, parties.hpke_public, parties.signer.sign, "KOR-key")


def test_a_tlp_marking_works_too(parties):
    """The TLP:AMBER marking of STIX 2.1 (its fixed id and definition) is carried as well."""
    tlp_amber = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "name": "TLP:AMBER",
        "definition": {"tlp": "amber"},
    }
    shipment = make_shipment(marking_definition=tlp_amber)
    assert parties.open(parties.build(shipment)).shipment == shipment


def test_created_is_kept_to_the_millisecond_in_utc(parties):
    moment = datetime(2020, 1, 1, 9, 0, 0, 123456, tzinfo=timezone(timedelta(hours=9)))
    opened = parties.open(parties.build(make_shipment(created=moment))).shipment
    assert opened.created == moment.replace(microsecond=123000)
    assert opened.created.tzinfo == UTC


party_ids = st.text(min_size=1, max_size=30).filter(lambda s: id_problem(s) is None)


@given(
    sender=party_ids,
    recipient=party_ids,
    seq=st.integers(1, 2**53 - 1),
    body=st.binary(max_size=3000),
    topics=st.lists(party_ids, max_size=3).map(tuple),
    releasable=st.one_of(st.none(), st.lists(party_ids, max_size=3).map(tuple)),
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)),
)
@settings(max_examples=25, deadline=None)
def test_any_valid_shipment_round_trips(sender, recipient, seq, body, topics, releasable, day):
    if sender == recipient:
        recipient += "-2"
    parties = Parties()
    parties.card = replace(parties.card, party=sender)
    shipment = make_shipment(
        sender=sender,
        recipient=recipient,
        originator=sender,
        route=(sender, recipient),
        release_seq=seq,
        body=body,
        decided=day,
        item=ItemMeta("K-1", "L1", "M1", topics, releasable, ()),
    )
    bundle = parties.build(shipment)
    assert parties.open(bundle_from_json(bundle_to_json(bundle)), recipient=recipient).shipment == shipment


def test_a_pull_without_the_shared_objects_still_rebuilds_the_signed_bundle(parties, bundle):
    """A pull of what was added since the last one may lack the objects every bundle shares (gsomia's
    identity and extension definition, the sender's identity): they are made again, as signed."""
    from gsomia.exchange.bundle import bundles_from_objects

    objects = bundle["objects"]
    only_own = [objects[0], objects[4], objects[5]]  # the marking, the report and the artifact
    [(report, rebuilt, problem)] = bundles_from_objects(only_own)
    assert (report, problem) == (objects[4]["id"], "")
    assert rebuilt == bundle
    parties.open(rebuilt)
    [(_, missing, why)] = bundles_from_objects([objects[4], objects[5]])  # no marking: not rebuilt
    assert missing is None
    assert "whole bundle" in why


@pytest.mark.parametrize(
    ("expected", "found"),
    [
        ({"a": 1}, {"a": True}),
        ({"a": 1}, {"a": 1.0}),
        ({"a": None}, {"a": math.nan}),
        ({"a": None}, {"a": math.inf}),
        ({"a": [None]}, {"a": [-math.inf]}),
        ({"a": "1"}, {"a": 1}),
        ({"a": 1}, {"a": 1, "b": None}),
    ],
)
def test_a_layout_comparison_tells_json_types_apart(expected, found):
    """The quick layout comparison never calls two values the same that JSON tells apart: true is not 1, 1
    is not 1.0, and null is not NaN or an infinity (which orjson would write as null)."""
    from gsomia.exchange.bundle import _same_json

    assert not _same_json(expected, found)
    assert _same_json(expected, copy.deepcopy(expected))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["bundle", "report", "artifact", "identity", "note"]),
    st.lists(st.one_of(st.text(max_size=30), st.integers(min_value=0, max_value=2**53 - 1)), max_size=3),
)
def test_derived_stix_ids_are_uuid5_under_gsomias_namespace_stamped_as_stix_asks(kind, name):
    """The ids gsomia derives (bundles, reports, artifacts, identities) are exactly the RFC 4122 UUIDv5 of
    the canonical JSON of the kind and name under gsomia's namespace, stamped version 4 but for
    cyber-observables (artifact), as the uuid module makes them: the ids partners already hold."""
    from gsomia.exchange import bundle as module
    from gsomia.ledger.canonical import canonical

    expected = uuid.uuid5(module._NAMESPACE, canonical([kind, *name]).decode("utf-8"))
    if kind != "artifact":
        expected = uuid.UUID(bytes=expected.bytes, version=4)
    assert module._stix_id(kind, *name) == f"{kind}--{expected}"


def test_a_releases_ids_are_those_partners_already_hold():
    """Ids already served and receipted (made by the uuid module before): they must never change."""
    assert bundle_ids("KOR", 1) == {
        "bundle": "bundle--2eba83e0-488f-4ad3-b2b0-1428a04df5ad",
        "report": "report--126f3a83-e6cb-4292-936e-ac6f550cdfb9",
        "artifact": "artifact--28ce7be6-c944-5b0d-a642-961cf9b59f54",
        "identity": "identity--9d38e9c9-77f6-496a-8d0f-120ff2995d5c",
    }
