"""The monitoring examples print exactly what the docs say, on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "monitoring.py": """\
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
""",
    "exporters/prometheus_endpoint.py": """\
rivusio_items_processed_total{pipeline="readings"} 3.0
rivusio_stage_items_in_total{pipeline="readings",stage="Parse"} 3.0
rivusio_stage_items_out_total{pipeline="readings",stage="Parse"} 2.0
rivusio_stage_skipped_total{pipeline="readings",stage="Parse"} 1.0
shop_items_processed_total{pipeline="readings"} 3.0
""",
    "exporters/opentelemetry_reader.py": """\
rivusio.stage.items_in {item} Parse 3
rivusio.stage.items_out {item} Parse 2
""",
    "exporters/log_stages.py": """\
WARNING [parse] stage 'parse': skipped item {'amount': 'bad'} after ValueError: could not \
convert string to float: 'bad'
2.5
4.0
""",
}


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_monitoring_examples(script: str, backend: str) -> None:
    """Each monitoring example runs as a script and prints its exact output."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), backend],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == EXPECTED[script]
