"""The TAXII benchmark's own machinery: its in-memory source, its client walk and its JSON report.

The gsomia side runs for real (uvicorn in a child process, over 127.0.0.1) on a tiny collection; nothing
here asserts a speed. medallion is pointed at a path that does not exist, so the report must say it was
not measured and carry no ratios.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from benchmarks import taxii_bench as tb

from gsomia.web.taxii import Cursor, PageQuery, TaxiiInputError


def _all_pages(source: tb.MemoryTaxiiSource, party: str, limit: int) -> list[list[str]]:
    """Every page ``party`` gets, following each page's position as the router's ``next`` would."""
    pages, after = [], None
    while True:
        page = source.page(tb.COLLECTION, party, PageQuery(after=after, limit=limit))
        pages.append([e.id for e in page.entries])
        if not page.more:
            return pages
        assert page.position is not None
        assert after is None or after < page.position
        after = page.position


def test_memory_source_serves_each_object_once_in_pages() -> None:
    source = tb.memory_source(250)
    pages = _all_pages(source, tb.PARTY, 100)
    assert [len(p) for p in pages] == [100, 100, 50]
    served = [i for p in pages for i in p]
    assert served == [obj["id"] for obj in tb.stix_objects(250)]


def test_memory_source_withholds_by_label_and_still_moves_on() -> None:
    """A label not released to the reader keeps its objects out of every page, scan cap or not."""
    hidden = tb.LABELS[1]
    releasable = {label: frozenset({tb.PARTY}) for label in tb.LABELS if label != hidden}
    source = tb.MemoryTaxiiSource(releasable={**releasable, hidden: frozenset({"KOR"})}, scan_factor=1)
    objects = tb.stix_objects(120)
    for n, obj in enumerate(objects):
        source.add(obj, tb.date_added(n))
    served = [i for p in _all_pages(source, tb.PARTY, 10) for i in p]
    expected = [o["id"] for o in objects if o["object_marking_refs"][0] != hidden]
    assert served == expected
    assert len(expected) == 90


def test_memory_source_pages_start_after_the_cursor_and_added_after() -> None:
    source = tb.memory_source(30)
    tenth = tb.date_added(9)
    after = source.page(tb.COLLECTION, tb.PARTY, PageQuery(after=Cursor(tenth, 10), limit=5))
    assert [e.seq for e in after.entries] == [11, 12, 13, 14, 15]
    assert after.more
    newer = source.page(tb.COLLECTION, tb.PARTY, PageQuery(added_after=tenth, limit=100))
    assert [e.seq for e in newer.entries] == list(range(11, 31))
    assert not newer.more


def test_memory_source_refuses_unlabelled_objects_on_push() -> None:
    source = tb.memory_source(3)
    good, bare = tb.stix_objects(2, first=50, seed=9)
    del bare["object_marking_refs"]
    status = source.accept(tb.COLLECTION, tb.PARTY, {"objects": [good, bare]})
    assert [d.id for d in status.successes] == [good["id"]]
    assert [d.id for d in status.failures] == [bare["id"]]
    assert "label" in status.failures[0].message
    assert len(source) == 4
    assert source.status(status.id, "KOR") is None


def test_memory_source_refuses_rows_out_of_order() -> None:
    source = tb.memory_source(2)
    with pytest.raises(TaxiiInputError, match="order"):
        source.add(tb.stix_objects(1, first=7, seed=3)[0], tb.date_added(0) - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-colon", "module:function"),
        ("benchmarks.nope_module:make", "cannot import"),
        ("benchmarks.taxii_bench:no_such_factory", "no function"),
        ("benchmarks.taxii_bench:1bad", "module:function"),
    ],
)
def test_a_bad_source_is_a_clear_error(spec: str, message: str) -> None:
    with pytest.raises(tb.TaxiiBenchError, match=message):
        tb.load_factory(spec)


def test_the_walk_reads_every_object_exactly_once_over_http(tmp_path: Path) -> None:
    with tb.gsomia_server(tb.DEFAULT_SOURCE, 300, tmp_path) as server, tb.client(60) as http:
        seen = tb.walk(http, server.objects_url, 100)
        pushed = tb.push(http, server.objects_url, tb.envelopes(150, 50, seed=4))
        again = tb.walk(http, server.objects_url, 100)
    assert seen.complete
    assert [n for _, n in seen.steps] == [100, 100, 100]
    assert seen.ids == Counter(obj["id"] for obj in tb.stix_objects(300))
    assert pushed.complete
    assert [n for _, n in pushed.steps] == [50, 50, 50]
    assert sum(again.ids.values()) == len(again.ids) == 450


def test_run_reports_gsomia_alone_in_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(tb.MEDALLION_ENV, str(tmp_path / "no-python-here"))
    plan = tb.Plan(sizes=(300,), ingest_sizes=(0, 300), limit=100, envelope=50, ingest_objects=200)
    returned = tb.run(plan, as_json=True)
    printed = json.loads(capsys.readouterr().out)["taxii"]
    assert printed == json.loads(json.dumps(returned))
    gsomia, medallion = printed["servers"]["gsomia"], printed["servers"]["medallion"]
    assert medallion["measured"] is False
    assert "no-python-here" in medallion["why"]
    assert printed["ratios"] == []
    assert printed["limit"] == 100
    assert printed["envelope"] == 50
    assert gsomia["source"] == tb.DEFAULT_SOURCE
    assert "in-memory" in gsomia["source_kind"]
    (read,) = gsomia["reads"]
    assert (read["stored"], read["read"], read["distinct"], read["duplicates"], read["pages"]) == (
        300,
        300,
        300,
        0,
        3,
    )
    assert read["complete"]
    assert read["stopped"] is None
    assert read["objects_per_s"] > 0
    assert [(i["stored"], i["objects"], i["envelopes"], i["complete"]) for i in gsomia["ingest"]] == [
        (0, 200, 4, True),
        (300, 200, 4, True),
    ]
    met = {t["target"].split(" ")[0]: t["met"] for t in printed["targets"]}
    assert met == {"gsomia": None, ">=": None}  # 1,000,000 not read, medallion not measured


def test_ratios_divide_the_same_pages_and_bound_a_silent_server() -> None:
    plan = tb.Plan(limit=10, medallion_timeout_s=100.0)
    ours = {("reads", 50): tb.Timed(steps=[(0.001, 10), (0.002, 10), (0.001, 10)])}
    theirs = {("reads", 50): tb.Timed(steps=[(1.0, 10), (0.5, 10)])}
    felt, best = tb.ratios(ours, theirs, plan)
    assert (felt["gsomia_objects_per_s"], felt["medallion_objects_per_s"]) == (6667, 13.3)
    assert felt["ratio"] == round(20 / 0.003 / (20 / 1.5), 1)
    assert felt["compared"] == "the same 2 pages"
    assert (best["gsomia_objects_per_s"], best["medallion_objects_per_s"], best["ratio"]) == (10000, 20, 500)
    silent = {("reads", 50): tb.Timed(stopped="page 1 not served within 100 s")}
    (bound,) = tb.ratios(ours, silent, plan)
    assert bound["figure"] == "first page, at least"
    assert bound["medallion_objects_per_s"] == 0.1
    assert bound["ratio"] == 100_000


def test_medallion_data_file_holds_the_same_objects_with_a_manifest() -> None:
    objects = tb.stix_objects(5)
    data = tb.medallion_data(objects, 8080)
    (collection,) = data[tb.MEDALLION_ROOT]["collections"]
    assert collection["objects"] == objects
    assert collection["id"] == tb.COLLECTION
    assert [m["id"] for m in collection["manifest"]] == [o["id"] for o in objects]
    added = [m["date_added"] for m in collection["manifest"]]
    assert added == sorted(added)
    assert len(set(added)) == 5


def test_the_node_source_has_every_bundle_built_before_the_walk() -> None:
    """The walk measures serving: every release's bundle is made and kept before the first page."""
    from benchmarks.taxii_node_source import node_source, releases_for

    from gsomia.store.shipments import shipment_store_for

    source = node_source(30)
    try:
        kept = shipment_store_for(source.services.store).page("JPN", 0, 100)
        assert [r.release_seq for r in kept] == list(range(1, releases_for(30) + 1))
    finally:
        source.services.close()
