"""Partner cards: their JSON form round-trips, and every malformed card is a CardError naming the field."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.crypto.keys import key_id_of as node_key_id
from gsomia.domain.ids import id_problem
from gsomia.exchange import (
    Card,
    CardError,
    card_from_json,
    card_to_json,
    fingerprint,
    hpke,
    short_fingerprint,
)
from gsomia.exchange.cards import key_id_of


def _signing_key() -> bytes:
    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.fixture
def card() -> Card:
    return Card("KOR", _signing_key(), hpke.generate_x25519()[1], "https://kor.example/gsomia")


def test_a_card_round_trips_through_json_text(card):
    text = json.dumps(card_to_json(card))
    assert card_from_json(json.loads(text)) == card


def test_the_json_form_carries_unpadded_base64url_keys_and_their_fingerprints(card):
    obj = card_to_json(card)
    assert obj["type"] == "gsomia/card"
    assert obj["v"] == 1
    for field, key, alg in (
        ("signing_key", card.signing_key, "Ed25519"),
        ("hpke_key", card.hpke_key, "X25519"),
    ):
        entry = obj[field]
        assert entry["alg"] == alg
        assert "=" not in entry["key"]
        assert base64.urlsafe_b64decode(entry["key"] + "=") == key
        assert entry["fingerprint"] == hashlib.sha256(key).hexdigest()
        assert entry["short"] == entry["fingerprint"][:16]


def test_fingerprints_are_colon_free_lowercase_hex():
    key = bytes(range(32))
    assert fingerprint(key) == hashlib.sha256(key).hexdigest()
    assert len(fingerprint(key)) == 64
    assert ":" not in fingerprint(key)
    assert short_fingerprint(key) == fingerprint(key)[:16]


def test_the_signing_key_id_is_the_one_signed_heads_name():
    """key_id_of agrees with the node key ring's key id for the same Ed25519 key."""
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key_id_of(raw) == node_key_id(private.public_key()) == fingerprint(raw)[:32]


def test_url_is_optional(card):
    obj = card_to_json(Card(card.party, card.signing_key, card.hpke_key, None))
    assert obj["url"] is None
    del obj["url"]
    assert card_from_json(obj).url is None


party_ids = st.text(min_size=1, max_size=40).filter(lambda s: id_problem(s) is None)
http_urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True),
    st.sampled_from(["", ":8443", ":80"]),
    st.from_regex(r"[a-zA-Z0-9/_.-]{0,30}", fullmatch=True),
)


@given(party=party_ids, seed=st.binary(min_size=32, max_size=32), url=st.one_of(st.none(), http_urls))
@settings(max_examples=80, deadline=None)
def test_any_valid_card_round_trips(party, seed, url):
    card = Card(party, _signing_key(), hpke.public_of(seed), url)
    assert card_from_json(json.loads(json.dumps(card_to_json(card)))) == card


def _edit(obj: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    edited = copy.deepcopy(obj)
    target = edited
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return edited


_DELETE = object()
ZERO_KEY = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
SHORT_KEY = base64.urlsafe_b64encode(bytes(31)).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("colour",), "red", "card: unknown field 'colour'"),
        (("signing_key", "use"), "sig", "signing_key: unknown field 'use'"),
        (("party",), _DELETE, "card: missing field party"),
        (("hpke_key",), _DELETE, "card: missing field hpke_key"),
        (("hpke_key", "short"), _DELETE, "hpke_key: missing field short"),
        (("type",), "gsomia/head", "type: expected 'gsomia/card'"),
        (("v",), 2, "v: this node reads card version 1"),
        (("v",), True, "v: this node reads card version 1"),
        (("party",), 7, "party: expected a party id"),
        (("party",), " KOR", "party: the id ' KOR' starts or ends with whitespace"),
        (("party",), "KOR\u202e", "party: the id .* invisible or control character U\\+202E"),
        (("party",), "", "party: the id '' is empty"),
        (("signing_key",), "AAAA", "signing_key: expected an object"),
        (("signing_key", "alg"), "RSA", "signing_key.alg: expected 'Ed25519'"),
        (("hpke_key", "alg"), "Ed25519", "hpke_key.alg: expected 'X25519'"),
        (("signing_key", "key"), SHORT_KEY, "signing_key.key: a raw Ed25519 public key is 32 bytes, not 31"),
        (("signing_key", "key"), ZERO_KEY + "=", "signing_key.key: not unpadded base64url"),
        (("signing_key", "key"), ZERO_KEY[:-1] + "+", "signing_key.key: not unpadded base64url"),
        (("signing_key", "key"), ZERO_KEY[:-1] + "B", "signing_key.key: not in canonical base64url form"),
        (("signing_key", "key"), 12, "signing_key.key: expected a base64url string"),
        (("signing_key", "fingerprint"), "AB" * 32, "signing_key.fingerprint: expected 64 lowercase hex"),
        (("signing_key", "fingerprint"), "ab:" * 21, "signing_key.fingerprint: expected 64 lowercase hex"),
        (("signing_key", "fingerprint"), "0" * 64, "signing_key.fingerprint: does not match the key"),
        (("hpke_key", "short"), "0" * 16, "hpke_key.short: expected"),
        (("url",), "ftp://kor.example/", "url: the scheme must be http or https"),
        (("url",), "javascript:alert(1)", "url: the scheme must be http or https"),
        (("url",), "file:///etc/passwd", "url: the scheme must be http or https"),
        (("url",), "https://user:pw@kor.example/", "url: must not carry a user name or password"),
        (("url",), "https://kor.example/#frag", "url: .* has a fragment"),
        (("url",), "https:///path", "url: .* names no host"),
        (("url",), "https://kor.example:99999/", "url: .* does not parse"),
        (("url",), "https://kor.example/a b", "url: .* spaces, control or non-ASCII"),
        (("url",), "https://kor.example/\n", "url: .* spaces, control or non-ASCII"),
        (("url",), "https://kor.example/" + "a" * 3000, "url: 3020 characters long"),
        (("url",), ["https://kor.example/"], "url: expected a string or null, found an array"),
    ],
)
def test_a_malformed_card_is_refused_naming_the_field(card, path, value, message):
    obj = _edit(card_to_json(card), path, value)
    with pytest.raises(CardError, match=message):
        card_from_json(obj)


def test_a_low_order_hpke_key_is_refused(card):
    """An all-zero X25519 key would make every shared secret zero: refused, naming hpke_key."""
    obj = card_to_json(card)
    obj["hpke_key"] = {"alg": "X25519", "key": ZERO_KEY, "fingerprint": fingerprint(bytes(32))}
    obj["hpke_key"]["short"] = short_fingerprint(bytes(32))
    with pytest.raises(CardError, match="hpke_key: a low-order X25519 point"):
        card_from_json(obj)
    with pytest.raises(CardError, match="hpke_key: a low-order"):
        card_to_json(Card("KOR", card.signing_key, bytes(32)))


@pytest.mark.parametrize("obj", [None, [], "card", 3, True])
def test_a_card_that_is_not_an_object_is_refused(obj):
    with pytest.raises(CardError, match="a card is a JSON object"):
        card_from_json(obj)


def test_card_to_json_refuses_a_bad_card(card):
    with pytest.raises(CardError, match="signing_key: a raw public key is 32 bytes, not 3"):
        card_to_json(Card("KOR", b"abc", card.hpke_key))
    with pytest.raises(CardError, match="hpke_key: the key must be bytes"):
        card_to_json(Card("KOR", card.signing_key, "k" * 32))  # type: ignore[arg-type]
    with pytest.raises(CardError, match="url: the scheme"):
        card_to_json(Card("KOR", card.signing_key, card.hpke_key, "gopher://x"))
