"""``examples/monitoring.py`` prints the same figures on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = """\
result: 20.0
result: 26.85
result: 0.0
result: 37.35
Throughput: float (items/s)
Processing time: average, min, max, p50, p95, p99, count
keys: dead_lettered, dropped, error_rate, errors, items_in, items_out, items_processed, late, \
name, output, processing_time, retries, runs, skipped, stages, throughput, total_time
items_processed=5 errors=1 skipped=1 error_rate=0.20 runs=1
stage Celsius: items_in=5 items_out=4 errors=1 skipped=1 capacity=1000 timed items=5
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_monitoring_example(backend: str) -> None:
    """The guide's Monitoring block, as a script, reports exact counts."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "monitoring.py"), backend],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == EXPECTED
