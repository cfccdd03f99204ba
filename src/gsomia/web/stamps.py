"""TAXII 2.1 timestamps, read and written: what the server and the client (which needs no web framework)
share."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from gsomia.domain.errors import GsomiaError

_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")


class TaxiiInputError(GsomiaError):
    """A TAXII request parameter, token or body that cannot be used; the message says what to send."""


def parse_timestamp(text: str) -> datetime:
    """A TAXII/STIX timestamp (``2024-05-01T12:00:00.123Z``, UTC) as an aware datetime.

    Fractions beyond microseconds are dropped."""
    found = _TIMESTAMP.fullmatch(text)
    if found is None:
        raise TaxiiInputError(f"{text[:40]!r} is not a timestamp; use the form 2024-05-01T12:00:00.000Z")
    year, month, day, hour, minute, second = (int(p) for p in found.groups()[:6])
    micro = int((found.group(7) or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError as error:
        raise TaxiiInputError(f"{text!r} is not a valid timestamp ({error})") from None


def format_timestamp(moment: datetime) -> str:
    """An aware datetime as a TAXII timestamp with microseconds: it parses back to the same instant."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
