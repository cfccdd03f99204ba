"""``gsomia bench`` runs the benchmark harness and prints the JSON shape issue 3 asks for."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_bench_json_has_the_agreed_shape_and_no_disagreement(gsomia, monkeypatch):
    """On a tiny world: world sizes, zero disagreements per anchor, per-engine speeds, impact numbers."""
    pytest.importorskip("cedarpy", reason="the bench extra is not installed: pip install -e '.[bench]'")
    monkeypatch.chdir(ROOT)
    result = gsomia(
        "bench", "--items", "300", "--sample", "60", "--batch", "2000", "--ledger-leaves", "300", "--json"
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["world"]["items"] == 300
    assert report["disagreements"] == {"cedarpy": 0, "pycasbin": 0}
    for key in ("single_per_s", "single_p50_us", "single_p99_us", "batch_per_s"):
        assert report["engines"]["gsomia"][key] > 0
    assert set(report["impact"]) == {"seconds", "pairs", "peak_rss_mb"}
    assert report["impact"]["pairs"] == 300 * 39
    assert report["ledger"]["leaves"] == 300
    assert report["ledger"]["append_per_s"] > 0


def test_bench_outside_a_checkout_says_how_to_run_it(gsomia, monkeypatch, tmp_path):
    """Run where benchmarks/ is not found: exit 2 with a message naming python -m benchmarks."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != ROOT])
    for name in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.")]:
        monkeypatch.delitem(sys.modules, name)
    result = gsomia("bench", "--items", "10")
    assert result.exit_code == 2
    assert "python -m benchmarks" in result.stderr
