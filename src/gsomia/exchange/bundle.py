"""A release as a signed STIX 2.1 bundle: what one node sends another for one allowed release.

The layout, the signature and the HPKE parameters are specified in ``docs/exchange-format.md``; in short,
a bundle holds six objects in this order:

1. the ``marking-definition`` the caller gives (the release's handling marking);
2. the ``identity`` of gsomia (creator of the extension definition, the same in every bundle);
3. the ``extension-definition`` of gsomia's property extension (the same in every bundle);
4. the ``identity`` of the sending party;
5. a ``report`` for the item: its name is the item id, ``published`` the release time, and gsomia's
   extension carries the release (sender, sequence number, originator, recipient, route, decided day), the
   item's metadata, the sender's latest signed log head and the Ed25519 signature;
6. an ``artifact`` whose ``payload_bin`` is the body sealed with HPKE for the recipient
   (``encryption_algorithm`` ``AES-256-GCM``), gsomia's extension carrying ``enc``, the suite and ``info``.

The report and the artifact carry ``object_marking_refs`` to the marking. The signature covers the RFC
8785 canonical bytes of the whole bundle with only the signature member taken out. Ids are derived from
the sender and release number, so the same release always has the same bundle, report and artifact ids.

:func:`open_bundle` refuses anything that is not exactly such a bundle, signed by the sender's card, for
this recipient, with a :class:`BundleError` whose message is one line fit for a quarantine record.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, cast

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gsomia.domain.ids import id_problem, quoted
from gsomia.ledger.canonical import canonical
from gsomia.ledger.errors import CanonicalError

from . import hpke
from .cards import Card, check_card, fingerprint, key_id_of
from .errors import BundleError, HpkeError
from .stixcheck import ShapeMemo, stix_problems

FORMAT = "gsomia/release-bundle"
FORMAT_VERSION = 1
SIGNATURE_ALG = "Ed25519"
SIGNATURE_SIZE = 64
MAX_SEQ = 2**53 - 1  # the largest integer canonical JSON carries exactly
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
ENCRYPTION_ALGORITHM = "AES-256-GCM"  # the artifact's payload is AES-256-GCM; HPKE gives its key and nonce

_NAMESPACE = uuid.UUID("7e07b8f9-7e3b-4381-8ed5-195fe39df04f")  # gsomia's: never change it
_FORMAT_TIME = "2025-01-01T00:00:00.000Z"  # created/modified of the objects every bundle shares
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MARKING_ID = re.compile(r"marking-definition--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_HEX = re.compile(r"[0-9a-f]+")
_SHAPE_TIME = "2000-01-01T00:00:00.000Z"
_SHAPE_MARKING_ID = "marking-definition--00000000-0000-4000-8000-000000000000"
_LAYOUT = ("marking-definition", "identity", "extension-definition", "identity", "report", "artifact")
_SORTED = orjson.OPT_SORT_KEYS
_SHAPES = ShapeMemo()  # STIX validity per bundle shape (see gsomia.exchange.stixcheck)


def _stix_id(kind: str, *name: str | int) -> str:
    """``kind--uuid`` derived from ``name``: UUIDv5 bits under gsomia's namespace, stamped version 4 for
    everything but cyber-observables (STIX 2.1 says SDOs, SMOs and bundles use v4 ids, SCOs v5)."""
    # RFC 4122 by hand (what uuid.uuid5, then UUID(bytes=..., version=4), give: about a third of the cost)
    raw = bytearray(hashlib.sha1(_NAMESPACE.bytes + canonical([kind, *name]), usedforsecurity=False).digest())
    raw[6] = (raw[6] & 0x0F) | (0x50 if kind == "artifact" else 0x40)  # the version
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw[:16].hex()
    return f"{kind}--{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


GSOMIA_IDENTITY_ID = _stix_id("identity", "gsomia")
EXTENSION_ID = _stix_id("extension-definition", FORMAT, FORMAT_VERSION)


@dataclass(frozen=True, slots=True)
class ItemMeta:
    """What the recipient may know of an item without opening its body."""

    id: str
    level: str  # the sender's level
    marking: str  # the recipient's equivalent marking, as the decision gave it
    topics: tuple[str, ...] = ()
    releasable_to: tuple[str, ...] | None = None
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Shipment:
    """One allowed release, as the sender ships it: release ``sender``/``release_seq`` of ``item``.

    ``created`` is when the bundle is made (timezone-aware; kept to the millisecond, as STIX wants);
    ``decided`` the day the release was decided for. ``marking_definition`` is a STIX 2.1
    marking-definition object and ``log_head`` the sender's latest signed tree head, carried as given.
    """

    sender: str
    release_seq: int
    originator: str
    recipient: str
    route: tuple[str, ...]
    decided: date
    item: ItemMeta
    body: bytes
    marking_definition: dict[str, Any]
    log_head: dict[str, Any]
    created: datetime

    @property
    def release_id(self) -> str:
        """``KOR#12``: the sender's party and its release number."""
        return f"{self.sender}#{self.release_seq}"


@dataclass(frozen=True, slots=True)
class Opened:
    """A bundle that verified and opened: the shipment it carried, its bundle id and the signing key id."""

    shipment: Shipment
    bundle_id: str
    key_id: str


def bundle_ids(sender: str, release_seq: int) -> dict[str, str]:
    """The ids the release ``sender``/``release_seq`` always gets: ``bundle``, ``report``, ``artifact``
    and the sender's ``identity``."""
    return dict(zip(("bundle", "report", "artifact", "identity"), _ids(sender, release_seq), strict=True))


@functools.lru_cache(maxsize=4096)  # a bundle's ids are asked for several times while it is built or read
def _ids(sender: str, release_seq: int) -> tuple[str, str, str, str]:
    return (
        _stix_id("bundle", sender, release_seq),
        _stix_id("report", sender, release_seq),
        _stix_id("artifact", sender, release_seq),
        _stix_id("identity", "party", sender),
    )


@functools.lru_cache(maxsize=4096)  # asked for several times while a bundle is built or opened
def body_info(sender: str, release_seq: int, recipient: str) -> bytes:
    """HPKE ``info``: which release the body belongs to and for whom (RFC 8785 JSON)."""
    return canonical(
        {"type": "gsomia/body", "v": 1, "sender": sender, "seq": release_seq, "recipient": recipient}
    )


def build_bundle(
    shipment: Shipment,
    recipient_hpke_public: bytes,
    sign: Callable[[bytes], bytes],
    key_id: str,
    *,
    shapes: ShapeMemo | None = None,
) -> dict[str, Any]:
    """The signed STIX 2.1 bundle for ``shipment``, its body sealed for ``recipient_hpke_public``.

    ``sign`` signs bytes with the sender's Ed25519 key, whose id is ``key_id``. BundleError if the
    shipment is malformed, the key unusable, the signature not 64 bytes or the result not valid STIX.
    ``shapes`` judges its STIX validity (a node's memo, which remembers valid shapes across processes;
    by default one kept by this process).
    """
    _check_shipment(shipment)
    if not isinstance(key_id, str) or not re.fullmatch(r"[0-9a-f]{32}", key_id):
        raise BundleError(f"key_id: expected 32 lowercase hex digits (a node key id), found {quoted(key_id)}")
    try:
        enc, sealed = hpke.seal(recipient_hpke_public, shipment.body, _info(shipment), _aad(shipment))
    except HpkeError as exc:
        raise BundleError(f"cannot seal the body for the recipient: {exc}") from None
    recipient_key = fingerprint(recipient_hpke_public)
    signed = _signing_bytes(_assemble(shipment, enc, sealed, recipient_key, None))
    signature = sign(signed)
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
        raise BundleError(f"sign() must return a {SIGNATURE_SIZE}-byte Ed25519 signature")
    record = {"alg": SIGNATURE_ALG, "key_id": key_id, "value": _b64(signature)}
    bundle = _assemble(shipment, enc, sealed, recipient_key, record)
    memo = _SHAPES if shapes is None else shapes
    problems = memo.problems(bundle, _shape(shipment, recipient_key, record))
    if problems:
        raise BundleError(
            f"the bundle would not be valid STIX 2.1 (check the marking definition): {problems[0]}"
        )
    return bundle


def open_bundle(
    bundle: object,
    sender_card: Card,
    recipient_hpke_private: bytes,
    *,
    recipient: str | None = None,
    shapes: ShapeMemo | None = None,
) -> Opened:
    """Verify ``bundle`` against the sender's card and open its body with this node's HPKE key.

    ``recipient`` (this node's party), when given, must be the party the release names; ``shapes``
    judges its STIX validity, as for :func:`build_bundle`. Every way a bundle can be wrong (altered,
    signed by another key, missing or duplicated objects, wrong types, for another recipient) is a
    BundleError saying what and where.
    """
    check_card(sender_card)
    own_public = hpke.public_of(recipient_hpke_private)
    bundle, objects = _objects(bundle)
    report, artifact = objects["report"], objects["artifact"]
    extension = _extension(report, "objects[4]")
    signature = _signature(extension)
    release = _read_release(extension)
    if release["sender"] != sender_card.party:
        raise BundleError(
            f"the release names sender {quoted(release['sender'])}, but the card given is "
            f"{quoted(sender_card.party)}'s"
        )
    expected_key = key_id_of(sender_card.signing_key)
    if signature["key_id"] != expected_key:
        raise BundleError(
            f"signed with key id {quoted(signature['key_id'])}; {quoted(sender_card.party)}'s card holds "
            f"key id {expected_key}"
        )
    _verify(bundle, sender_card, signature["value"])
    shipment, enc, sealed, sealed_for, info = _read(objects, extension, release, artifact)
    expected = _assemble(shipment, enc, sealed, sealed_for, signature)
    difference = None if _same_json(expected, bundle) else _first_difference(expected, bundle, "bundle")
    if difference is not None:
        raise BundleError(f"signed, but not laid out as a gsomia release bundle: {difference}")
    if recipient is not None and shipment.recipient != recipient:
        raise BundleError(
            f"addressed to {quoted(shipment.recipient)}, not to this node's party {quoted(recipient)}"
        )
    if sealed_for != fingerprint(own_public):
        raise BundleError(
            f"the body is sealed for the HPKE key {sealed_for[:16]}…, not this node's key "
            f"{fingerprint(own_public)[:16]}…: it was meant for another recipient"
        )
    if info != _info(shipment):
        raise BundleError("objects[5].extensions[gsomia].hpke.info: does not name this release and recipient")
    memo = _SHAPES if shapes is None else shapes
    problems = memo.problems(bundle, _shape(shipment, sealed_for, signature))
    if problems:
        raise BundleError(f"not valid STIX 2.1: {problems[0]}")
    try:
        body = hpke.open_(recipient_hpke_private, enc, sealed, info, _aad(shipment))
    except HpkeError as exc:
        raise BundleError(f"the body does not open: {exc}") from None
    return Opened(replace(shipment, body=body), bundle["id"], signature["key_id"])


def bundle_from_json(raw: bytes | str, max_bytes: int = MAX_BUNDLE_BYTES) -> dict[str, Any]:
    """Parse a received bundle's JSON text: BundleError for more than ``max_bytes``, bad UTF-8 or JSON,
    a duplicate key, NaN or infinities, nesting too deep, or anything but an object at the top."""
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise BundleError(f"the bundle is {size} bytes; at most {max_bytes} are accepted")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        parsed = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise BundleError(f"the bundle is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"the bundle is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise BundleError("the bundle's JSON is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise BundleError("the bundle's JSON is not an object")
    return parsed


def bundle_to_json(bundle: Mapping[str, Any]) -> bytes:
    """The bundle as RFC 8785 canonical JSON bytes: the same bundle always gives the same bytes."""
    try:
        return canonical(bundle)
    except (CanonicalError, RecursionError) as exc:
        raise BundleError(f"the bundle has no canonical JSON form: {exc}") from None


# -- building -------------------------------------------------------------------------------------------


def _assemble(
    shipment: Shipment, enc: bytes, sealed: bytes, recipient_key: str, signature: dict[str, str] | None
) -> dict[str, Any]:
    """The bundle for ``shipment`` (its body already sealed), with or without the signature member."""
    ids = bundle_ids(shipment.sender, shipment.release_seq)
    created = stix_time(shipment.created)
    marking = [shipment.marking_definition["id"]]
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "release": _release_json(shipment),
        "item": _item_json(shipment.item),
        "log_head": shipment.log_head,
    }
    if signature is not None:
        extension["signature"] = signature
    report = {
        "type": "report",
        "spec_version": "2.1",
        "id": ids["report"],
        "created": created,
        "modified": created,
        "created_by_ref": ids["identity"],
        "name": shipment.item.id,
        "published": created,
        "object_refs": [ids["artifact"]],
        "object_marking_refs": marking,
        "extensions": {EXTENSION_ID: extension},
    }
    artifact = {
        "type": "artifact",
        "spec_version": "2.1",
        "id": ids["artifact"],
        "payload_bin": _b64(sealed),
        "encryption_algorithm": ENCRYPTION_ALGORITHM,
        "object_marking_refs": marking,
        "extensions": {
            EXTENSION_ID: {
                "extension_type": "property-extension",
                "hpke": {
                    "mode": "base",
                    "suite": hpke.SUITE_NAME,
                    "kem_id": hpke.KEM_ID,
                    "kdf_id": hpke.KDF_ID,
                    "aead_id": hpke.AEAD_ID,
                    "enc": _b64(enc),
                    "info": _b64(_info(shipment)),
                    "recipient_key": recipient_key,
                },
            }
        },
    }
    objects = [
        shipment.marking_definition,
        _gsomia_identity(),
        _extension_definition(),
        _party_identity(shipment.sender, ids["identity"]),
        report,
        artifact,
    ]
    return {"type": "bundle", "id": ids["bundle"], "objects": objects}


def _gsomia_identity() -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": GSOMIA_IDENTITY_ID,
        "created": _FORMAT_TIME,
        "modified": _FORMAT_TIME,
        "name": "gsomia",
        "identity_class": "system",
    }


def _extension_definition() -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": GSOMIA_IDENTITY_ID,
        "created": _FORMAT_TIME,
        "modified": _FORMAT_TIME,
        "name": "gsomia release",
        "description": (
            "A release under a security agreement: the release, the item's metadata, the sender's signed "
            "log head and the bundle's Ed25519 signature (on a report); the HPKE parameters of the sealed "
            "body (on an artifact)."
        ),
        "schema": f"gsomia docs/exchange-format.md, format {FORMAT} version {FORMAT_VERSION}",
        "version": f"{FORMAT_VERSION}.0.0",
        "extension_types": ["property-extension"],
    }


def _party_identity(party: str, identity_id: str) -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": _FORMAT_TIME,
        "modified": _FORMAT_TIME,
        "name": party,
        "identity_class": "organization",
    }


def _release_json(shipment: Shipment) -> dict[str, Any]:
    return {
        "sender": shipment.sender,
        "seq": shipment.release_seq,
        "originator": shipment.originator,
        "recipient": shipment.recipient,
        "route": list(shipment.route),
        "decided": shipment.decided.isoformat(),
    }


def _item_json(item: ItemMeta) -> dict[str, Any]:
    return {
        "id": item.id,
        "level": item.level,
        "marking": item.marking,
        "topics": list(item.topics),
        "releasable_to": None if item.releasable_to is None else list(item.releasable_to),
        "caveats": list(item.caveats),
    }


def _info(shipment: Shipment) -> bytes:
    return body_info(shipment.sender, shipment.release_seq, shipment.recipient)


def _aad(shipment: Shipment) -> bytes:
    """HPKE ``aad``: the release and item metadata carried in the clear, so the body opens only with them."""
    return canonical({"release": _release_json(shipment), "item": _item_json(shipment.item)})


def _signing_bytes(unsigned: Mapping[str, Any]) -> bytes:
    try:
        return canonical(unsigned)
    except (CanonicalError, RecursionError) as exc:
        raise BundleError(
            f"the bundle has no RFC 8785 canonical form, so it cannot be signed: {exc}"
        ) from None


def _check_shipment(shipment: object) -> None:
    if not isinstance(shipment, Shipment):
        raise BundleError(f"expected a Shipment, found {type(shipment).__name__}")
    for field in ("sender", "originator", "recipient"):
        _check_id(field, getattr(shipment, field))
    seq = shipment.release_seq
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise BundleError(f"release_seq: expected an integer in 1..{MAX_SEQ}, found {quoted(seq)}")
    if shipment.sender == shipment.recipient:
        raise BundleError(f"recipient: the sender {quoted(shipment.sender)} cannot release to itself")
    _check_route(shipment.route, shipment.sender, shipment.recipient)
    if not isinstance(shipment.decided, date) or isinstance(shipment.decided, datetime):
        raise BundleError(f"decided: expected a date, found {type(shipment.decided).__name__}")
    if not isinstance(shipment.created, datetime) or shipment.created.utcoffset() is None:
        raise BundleError(
            "created: expected a timezone-aware datetime (the bundle's STIX timestamps are UTC)"
        )
    _check_item(shipment.item)
    if not isinstance(shipment.body, bytes):
        raise BundleError(f"body: expected bytes, found {type(shipment.body).__name__}")
    _check_marking(shipment.marking_definition, "marking_definition")
    if not isinstance(shipment.log_head, dict):
        raise BundleError(
            f"log_head: expected a signed head (a JSON object), found {type(shipment.log_head).__name__}"
        )
    try:
        canonical(shipment.log_head)
    except (CanonicalError, RecursionError) as exc:
        raise BundleError(f"log_head: has no RFC 8785 canonical JSON form ({exc})") from None


def _check_item(item: object) -> None:
    if not isinstance(item, ItemMeta):
        raise BundleError(f"item: expected an ItemMeta, found {type(item).__name__}")
    for field in ("id", "level", "marking"):
        _check_id(f"item.{field}", getattr(item, field))
    for field in ("topics", "caveats"):
        _check_ids(f"item.{field}", getattr(item, field))
    if item.releasable_to is not None:
        _check_ids("item.releasable_to", item.releasable_to)


def _check_route(route: object, sender: str, recipient: str) -> None:
    _check_ids("route", route)
    assert isinstance(route, tuple)
    # the whole route travels; the sender (its first party, or a conduit on it) hands the bundle to the
    # recipient, the party right after it
    hands = route.index(sender) if sender in route[:-1] else -1
    if len(route) < 2 or len(set(route)) != len(route) or hands < 0 or route[hands + 1] != recipient:
        raise BundleError(
            f"route: expected a route on which the sender {quoted(sender)} hands the item to the recipient "
            f"{quoted(recipient)}, found {quoted(list(route))}"
        )


def _check_ids(field: str, values: object) -> None:
    if not isinstance(values, tuple):
        raise BundleError(f"{field}: expected a tuple of ids, found {type(values).__name__}")
    for index, value in enumerate(values):
        _check_id(f"{field}[{index}]", value)


def _check_id(field: str, value: object) -> None:
    if not isinstance(value, str):
        raise BundleError(f"{field}: expected an id (a string), found {type(value).__name__}")
    problem = id_problem(value)
    if problem is not None:
        raise BundleError(f"{field}: the id {quoted(value)} {problem}")


def _check_marking(marking: object, where: str) -> None:
    if not isinstance(marking, dict):
        raise BundleError(f"{where}: expected a STIX marking-definition object, found {_kind(marking)}")
    if marking.get("type") != "marking-definition" or marking.get("spec_version") != "2.1":
        raise BundleError(f"{where}: expected a STIX 2.1 marking-definition (type and spec_version)")
    marking_id = marking.get("id")
    if not isinstance(marking_id, str) or not _MARKING_ID.fullmatch(marking_id):
        raise BundleError(f"{where}.id: expected marking-definition--<uuid>, found {quoted(marking_id)}")


def _shape(shipment: Shipment, recipient_key: str, signature: Mapping[str, str]) -> dict[str, Any]:
    """The shape of the bundle of a checked ``shipment`` (see :mod:`gsomia.exchange.stixcheck`): the
    bundle rebuilt with one representative for every value of a proven form (party and item ids,
    release number, days and times, the sealed body and ``enc``, the signature's value, hex and integers
    in the log head, the marking's id and a well-formed ``created``). The marking's content, the
    signing key's id and the recipient key's fingerprint stay as they are."""
    names: dict[str, str] = {}

    def name(value: str) -> str:
        return names.setdefault(value, f"id{len(names)}")

    item = shipment.item
    marking = dict(shipment.marking_definition)
    marking["id"] = _SHAPE_MARKING_ID
    if _proven_time(marking.get("created")):
        marking["created"] = _SHAPE_TIME
    shape = replace(
        shipment,
        sender=name(shipment.sender),
        release_seq=1,
        originator=name(shipment.originator),
        recipient=name(shipment.recipient),
        route=tuple(name(p) for p in shipment.route),
        decided=date(2000, 1, 1),
        item=ItemMeta(
            name(item.id),
            name(item.level),
            name(item.marking),
            tuple(name(t) for t in item.topics),
            None if item.releasable_to is None else tuple(name(p) for p in item.releasable_to),
            tuple(name(c) for c in item.caveats),
        ),
        body=b"",
        marking_definition=marking,
        log_head=cast(dict[str, Any], _shape_json(shipment.log_head)),
        created=datetime(2000, 1, 1, tzinfo=UTC),
    )
    seal = _b64(bytes(SIGNATURE_SIZE))
    return _assemble(shape, bytes(32), bytes(16), recipient_key, {**signature, "value": seal})


def _shape_json(value: object) -> object:
    """``value`` with integers, lowercase hex and well-formed timestamps replaced by representatives."""
    if isinstance(value, dict):
        return {key: _shape_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_shape_json(inner) for inner in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return 0
    if isinstance(value, str) and _HEX.fullmatch(value):
        return "0"
    if _proven_time(value):
        return _SHAPE_TIME
    return value


def _proven_time(value: object) -> bool:
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


# -- opening --------------------------------------------------------------------------------------------


def _objects(bundle: object) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The bundle's objects by role (``report``, ``artifact``, ``marking``...), checked for shape:
    a bundle of exactly the six objects of the layout, each once, in order."""
    if not isinstance(bundle, dict):
        raise BundleError(f"a bundle is a JSON object, not {_kind(bundle)}")
    if bundle.get("type") != "bundle":
        raise BundleError(f"type: expected 'bundle', found {quoted(bundle.get('type'))}")
    objects = bundle.get("objects")
    if not isinstance(objects, list):
        raise BundleError(f"objects: expected an array of STIX objects, found {_kind(objects)}")
    seen: dict[str, int] = {}
    for index, obj in enumerate(objects):
        if (
            not isinstance(obj, dict)
            or not isinstance(obj.get("type"), str)
            or not isinstance(obj.get("id"), str)
        ):
            raise BundleError(f"objects[{index}]: expected a STIX object with a string type and id")
        if obj["id"] in seen:
            raise BundleError(
                f"objects[{index}]: duplicate object id {quoted(obj['id'])} (also objects[{seen[obj['id']]}])"
            )
        seen[obj["id"]] = index
        if obj["type"] not in _LAYOUT:
            raise BundleError(
                f"objects[{index}]: unexpected object type {quoted(obj['type'])}; a release bundle holds "
                "a marking-definition, two identities, an extension-definition, a report and an artifact"
            )
    types = [obj["type"] for obj in objects]
    for kind in dict.fromkeys(_LAYOUT):
        wanted, found = _LAYOUT.count(kind), types.count(kind)
        if found != wanted:
            raise BundleError(f"objects: expected {wanted} {kind} object(s), found {found}")
    if tuple(types) != _LAYOUT:
        raise BundleError(f"objects: expected the order {', '.join(_LAYOUT)}; found {', '.join(types)}")
    return bundle, {"marking": objects[0], "sender": objects[3], "report": objects[4], "artifact": objects[5]}


def _extension(obj: Mapping[str, Any], where: str) -> dict[str, Any]:
    extensions = obj.get("extensions")
    if not isinstance(extensions, dict) or not isinstance(extensions.get(EXTENSION_ID), dict):
        raise BundleError(f"{where}.extensions: gsomia's extension ({EXTENSION_ID}) is missing")
    extension: dict[str, Any] = extensions[EXTENSION_ID]
    return extension


def _signature(extension: Mapping[str, Any]) -> dict[str, str]:
    where = "objects[4].extensions[gsomia].signature"
    record = extension.get("signature")
    if not isinstance(record, dict):
        raise BundleError(f"{where}: missing; the bundle is not signed")
    if set(record) != {"alg", "key_id", "value"}:
        raise BundleError(
            f"{where}: expected the fields alg, key_id and value, found {quoted(sorted(map(str, record)))}"
        )
    if record["alg"] != SIGNATURE_ALG:
        raise BundleError(f"{where}.alg: expected {SIGNATURE_ALG!r}, found {quoted(record['alg'])}")
    if not isinstance(record["key_id"], str):
        raise BundleError(f"{where}.key_id: expected a string, found {_kind(record['key_id'])}")
    if not isinstance(record["value"], str):
        raise BundleError(f"{where}.value: expected base64, found {_kind(record['value'])}")
    return {"alg": record["alg"], "key_id": record["key_id"], "value": record["value"]}


def _verify(bundle: dict[str, Any], card: Card, value: str) -> None:
    signature = _from_b64("objects[4].extensions[gsomia].signature.value", value)
    if len(signature) != SIGNATURE_SIZE:
        raise BundleError(
            f"the signature is {len(signature)} bytes; an Ed25519 signature is {SIGNATURE_SIZE}"
        )
    unsigned = dict(bundle)
    unsigned["objects"] = list(bundle["objects"])
    report = dict(unsigned["objects"][4])
    report["extensions"] = dict(report["extensions"])
    extension = dict(report["extensions"][EXTENSION_ID])
    del extension["signature"]
    report["extensions"][EXTENSION_ID] = extension
    unsigned["objects"][4] = report
    try:
        signed = canonical(unsigned)
    except (CanonicalError, RecursionError, TypeError) as exc:
        raise BundleError(
            f"the bundle has no RFC 8785 canonical form, so its signature cannot hold: {exc}"
        ) from None
    try:
        Ed25519PublicKey.from_public_bytes(card.signing_key).verify(signature, signed)
    except InvalidSignature:
        raise BundleError(
            f"the signature does not verify with the signing key of {quoted(card.party)}'s card "
            f"({fingerprint(card.signing_key)[:16]}…): the bundle was altered after it was signed"
        ) from None


def _read_release(extension: Mapping[str, Any]) -> dict[str, Any]:
    where = "objects[4].extensions[gsomia].release"
    release = extension.get("release")
    if not isinstance(release, dict):
        raise BundleError(f"{where}: missing or not an object")
    sender = _read_id(release.get("sender"), f"{where}.sender")
    return {**release, "sender": sender}


def _read(
    objects: Mapping[str, dict[str, Any]],
    extension: Mapping[str, Any],
    release: Mapping[str, Any],
    artifact: Mapping[str, Any],
) -> tuple[Shipment, bytes, bytes, str, bytes]:
    """The shipment (body still sealed), ``enc``, the sealed body, the recipient key's fingerprint and
    ``info``, read with a type check on every field; the layout is compared afterwards."""
    where = "objects[4].extensions[gsomia]"
    seq = release.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise BundleError(f"{where}.release.seq: expected an integer in 1..{MAX_SEQ}, found {quoted(seq)}")
    route = release.get("route")
    if not isinstance(route, list):
        raise BundleError(f"{where}.release.route: expected an array of party ids, found {_kind(route)}")
    item = extension.get("item")
    if not isinstance(item, dict):
        raise BundleError(f"{where}.item: missing or not an object")
    log_head = extension.get("log_head")
    if not isinstance(log_head, dict):
        raise BundleError(f"{where}.log_head: missing or not an object")
    marking = objects["marking"]
    _check_marking(marking, "objects[0]")
    created = _read_time(objects["report"].get("created"), "objects[4].created")
    shipment = Shipment(
        sender=release["sender"],
        release_seq=seq,
        originator=_read_id(release.get("originator"), f"{where}.release.originator"),
        recipient=_read_id(release.get("recipient"), f"{where}.release.recipient"),
        route=tuple(_read_id(party, f"{where}.release.route[{i}]") for i, party in enumerate(route)),
        decided=_read_day(release.get("decided"), f"{where}.release.decided"),
        item=_read_item(item, f"{where}.item"),
        body=b"",
        marking_definition=marking,
        log_head=log_head,
        created=created,
    )
    try:
        _check_shipment(shipment)
    except BundleError as exc:
        raise BundleError(f"{where}: {exc}") from None
    hpke_where = "objects[5].extensions[gsomia].hpke"
    params = _extension(artifact, "objects[5]").get("hpke")
    if not isinstance(params, dict):
        raise BundleError(f"{hpke_where}: missing; the body's HPKE parameters are not there")
    enc = _from_b64(f"{hpke_where}.enc", params.get("enc"))
    info = _from_b64(f"{hpke_where}.info", params.get("info"))
    sealed = _from_b64("objects[5].payload_bin", artifact.get("payload_bin"))
    recipient_key = params.get("recipient_key")
    if not isinstance(recipient_key, str):
        raise BundleError(
            f"{hpke_where}.recipient_key: expected a key fingerprint, found {_kind(recipient_key)}"
        )
    return shipment, enc, sealed, recipient_key, info


def _read_item(item: Mapping[str, Any], where: str) -> ItemMeta:
    releasable = item.get("releasable_to")
    return ItemMeta(
        id=_read_id(item.get("id"), f"{where}.id"),
        level=_read_id(item.get("level"), f"{where}.level"),
        marking=_read_id(item.get("marking"), f"{where}.marking"),
        topics=_read_ids(item.get("topics"), f"{where}.topics"),
        releasable_to=None if releasable is None else _read_ids(releasable, f"{where}.releasable_to"),
        caveats=_read_ids(item.get("caveats"), f"{where}.caveats"),
    )


def _read_ids(values: object, where: str) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise BundleError(f"{where}: expected an array of ids, found {_kind(values)}")
    return tuple(_read_id(value, f"{where}[{index}]") for index, value in enumerate(values))


def _read_id(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise BundleError(f"{where}: expected an id (a string), found {_kind(value)}")
    problem = id_problem(value)
    if problem is not None:
        raise BundleError(f"{where}: the id {quoted(value)} {problem}")
    return value


def _read_day(value: object, where: str) -> date:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise BundleError(f"{where}: expected a day YYYY-MM-DD, found {quoted(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BundleError(f"{where}: {quoted(value)} is not a calendar day") from None


def _read_time(value: object, where: str) -> datetime:
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        raise BundleError(
            f"{where}: expected a STIX timestamp YYYY-MM-DDTHH:MM:SS.sssZ, found {quoted(value)}"
        )
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise BundleError(f"{where}: {quoted(value)} is not a real time") from None


def _first_difference(expected: object, found: object, path: str) -> str | None:
    """Where ``found`` first differs from ``expected`` (a path and both values), or None if equal."""
    if isinstance(expected, dict) and isinstance(found, dict):
        for key in expected:
            if key not in found:
                return f"{_path(path, key)}: missing"
        for key in found:
            if key not in expected:
                return f"{_path(path, key)}: unexpected property"
        for key in expected:
            difference = _first_difference(expected[key], found[key], _path(path, key))
            if difference is not None:
                return difference
        return None
    if isinstance(expected, list) and isinstance(found, list):
        if len(expected) != len(found):
            return f"{path}: expected {len(expected)} entries, found {len(found)}"
        for index, (left, right) in enumerate(zip(expected, found, strict=True)):
            difference = _first_difference(left, right, f"{path}[{index}]")
            if difference is not None:
                return difference
        return None
    if type(expected) is not type(found) or expected != found:
        return f"{path}: expected {quoted(expected)}, found {quoted(found)}"
    return None


def _same_json(expected: object, found: object) -> bool:
    """Whether two JSON values are the same, types included (1, 1.0 and true differ), at C speed: their
    texts are equal (which tells true from 1 and 1 from 1.0, where ``==`` does not) and they are equal as
    values (which tells null from NaN or an infinity, both of which orjson writes as null)."""
    try:
        return orjson.dumps(expected, option=_SORTED) == orjson.dumps(found, option=_SORTED) and bool(
            expected == found
        )
    except (TypeError, ValueError, RecursionError):
        return False  # not plain JSON: let _first_difference say where


def _path(path: str, key: object) -> str:
    shown = "gsomia" if key == EXTENSION_ID else str(key)
    return f"{path}[{shown}]" if key == EXTENSION_ID else f"{path}.{shown}"


# -- encodings ------------------------------------------------------------------------------------------


def stix_time(moment: datetime) -> str:
    """A STIX timestamp in UTC, to the millisecond (finer digits are dropped)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _b64(data: bytes) -> str:
    """Base64 with padding (RFC 4648 section 4), STIX's encoding of binary values."""
    return base64.b64encode(data).decode("ascii")


def _from_b64(where: str, text: object) -> bytes:
    if not isinstance(text, str) or not _BASE64.fullmatch(text) or len(text) % 4:
        raise BundleError(f"{where}: expected base64 (RFC 4648, padded), found {_kind(text)}")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError(f"{where}: not valid base64") from None
    if _b64(data) != text:
        raise BundleError(f"{where}: not in canonical base64 form")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BundleError(f"the bundle's JSON repeats the key {quoted(key)} in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> None:
    raise BundleError(f"the bundle's JSON holds {name}, which JSON does not allow")


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f"the string {quoted(value)}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


__all__ = [
    "ENCRYPTION_ALGORITHM",
    "EXTENSION_ID",
    "FORMAT",
    "FORMAT_VERSION",
    "GSOMIA_IDENTITY_ID",
    "MAX_BUNDLE_BYTES",
    "ItemMeta",
    "Opened",
    "Shipment",
    "body_info",
    "build_bundle",
    "bundle_from_json",
    "bundle_ids",
    "bundle_to_json",
    "open_bundle",
    "shared_objects",
    "stix_problems",
    "stix_time",
]


def bundles_from_objects(objects: list[Any]) -> list[tuple[str, dict[str, Any] | None, str]]:
    """Release bundles put back together from the objects of a TAXII collection (which serves each
    release's objects in order, and the objects every bundle shares once).

    The shared objects (gsomia's identity and extension definition, the sender's identity) are the same
    in every bundle; a pull of what was added since the last one may not carry them, so when they are
    not among ``objects`` they are made here, as every sender makes them. The bundle's signature covers
    them: a sender whose shared objects differ is caught by the signature check.

    One ``(report id, bundle or None, problem)`` per report: a report whose bundle cannot be rebuilt (an
    object missing, a report that is not gsomia's) comes with None and the problem, for quarantine."""
    by_id: dict[str, dict[str, Any]] = {}
    for obj in objects:
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            by_id.setdefault(obj["id"], obj)
    out: list[tuple[str, dict[str, Any] | None, str]] = []
    shared_of: dict[str, dict[str, dict[str, Any]]] = {}  # sender -> its bundles' shared objects by id
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("type") != "report":
            continue
        rid = str(obj.get("id"))
        try:
            release = obj["extensions"][EXTENSION_ID]["release"]
            ids = bundle_ids(str(release["sender"]), int(release["seq"]))
            sender = str(release["sender"])
            if sender not in shared_of:
                shared_of[sender] = {o["id"]: o for o in shared_objects(sender)}
            shared = shared_of[sender]
            wanted = [obj["object_marking_refs"][0], GSOMIA_IDENTITY_ID, EXTENSION_ID, ids["identity"]]
            parts = [by_id.get(w) or shared[w] for w in wanted] + [obj, by_id[ids["artifact"]]]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            out.append((rid, None, f"the collection does not hold this release's whole bundle ({exc!s:.80})"))
            continue
        out.append((rid, {"type": "bundle", "id": ids["bundle"], "objects": parts}, ""))
    return out


def shared_objects(sender: str) -> list[dict[str, Any]]:
    """The objects every bundle ``sender`` makes shares, in their bundle order: gsomia's identity, its
    extension definition and the sender's identity."""
    identity = bundle_ids(sender, 1)["identity"]
    return [_gsomia_identity(), _extension_definition(), _party_identity(sender, identity)]


def release_of(bundle: Mapping[str, Any]) -> tuple[str, int] | None:
    """(sender, release number) a bundle states in its report, or None when it states none."""
    try:
        for obj in bundle["objects"]:
            if isinstance(obj, Mapping) and obj.get("type") == "report":
                release = obj["extensions"][EXTENSION_ID]["release"]
                return str(release["sender"]), int(release["seq"])
    except (KeyError, TypeError, ValueError):
        return None
    return None
