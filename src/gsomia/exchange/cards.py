"""Partner cards: who a node is and how to reach it, exchanged once between partners, out of band.

A card names a party and carries two raw public keys: the node's Ed25519 signing key (it signs the node's
log heads and release bundles) and its X25519 HPKE key (partners seal item bodies for it). Its JSON form::

    {"type": "gsomia/card", "v": 1, "party": "KOR",
     "signing_key": {"alg": "Ed25519", "key": <base64url>, "fingerprint": <64 hex>, "short": <16 hex>},
     "hpke_key":    {"alg": "X25519",  "key": <base64url>, "fingerprint": <64 hex>, "short": <16 hex>},
     "url": "https://kor.example/gsomia" | null}

``key`` is unpadded base64url of the 32 raw bytes; ``fingerprint`` is the lowercase hex SHA-256 of those
bytes and ``short`` its first 16 digits, for people to read aloud when they compare cards. Both are checked
on reading. The signing key's key id (as named in signed heads) is the first 32 digits of its fingerprint.

:func:`card_from_json` refuses anything else with a :class:`CardError` naming the field: an unknown or
missing field, a wrong type, a bad party id, a key of the wrong size or a low-order X25519 key, a
fingerprint that does not match, a URL that is not plain http(s).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from gsomia.domain.ids import id_problem, quoted

from .errors import CardError

CARD_TYPE = "gsomia/card"
CARD_VERSION = 1
KEY_SIZE = 32
SHORT_DIGITS = 16
MAX_URL_LENGTH = 2048
SIGNING_ALG = "Ed25519"
HPKE_ALG = "X25519"

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TOP_FIELDS = frozenset({"type", "v", "party", "signing_key", "hpke_key", "url"})
_KEY_FIELDS = frozenset({"alg", "key", "fingerprint", "short"})
_PROBE = X25519PrivateKey.from_private_bytes(bytes([9]) * KEY_SIZE)  # any scalar: see _check_x25519


@dataclass(frozen=True, slots=True)
class Card:
    """A partner: its party id, raw Ed25519 signing key, raw X25519 HPKE key and optional base URL."""

    party: str
    signing_key: bytes
    hpke_key: bytes
    url: str | None = None


def fingerprint(key: bytes) -> str:
    """The lowercase hex SHA-256 of ``key`` (64 digits, no separators)."""
    return hashlib.sha256(key).hexdigest()


def short_fingerprint(key: bytes) -> str:
    """The first 16 hex digits of :func:`fingerprint`: enough to compare a card by voice."""
    return fingerprint(key)[:SHORT_DIGITS]


def key_id_of(signing_key: bytes) -> str:
    """The key id of a raw Ed25519 public key, as signed heads name it: the first 16 bytes of its SHA-256."""
    return fingerprint(signing_key)[:32]


def card_to_json(card: Card) -> dict[str, Any]:
    """The card's JSON object (see the module docstring); the card is checked first."""
    check_card(card)
    return {
        "type": CARD_TYPE,
        "v": CARD_VERSION,
        "party": card.party,
        "signing_key": _key_json(SIGNING_ALG, card.signing_key),
        "hpke_key": _key_json(HPKE_ALG, card.hpke_key),
        "url": card.url,
    }


def card_from_json(obj: object) -> Card:
    """The card a JSON object describes; CardError naming the field if anything is wrong with it."""
    if not isinstance(obj, Mapping):
        raise CardError(f"a card is a JSON object, not {_kind(obj)}")
    _check_fields("card", obj, _TOP_FIELDS, required=_TOP_FIELDS - {"url"})
    if obj["type"] != CARD_TYPE:
        raise CardError(f"type: expected {CARD_TYPE!r}, found {quoted(obj['type'])}")
    version = obj["v"]
    if not isinstance(version, int) or isinstance(version, bool) or version != CARD_VERSION:
        raise CardError(f"v: this node reads card version {CARD_VERSION}, not {quoted(version)}")
    card = Card(
        party=_party(obj["party"]),
        signing_key=_key_from_json("signing_key", obj["signing_key"], SIGNING_ALG),
        hpke_key=_key_from_json("hpke_key", obj["hpke_key"], HPKE_ALG),
        url=_url(obj.get("url")),
    )
    check_card(card)
    return card


_GOOD: set[Card] = set()  # cards found good (each bundle a partner sends is checked against its card)
GOOD_KEPT = 1024


def check_card(card: Card) -> None:
    """CardError naming the field if ``card`` is not one a partner may use."""
    try:
        if type(card.signing_key) is bytes and type(card.hpke_key) is bytes and card in _GOOD:
            return
    except TypeError:  # a field of an unhashable type: checked in full below, and refused
        pass
    _check_card(card)
    if len(_GOOD) < GOOD_KEPT:
        _GOOD.add(card)


def _check_card(card: Card) -> None:
    _party(card.party)
    for field, value in (("signing_key", card.signing_key), ("hpke_key", card.hpke_key)):
        if not isinstance(value, bytes):
            raise CardError(f"{field}: the key must be bytes, not {_kind(value)}")
        if len(value) != KEY_SIZE:
            raise CardError(f"{field}: a raw public key is {KEY_SIZE} bytes, not {len(value)}")
    _check_x25519(card.hpke_key)
    _url(card.url)


def b64url(data: bytes) -> str:
    """Unpadded base64url of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(field: str, text: object) -> bytes:
    """The bytes of unpadded base64url ``text``; CardError naming ``field`` unless it is exactly that."""
    if not isinstance(text, str):
        raise CardError(f"{field}: expected a base64url string, found {_kind(text)}")
    if len(text) > 4 * KEY_SIZE or not _B64URL.fullmatch(text):
        raise CardError(f"{field}: not unpadded base64url (A-Z a-z 0-9 - _, no '=')")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CardError(f"{field}: not valid base64url") from None
    if b64url(data) != text:
        raise CardError(f"{field}: not in canonical base64url form (stray bits in the last character)")
    return data


def _key_json(alg: str, key: bytes) -> dict[str, str]:
    return {"alg": alg, "key": b64url(key), "fingerprint": fingerprint(key), "short": short_fingerprint(key)}


def _key_from_json(field: str, obj: object, alg: str) -> bytes:
    if not isinstance(obj, Mapping):
        raise CardError(
            f"{field}: expected an object with alg, key, fingerprint and short, found {_kind(obj)}"
        )
    _check_fields(field, obj, _KEY_FIELDS, required=_KEY_FIELDS)
    if obj["alg"] != alg:
        raise CardError(f"{field}.alg: expected {alg!r}, found {quoted(obj['alg'])}")
    key = from_b64url(f"{field}.key", obj["key"])
    if len(key) != KEY_SIZE:
        raise CardError(f"{field}.key: a raw {alg} public key is {KEY_SIZE} bytes, not {len(key)}")
    given = obj["fingerprint"]
    if not isinstance(given, str) or not _HEX64.fullmatch(given):
        raise CardError(f"{field}.fingerprint: expected 64 lowercase hex digits, found {quoted(given)}")
    if given != fingerprint(key):
        raise CardError(f"{field}.fingerprint: does not match the key (the key's is {fingerprint(key)})")
    if obj["short"] != short_fingerprint(key):
        raise CardError(
            f"{field}.short: expected {short_fingerprint(key)} (the first {SHORT_DIGITS} digits of the "
            f"fingerprint), found {quoted(obj['short'])}"
        )
    return key


def _check_fields(
    where: str, obj: Mapping[Any, Any], allowed: frozenset[str], required: frozenset[str]
) -> None:
    unknown = sorted(quoted(k) for k in obj if k not in allowed)
    if unknown:
        raise CardError(
            f"{where}: unknown field {', '.join(unknown)}; a card has {', '.join(sorted(allowed))}"
        )
    missing = sorted(required - set(obj))
    if missing:
        raise CardError(f"{where}: missing field {', '.join(missing)}")


def _party(value: object) -> str:
    if not isinstance(value, str):
        raise CardError(f"party: expected a party id (a string), found {_kind(value)}")
    problem = id_problem(value)
    if problem is not None:
        raise CardError(f"party: the id {quoted(value)} {problem}")
    return value


def _url(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CardError(f"url: expected a string or null, found {_kind(value)}")
    if len(value) > MAX_URL_LENGTH:
        raise CardError(f"url: {len(value)} characters long; at most {MAX_URL_LENGTH}")
    if not value.isascii() or not value.isprintable() or " " in value:
        raise CardError(
            f"url: {quoted(value)} holds spaces, control or non-ASCII characters; percent-encode them"
        )
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise CardError(f"url: {quoted(value)} does not parse ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise CardError(f"url: the scheme must be http or https, not {quoted(parts.scheme)}")
    if not parts.hostname:
        raise CardError(f"url: {quoted(value)} names no host")
    if parts.username is not None or parts.password is not None:
        raise CardError("url: must not carry a user name or password; partners authenticate otherwise")
    if parts.fragment or value.endswith("#"):
        raise CardError(f"url: {quoted(value)} has a fragment (#...); give the base URL only")
    return value


def _check_x25519(key: bytes) -> None:
    """Refuse a low-order X25519 point: with it every shared secret is zero, whatever the other key.

    A clamped scalar is a multiple of 8, so any fixed private key detects one."""
    try:
        _PROBE.exchange(X25519PublicKey.from_public_bytes(key))
    except ValueError:
        raise CardError(
            "hpke_key: a low-order X25519 point, which would make every sealed body readable"
        ) from None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
