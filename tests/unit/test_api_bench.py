"""The REST API benchmark run tiny: its JSON's shape, every request answered 200, ratios from their inputs.

No timing is asserted: the figures depend on the machine. What must hold anywhere: every request counted
was answered 200 with a decision, each ratio is the quotient of the two figures printed beside it, and bad
options are refused with a message.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest
from benchmarks import api_bench
from benchmarks.api_bench import ApiBenchError, Plan

TINY = Plan(requests=200, clients=5, workers=(1,), stores=("sqlite",), items=200, batch=300)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """One tiny run on SQLite with one worker, as ``--json`` prints it (progress goes to stderr)."""
    printed = io.StringIO()
    with redirect_stdout(printed):
        returned = api_bench.run(TINY, as_json=True)
    found: dict[str, Any] = json.loads(printed.getvalue())["api"]
    assert found == json.loads(json.dumps(returned))
    return found


def test_every_single_request_and_every_batch_call_was_answered_200(report: dict[str, Any]) -> None:
    figures = report["stores"]["sqlite"]["workers"]["1"]
    single, batch = figures["single"], figures["batch"]
    assert single["statuses"] == {"200": TINY.requests}
    assert single["requests"] == TINY.requests
    assert single["clients"] == TINY.clients
    assert batch["statuses"] == {"200": 1}
    assert batch["decisions"] == batch["queries"] == TINY.batch
    assert batch["one_call_status"] == 200  # 300 queries fit one call (at most 1000)


def test_the_report_has_every_figure_the_readme_names(report: dict[str, Any]) -> None:
    assert report["plan"]["workers"] == [1]
    out = report["stores"]["sqlite"]
    single = out["workers"]["1"]["single"]
    for key in ("per_s", "p50_ms", "p99_ms", "fastest_ms", "wall_s", "client_cpu_s"):
        assert isinstance(single[key], float | int)
    assert single["fastest_ms"] <= single["p50_ms"] <= single["p99_ms"]
    local = out["in_process"]
    assert local["decide_to_dict"]["decisions"] == TINY.requests
    assert local["batch_route"]["queries"] == TINY.batch
    assert local["batch_route"]["bytes"] > TINY.batch * 100  # each decision carries its reasons
    assert set(local["per_request_parts"]) == {"token_check_ms", "rate_count_ms", "read_and_decide_ms"}
    assert [t["store"] for t in report["targets"]] == ["sqlite", "sqlite"]
    assert all(isinstance(t["met"], bool) for t in report["targets"])


def test_each_ratio_is_the_quotient_of_the_two_figures_beside_it(report: dict[str, Any]) -> None:
    ratios = report["stores"]["sqlite"]["ratios"]
    assert {"in_process_over_http", "p99_over_p50", "batch_client_over_server"} <= set(ratios)
    for ratio in ratios.values():
        num, den = ratio["num"]["value"], ratio["den"]["value"]
        assert ratio["num"]["what"]
        assert ratio["den"]["what"]
        assert ratio["value"] == round(num / den, 2)
    http = report["stores"]["sqlite"]["workers"]["1"]["single"]["per_s"]
    assert ratios["in_process_over_http"]["den"]["value"] == http


def test_the_korea_japan_queries_name_items_of_the_world_and_never_send_to_the_holder() -> None:
    spec, queries = api_bench.korea_japan(50, 400, seed=3)
    ids = {i.id for i in spec.items}
    parties = {p.id for p in spec.parties}
    assert len(spec.items) == 50 + 8
    assert len(ids) == len(spec.items)
    assert len(queries) == 400
    for item, to, at, holder in queries:
        assert item in ids
        assert {to, holder} <= parties
        assert to != holder
        assert len(at) == 10
    assert api_bench.korea_japan(50, 400, seed=3)[1] == queries  # seeded: the same run twice


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--stores", "mysql"], "mysql"),
        (["--workers", "0"], "--workers"),
        (["--workers", "x"], "invalid literal"),
    ],
)
def test_bad_options_are_refused_with_a_message(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        api_bench.main(argv)
    assert exited.value.code == 2
    assert words in capsys.readouterr().err


def test_an_unknown_world_is_an_error_naming_the_choices() -> None:
    with pytest.raises(ApiBenchError, match="korea-japan or generated"):
        api_bench.run(Plan(world="nope"))
