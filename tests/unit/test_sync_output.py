"""What `gsomia sync` draws: every bundle taken, or past a page's worth of them the quarantined first,
under a count of each status (`gsomia inbox` and --json give every one)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from gsomia.cli import sync


def _row(n: int, status: str = "accepted") -> dict[str, Any]:
    return {
        "item": f"K-{n}",
        "sender": "KOR",
        "route": ["KOR", "JPN"],
        "originator": "KOR",
        "level": "KR-II",
        "marking": "JP-GOKUHI",
        "status": status,
        "reason": "agreement-in-force: ended" if status == "quarantined" else "",
    }


def _drawn(rows: list[dict[str, Any]]) -> str:
    console = Console(record=True, width=200)
    console.print(sync._pulled(rows))
    return console.export_text()


def test_a_small_sync_draws_every_bundle_taken():
    text = _drawn([_row(n) for n in range(sync.SHOWN)])
    assert all(f"K-{n} " in text for n in range(sync.SHOWN))
    assert "shown above" not in text


def test_a_large_sync_draws_the_quarantined_first_then_others_under_a_count():
    rows = [_row(n) for n in range(sync.SHOWN + 100)]
    rows[-1] = _row(10_000, "quarantined")  # taken last
    text = _drawn(rows)
    items = [line.split()[1] for line in text.splitlines() if line.startswith("│ K-")]
    assert len(items) == sync.SHOWN
    assert items[-1] == "K-10000"  # the quarantined one is drawn, where it was taken
    assert items == [r["item"] for r in rows if r["item"] in set(items)]  # in the order taken
    assert f"{sync.SHOWN + 100:,} new: {sync.SHOWN + 99:,} accepted, 1 quarantined." in text
    assert "gsomia inbox lists every one" in text
