"""The ids of the TAXII collections a node serves: one per partner, the releases addressed to it."""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("5d0c7e0e-3b5a-4f0e-9a59-6f1f2c2b7a10")


def collection_id(party: str) -> str:
    """The id of the collection of releases addressed to ``party`` (the same on every node and serve)."""
    return str(uuid.uuid5(NAMESPACE, f"releases-to:{party}"))
