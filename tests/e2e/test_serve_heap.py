"""``gsomia serve`` takes what its start-up built out of the cyclic collector's passes (one collection,
then a freeze) before it serves or builds anything, and before the node's world is read."""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gsomia.web.node_source import NodeTaxiiSource
from tests.e2e.conftest import Invoke


def test_serve_freezes_its_start_up_heap_before_serving_and_building(
    gsomia: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    node = tmp_path / "kor"
    assert gsomia("init", node, "--party", "KOR").exit_code == 0
    seen: dict[str, Any] = {}
    built = threading.Event()  # the builder runs in a thread of its own

    def run(app: Any, **options: Any) -> None:  # instead of serving
        seen["serving"] = gc.get_freeze_count()

    def prepare_forever(self: NodeTaxiiSource, *args: Any, **kwargs: Any) -> None:
        seen["building"] = gc.get_freeze_count()
        seen["world read"] = self.services.worldbook._cache is not None  # type: ignore[attr-defined]
        built.set()

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr(NodeTaxiiSource, "prepare_forever", prepare_forever)
    gc.unfreeze()  # whatever an earlier test in this process froze
    assert gc.get_freeze_count() == 0
    try:
        result = gsomia("serve", "--node", node)
        assert built.wait(10), result.output  # the builder looked while the heap was still frozen
    finally:
        gc.unfreeze()
    assert result.exit_code == 0, result.output
    assert seen["serving"] > 100_000
    assert seen["building"] > 100_000
    assert seen["world read"] is False
