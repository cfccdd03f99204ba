"""What travels between nodes: partner cards, HPKE-sealed bodies and signed STIX 2.1 release bundles.

- :mod:`.cards`: a partner's card (party, Ed25519 signing key, X25519 HPKE key, URL) and its JSON form;
- :mod:`.hpke`: RFC 9180 HPKE, base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM;
- :mod:`.bundle`: a release as a STIX 2.1 bundle, signed by the sender and sealed for the recipient.

Pure functions of their inputs plus fresh randomness for sealing: no database, network, file or clock.
``docs/exchange-format.md`` specifies the formats.
"""

from __future__ import annotations

from .bundle import ItemMeta, Opened, Shipment, build_bundle, bundle_from_json, bundle_to_json, open_bundle
from .cards import Card, card_from_json, card_to_json, fingerprint, short_fingerprint
from .errors import BundleError, CardError, ExchangeError, HpkeError

__all__ = [
    "BundleError",
    "Card",
    "CardError",
    "ExchangeError",
    "HpkeError",
    "ItemMeta",
    "Opened",
    "Shipment",
    "build_bundle",
    "bundle_from_json",
    "bundle_to_json",
    "card_from_json",
    "card_to_json",
    "fingerprint",
    "open_bundle",
    "short_fingerprint",
]
