"""End to end between two nodes: release at KOR, then stored and receipted at JPN (SQLite, one host).

``python -m benchmarks.exchange_bench [N]`` makes two nodes of the shipped Korea-Japan world, registers
them as partners, starts ``gsomia serve`` for KOR, releases N items to JPN through KOR's Python API (each
one durable transaction), then runs one ``gsomia sync`` for JPN (pull over TAXII 2.1 with taxii2-client,
open and check every bundle, store, receipts back). It prints each stage and items/s for the whole path;
every ratio it prints is the quotient of two printed figures.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gsomia.bootstrap import build
from gsomia.config import Settings

WORLD = Path(__file__).parents[1] / "src" / "gsomia" / "scenarios" / "korea-japan-2019.yaml"


def _gsomia(*args: str) -> str:
    exe = shutil.which("gsomia") or str(Path(sys.executable).with_name("gsomia"))
    done = subprocess.run([exe, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"gsomia {' '.join(args)}: {done.stderr.strip()[:300]}")
    return done.stdout


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(items: int = 300) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gsomia-exchange-bench-") as tmp:
        root = Path(tmp)
        kor, jpn = root / "kor", root / "jpn"
        for party, where in (("KOR", kor), ("JPN", jpn)):
            _gsomia("init", str(where), "--party", party)
            _gsomia("import", str(WORLD), "--node", str(where))
        port = _port()
        url = f"http://127.0.0.1:{port}"
        (root / "kor.card").write_text(_gsomia("partner", "card", "--node", str(kor), "--url", url))
        (root / "jpn.card").write_text(_gsomia("partner", "card", "--node", str(jpn)))
        token = json.loads(_gsomia("partner", "add", str(root / "jpn.card"), "--node", str(kor), "--json"))[
            "token"
        ]
        _gsomia("partner", "add", str(root / "kor.card"), "--node", str(jpn), "--url", url, "--token", token)
        with build(Settings.load(kor)) as services:
            t0 = time.perf_counter()
            for n in range(items):
                services.items.add_item(f"K-B-{n}", "KOR", "KR-II", ["dprk-missile"], body=b"x" * 1024)
                services.releases.release(f"K-B-{n}", "JPN", "2019-10-01")
            released_s = time.perf_counter() - t0
        exe = shutil.which("gsomia") or str(Path(sys.executable).with_name("gsomia"))
        server = subprocess.Popen(
            [exe, "serve", "--node", str(kor), "--port", str(port)], stderr=subprocess.DEVNULL
        )
        try:
            time.sleep(3)
            t0 = time.perf_counter()
            taken = json.loads(_gsomia("sync", "--node", str(jpn), "--json"))
            synced_s = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait(timeout=30)
        accepted = sum(r["status"] == "accepted" for r in taken)
        whole = released_s + synced_s
        return {
            "items": items,
            "accepted": accepted,
            "kor_add_and_release_s": round(released_s, 2),
            "jpn_sync_s": round(synced_s, 2),
            "sync_items_per_s": round(accepted / synced_s, 1),
            "end_to_end_s": round(whole, 2),
            "end_to_end_items_per_s": round(accepted / whole, 1),
        }


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 300), indent=1))
