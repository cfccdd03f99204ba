"""The partner registry: which nodes this node exchanges with, how it knows them, how they authenticate.

A partner is registered from its card (:mod:`gsomia.exchange.cards`), exchanged out of band and compared
by fingerprint. Each registration or change is a ``partner`` world record, with its leaf, so the registry
is covered by the signed log like the agreements are: a partner slipped into the database is refused.

Two secrets per partner, neither ever stored in the clear:

- the token the partner presents to pull from us: issued once (shown once), kept as its SHA-256 (a token
  is 32 random bytes, so a fast hash is enough) and compared in constant time;
- the token we present to pull from the partner (``--token``): kept sealed under the node's key-wrapping
  key, with associated data naming the partner.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gsomia.domain.errors import GsomiaError
from gsomia.exchange.cards import Card, card_from_json, card_to_json, fingerprint, short_fingerprint
from gsomia.exchange.errors import CardError
from gsomia.services import journal
from gsomia.services.ports import KeyRing, SealedBody, Store, UnitOfWork

PULL_TOKEN_AAD = b"gsomia/pull-token/v1|"
MAX_TOKEN = 512


class PartnerError(GsomiaError):
    """A partner command that cannot be done as asked (the message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class Partner:
    """A registered partner, as its latest record states it."""

    party: str
    card: Card
    url: str | None  # where we pull from it (its TAXII server), if set
    token_sha256: str  # the digest of the token it presents to us
    pull_token: SealedBody | None  # the token we present to it, sealed
    seq: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "url": self.url,
            "fingerprints": fingerprints(self.card),
            "pulls_from_it": self.pull_token is not None and self.url is not None,
            "record": self.seq,
        }


@dataclass(frozen=True, slots=True)
class Added:
    """What ``partner add`` did: the partner, and the token it must present to us (first time or
    ``--new-token`` only; otherwise None)."""

    partner: Partner
    token: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "party": self.partner.party,
            "fingerprints": fingerprints(self.partner.card),
            "token": self.token,
        }


def fingerprints(card: Card) -> dict[str, str]:
    return {
        "signing_key": fingerprint(card.signing_key),
        "signing_key_short": short_fingerprint(card.signing_key),
        "hpke_key": fingerprint(card.hpke_key),
        "hpke_key_short": short_fingerprint(card.hpke_key),
    }


class Partners:
    """The node's partners, over its store (every change logged) and key ring."""

    def __init__(self, store: Store, keys: KeyRing, party: str) -> None:
        self._store = store
        self._keys = keys
        self._party = party

    def own_card(self, url: str | None = None) -> dict[str, Any]:
        """This node's card: its party, public keys and their fingerprints, and ``url`` if given."""
        if not self._party:
            raise PartnerError("this node names no party; set party in gsomia.toml (gsomia init --party P)")
        try:
            return card_to_json(Card(self._party, self._keys.signing_public, self._keys.hpke_public, url))
        except CardError as exc:
            raise PartnerError(f"cannot make this node's card: {exc}") from None

    def add(
        self,
        card: Mapping[str, Any],
        *,
        url: str | None = None,
        token: str | None = None,
        new_token: bool = False,
    ) -> Added:
        """Register the partner ``card`` names, or update it: ``url``/``token`` say where and how we pull
        from it. A new partner (or ``new_token``) is issued a token to pull from us."""
        parsed = card_from_json(card)
        if parsed.party == self._party:
            raise PartnerError(f"the card is this node's own ({parsed.party}); add a partner's card")
        if token is not None and not 0 < len(token) <= MAX_TOKEN:
            raise PartnerError(f"--token must be 1 to {MAX_TOKEN} characters")
        with self._store.begin() as uow:
            known = _latest(uow).get(parsed.party)
            if known is not None and (known.card.signing_key, known.card.hpke_key) != (
                parsed.signing_key,
                parsed.hpke_key,
            ):
                raise PartnerError(
                    f"{parsed.party}'s card has other keys than the one registered (signing key "
                    f"{short_fingerprint(known.card.signing_key)}); compare fingerprints with {parsed.party} "
                    "out of band before replacing a partner's keys"
                )
            issued = None
            digest = known.token_sha256 if known is not None else ""
            if known is None or new_token:
                issued = secrets.token_urlsafe(32)
                digest = _digest(issued)
            sealed = known.pull_token if known is not None else None
            if token is not None:
                sealed = self._keys.seal(token.encode(), PULL_TOKEN_AAD + parsed.party.encode())
            data = {
                "party": parsed.party,
                "card": card_to_json(parsed),
                "url": url if url is not None else (known.url if known else parsed.url),
                "token_sha256": digest,
                "pull_token": None if sealed is None else _sealed_json(sealed),
            }
            record, _leaf = journal.add_record(uow, "partner", parsed.party, data)
            return Added(_partner(record.seq, data), issued)

    def partners(self) -> list[Partner]:
        with self._store.read() as uow:
            return sorted(_latest(uow).values(), key=lambda p: p.party)

    def get(self, party: str) -> Partner | None:
        with self._store.read() as uow:
            return _latest(uow).get(party)

    def authenticate(self, party: str | None, token: str) -> str | None:
        """The partner presenting ``token`` (as ``party``, if named), or None: constant-time comparison."""
        if not token or len(token) > MAX_TOKEN:
            return None
        digest = _digest(token)
        found = None
        for partner in self.partners():
            if hmac.compare_digest(partner.token_sha256, digest) and (
                party is None or party == partner.party
            ):
                found = partner.party
        return found

    def pull_token(self, partner: Partner) -> str | None:
        """The token we present to ``partner`` (unsealed in memory only)."""
        if partner.pull_token is None:
            return None
        aad = PULL_TOKEN_AAD + partner.party.encode()
        return self._keys.open(partner.pull_token, aad).decode()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _latest(uow: UnitOfWork) -> dict[str, Partner]:
    """Each partner as its newest (verified) record states it."""
    out: dict[str, Partner] = {}
    for record in uow.world_records():
        if record.kind == "partner":
            out[record.key] = _partner(record.seq, record.data)
    return out


def _partner(seq: int, data: Mapping[str, Any]) -> Partner:
    sealed = data.get("pull_token")
    return Partner(
        str(data["party"]),
        card_from_json(data["card"]),
        data.get("url"),
        str(data["token_sha256"]),
        None if sealed is None else _sealed_from(sealed),
        seq,
    )


def _sealed_json(sealed: SealedBody) -> dict[str, str]:
    return {
        k: base64.b64encode(v).decode()
        for k, v in (
            ("wrapped_key", sealed.wrapped_key),
            ("nonce", sealed.nonce),
            ("ciphertext", sealed.ciphertext),
        )
    }


def _sealed_from(data: Mapping[str, str]) -> SealedBody:
    return SealedBody(*(base64.b64decode(data[k]) for k in ("wrapped_key", "nonce", "ciphertext")))
