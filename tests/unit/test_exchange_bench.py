"""The exchange benchmark's CPU accounting: read from /proc, divided as printed (no speed asserted)."""

from __future__ import annotations

import os
import sys
import time

import pytest
from benchmarks import exchange_bench as eb


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, which only Linux has")
def test_a_process_cpu_is_read_from_proc_and_grows_with_work() -> None:
    before = eb._server_cpu(os.getpid())
    assert before is not None
    assert before >= 0
    spent = time.process_time()
    while time.process_time() - spent < 0.3:  # about 0.3 s of CPU
        sum(range(10_000))
    after = eb._server_cpu(os.getpid())
    assert after is not None
    assert after - before >= 0.2


def test_a_process_that_is_gone_has_no_cpu_reading() -> None:
    assert eb._server_cpu(2**22 + 12345) is None


def test_the_cpu_bound_is_cores_times_items_over_the_cpu_seconds() -> None:
    found = eb._cpu(1.0, 2.0, 1.0, 1000)
    cores = os.cpu_count() or 1
    assert found["cpu_ms_per_item"] == 4.0
    assert found["cpu_bound_items_per_s"] == round(cores * 1000 / 4.0, 1)
    assert "cpu_bound_items_per_s" not in eb._cpu(1.0, None, 1.0, 1000)  # no server figure, no bound
