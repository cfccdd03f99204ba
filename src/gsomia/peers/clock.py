"""The time stamps a node puts on what it tells partners: now, in UTC, to the millisecond (as STIX)."""

from __future__ import annotations

from datetime import UTC, datetime

from gsomia.exchange.bundle import stix_time


def stix_now() -> str:
    """Now, in UTC to the millisecond, as STIX timestamps are written."""
    return stix_time(datetime.now(UTC))
