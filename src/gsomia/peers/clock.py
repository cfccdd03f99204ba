"""The time stamps a node puts on what it tells partners: now, in UTC, to the millisecond (as STIX)."""

from __future__ import annotations

from datetime import UTC, datetime


def stix_now() -> str:
    """Now, in UTC to the millisecond, as STIX timestamps are written."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
