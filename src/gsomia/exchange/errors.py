"""The errors the exchange between nodes raises.

::

    GsomiaError                  (gsomia.domain.errors)
     └── ExchangeError           something that travels between nodes is not usable
          ├── HpkeError          a sealed body does not seal or open: wrong key, altered bytes, bad sizes
          ├── CardError          a partner card is malformed (the message names the field)
          └── BundleError        a release bundle cannot be built, or is refused on receipt

A ``BundleError`` raised while opening a bundle says why in one line, fit for a quarantine record: which
object or field, what was expected, what was found. Nothing an attacker sends ends in another exception.
"""

from __future__ import annotations

from gsomia.domain.errors import GsomiaError


class ExchangeError(GsomiaError):
    """Base of every error of :mod:`gsomia.exchange`."""


class HpkeError(ExchangeError):
    """HPKE sealing or opening failed: a key of the wrong size or kind, the wrong key, or altered bytes."""


class CardError(ExchangeError):
    """A partner card is malformed; the message starts with the field at fault (``hpke_key.key: ...``)."""


class BundleError(ExchangeError):
    """A release bundle cannot be built from what was given, or is refused on receipt (saying why)."""
