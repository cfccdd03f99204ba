"""The small node the verify tests edit: one item with its body, one release, one refusal."""

from __future__ import annotations

from pathlib import Path

from gsomia.bootstrap import Services
from gsomia.crypto import NodeKeys
from tests.contract.test_tamper_evidence import EXAMPLES, services_on


def small_node(url: str, tmp_path: Path) -> Services:
    """A KOR node of the examples world with one item and its body, one release and one refusal."""
    services = services_on(url, NodeKeys.generate(), tmp_path)
    services.import_world(EXAMPLES)
    services.items.add_item("K-B1", "KOR", "KR-II", ["dprk-missile"], body=b"body one")
    services.releases.release("K-B1", "JPN", "2019-10-01")
    services.releases.release("K-NF-1", "USA", "2019-10-01")  # refused: NOFORN
    return services
