"""`make bench QUICK=1`, run once by the suite: every benchmark still runs and reports against its goal.

Nothing here asserts a time or a ratio: on a shared machine those are printed, not tested.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres

# Each goal of issue 14, by the number the issue gives it; a goal with no pipeline to measure
# yet would be named here (every one is measured now).
BENCHMARK_NUMBERS = {"1", "2", "3", "4", "5", "6"}
NOT_IMPLEMENTED: set[str] = set()


def test_quick_bench_runs_every_benchmark_and_writes_the_table_and_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    document = json.loads(out.read_text())
    assert document["quick"] is True
    rows = document["rows"]
    assert {row["benchmark"].split()[0] for row in rows} == BENCHMARK_NUMBERS
    for row in rows:
        assert row["goal"]["bound"] in ("<=", ">=")
        if row["benchmark"] in NOT_IMPLEMENTED:
            assert row["rounds"] == [] and row["met"] is None and "not implemented" in row["note"]
            continue
        assert row["rounds"], row
        assert row["low"] <= row["median"] <= row["high"]
        assert row["met"] == (
            row["median"] <= row["goal"]["value"]
            if row["goal"]["bound"] == "<="
            else row["median"] >= row["goal"]["value"]
        )
    # The printed table has a line per row, each naming its benchmark and measure.
    lines = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert len(lines) == len(rows) + 2
    for row in rows:
        assert any(row["benchmark"] in line and row["measure"] in line for line in lines)
