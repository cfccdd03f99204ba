"""End to end between two nodes: release at KOR, then stored and receipted at JPN (SQLite, one host).

``python -m benchmarks.exchange_bench [N]`` makes a KOR and a JPN node of the shipped Korea-Japan world,
registers them as partners and starts ``gsomia serve`` for KOR. Then, three times:

1. KOR adds N DPRK-missile items (1 KiB bodies) and releases each to JPN through its Python API: in the
   first two rounds each add and each release is a durable transaction of its own; in the third the N
   items go in one transaction (``Items.add_items``, what ``gsomia item add-many`` does) and the N
   releases in another (``Releases.release_many``, ``gsomia release-many``);
2. JPN pulls them (TAXII 2.1 with taxii2-client; KOR's server builds bundles in the background),
   opens and checks every bundle, stores it and sends the receipts back: in the first round as the
   command a user runs (``gsomia sync``, a new process: start-up and imports included, the STIX
   validator's and ``stix2``'s among them, about 0.35 s), then through the services of a JPN process
   already running (what a node syncing on a schedule pays).

For each it prints the time spent adding, releasing and syncing, and two end-to-end rates: with the adds
(``e2e``: add, release, sync, one after the other) and from the release on (``rel+sync``: the items were
on KOR's node already, as a ministry's items are before it releases them); every rate is the quotient of
two printed figures. ``--json`` prints them as one object.

Beside the seconds, the CPU each side spent in the round (KOR's adds and releases, KOR's server, JPN's
sync: this process's CPU time, the server's from ``/proc``, a ``gsomia sync`` child's from its rusage),
per item, and what that CPU allows at most on this host's cores: ``cores / (CPU seconds per item)``
items/s, however well the two nodes overlapped. The end-to-end rate cannot beat that bound on one host.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gsomia.bootstrap import Services, build
from gsomia.config import Settings
from gsomia.exchange import stixcheck
from gsomia.services.items import NewItem

WORLD = Path(__file__).parents[1] / "src" / "gsomia" / "scenarios" / "korea-japan-2019.yaml"
BODY = b"x" * 1024
TOPICS = ("dprk-missile",)


def _exe() -> str:
    return shutil.which("gsomia") or str(Path(sys.executable).with_name("gsomia"))


def _gsomia(*args: str) -> str:
    done = subprocess.run([_exe(), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"gsomia {' '.join(args)}: {done.stderr.strip()[:300]}")
    return done.stdout


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _release(kor: Services, first: int, items: int, *, many: bool = False) -> tuple[float, float]:
    """Add ``items`` items and release each to JPN; the seconds spent adding and releasing. One
    transaction per item and per release, or (``many``) the items in one transaction (``Items.add_items``,
    ``gsomia item add-many``) and the releases in one (``Releases.release_many``, ``gsomia release-many``),
    each of at most 10,000."""
    numbers = range(first, first + items)
    began = time.perf_counter()
    if many:
        for start in range(first, first + items, 10_000):
            batch = range(start, min(start + 10_000, first + items))
            kor.items.add_items(NewItem(f"K-B-{n}", "KOR", "KR-II", TOPICS, body=BODY) for n in batch)
        added = time.perf_counter()
        wanted = [(f"K-B-{n}", "JPN", "2019-10-01", None) for n in numbers]
        for start in range(0, len(wanted), 10_000):
            kor.releases.release_many(wanted[start : start + 10_000])
        return added - began, time.perf_counter() - added
    adding = 0.0
    for n in numbers:
        before = time.perf_counter()
        kor.items.add_item(f"K-B-{n}", "KOR", "KR-II", ["dprk-missile"], body=BODY)
        adding += time.perf_counter() - before
        kor.releases.release(f"K-B-{n}", "JPN", "2019-10-01")
    return adding, time.perf_counter() - began - adding


def _server_cpu(pid: int) -> float | None:
    """CPU seconds (user and system) process ``pid`` has used, read from ``/proc`` (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _cpu(kor_api_s: float, server_s: float | None, jpn_s: float, items: int) -> dict[str, Any]:
    """The CPU the round used, per side and per item, and the most items/s it allows on this host."""
    cores = os.cpu_count() or 1
    if server_s is None:
        return {"cpu_kor_api_s": round(kor_api_s, 3), "cpu_jpn_s": round(jpn_s, 3), "cores": cores}
    total = kor_api_s + server_s + jpn_s
    return {
        "cpu_kor_api_s": round(kor_api_s, 3),
        "cpu_kor_server_s": round(server_s, 3),
        "cpu_jpn_s": round(jpn_s, 3),
        "cpu_ms_per_item": round(1000 * total / items, 3),
        "cores": cores,
        "cpu_bound_items_per_s": round(cores * items / total, 1),
    }


def _stage(
    how: str, items: int, timed: tuple[float, float], synced_s: float, accepted: int
) -> dict[str, Any]:
    added_s, released_s = timed
    whole = added_s + released_s + synced_s
    return {
        "sync": how,
        "items": items,
        "accepted": accepted,
        "kor_add_s": round(added_s, 3),
        "kor_release_s": round(released_s, 3),
        "kor_add_and_release_s": round(added_s + released_s, 3),
        "kor_release_items_per_s": round(items / (added_s + released_s), 1),
        "jpn_sync_s": round(synced_s, 3),
        "sync_items_per_s": round(accepted / synced_s, 1),
        "end_to_end_s": round(whole, 3),
        "end_to_end_items_per_s": round(accepted / whole, 1),
        "release_to_receipt_s": round(released_s + synced_s, 3),
        "release_to_receipt_items_per_s": round(accepted / (released_s + synced_s), 1),
    }


def _wait(url: str) -> None:
    import httpx

    for _ in range(300):
        try:
            httpx.get(url + "/taxii2/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"gsomia serve did not answer at {url}")


def run(items: int = 1000) -> dict[str, Any]:
    from gsomia.web.client import Pages, peer_log, push

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
        added = _gsomia("partner", "add", str(root / "jpn.card"), "--node", str(kor), "--json")
        token = json.loads(added)["token"]
        _gsomia("partner", "add", str(root / "kor.card"), "--node", str(jpn), "--url", url, "--token", token)
        server = subprocess.Popen(
            [_exe(), "serve", "--node", str(kor), "--port", str(port)], stderr=subprocess.DEVNULL
        )
        stages = []
        try:
            _wait(url)
            served = _server_cpu(server.pid)
            mine = time.process_time()
            with build(Settings.load(kor)) as services:
                released = _release(services, 0, items)
            kor_api = time.process_time() - mine
            children = _children_cpu()
            began = time.perf_counter()
            taken = json.loads(_gsomia("sync", "--node", str(jpn), "--json"))
            synced = time.perf_counter() - began
            jpn_cpu = _children_cpu() - children
            after = _server_cpu(server.pid)
            server_cpu = None if served is None or after is None else after - served
            accepted = sum(r["status"] == "accepted" for r in taken)
            stage = _stage("gsomia sync (a new process)", items, released, synced, accepted)
            stages.append({**stage, **_cpu(kor_api, server_cpu, jpn_cpu, items)})
            stixcheck.warm()  # a running node imported the STIX validator at its first sync
            rounds = (("Sync.run (a running JPN process)", False), ("add-many, release-many, Sync.run", True))
            for number, (how, many) in enumerate(rounds, start=1):
                served = _server_cpu(server.pid)
                mine = time.process_time()
                with build(Settings.load(kor)) as services:
                    released = _release(services, number * items, items, many=many)
                kor_api = time.process_time() - mine
                with build(Settings.load(jpn)) as services:
                    began = time.perf_counter()
                    received = services.sync.run(Pages, None, push, peer_log)
                    synced = time.perf_counter() - began
                jpn_cpu = time.process_time() - mine - kor_api
                after = _server_cpu(server.pid)
                server_cpu = None if served is None or after is None else after - served
                accepted = sum(r.status == "accepted" and r.new for r in received)
                stage = _stage(how, items, released, synced, accepted)
                stages.append({**stage, **_cpu(kor_api, server_cpu, jpn_cpu, items)})
        finally:
            server.terminate()
            server.wait(timeout=30)
        return {"stages": stages}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exchange_bench", description=__doc__)
    parser.add_argument("items", nargs="?", type=int, default=1000, help="items released per stage")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    given = parser.parse_args(argv)
    report = run(given.items)
    if given.json:
        print(json.dumps(report, indent=1))
        return 0
    columns = [
        ("items", "accepted", "d"),
        ("add s", "kor_add_s", ".2f"),
        ("release s", "kor_release_s", ".2f"),
        ("sync s", "jpn_sync_s", ".2f"),
        ("sync/s", "sync_items_per_s", ".0f"),
        ("e2e s", "end_to_end_s", ".2f"),
        ("e2e/s", "end_to_end_items_per_s", ".0f"),
        ("rel+sync s", "release_to_receipt_s", ".2f"),
        ("rel+sync/s", "release_to_receipt_items_per_s", ".0f"),
    ]
    print(f"{'sync':34}" + "".join(f"{title:>11}" for title, _, _ in columns))
    for stage in report["stages"]:
        cells = "".join(f"{stage[key]:>11{form}}" for _, key, form in columns)
        print(f"{stage['sync']:34}{cells}")
    print("\nCPU seconds in each round (KOR's adds and releases + KOR's server + JPN's sync), per item, and")
    print("the most items/s that CPU allows on this host's cores (cores x items / CPU seconds):")
    for stage in report["stages"]:
        if "cpu_ms_per_item" not in stage:
            print(f"{stage['sync']:34} KOR {stage['cpu_kor_api_s']:.2f} s, JPN {stage['cpu_jpn_s']:.2f} s")
            continue
        total = stage["cpu_kor_api_s"] + stage["cpu_kor_server_s"] + stage["cpu_jpn_s"]
        print(
            f"{stage['sync']:34} {stage['cpu_kor_api_s']:.2f} + {stage['cpu_kor_server_s']:.2f} + "
            f"{stage['cpu_jpn_s']:.2f} = {total:.2f} s: {stage['cpu_ms_per_item']:.2f} ms/item; at most "
            f"{stage['cpu_bound_items_per_s']:,.0f} items/s on {stage['cores']} cores "
            f"({stage['cores']} x {stage['items']:,} / {total:.2f} s), measured e2e "
            f"{stage['end_to_end_items_per_s']:,.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
