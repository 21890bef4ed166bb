"""The ``rivusio`` command, run as a real subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def rivusio(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rivusio ARGS`` with only the core dependencies' behaviour."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "rivusio", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


DEMO_TABLE = """\
stage         items in  items out
drop_faulty      10000       9670
enrich            9670       9670
summarize         9670         20

site       readings  mean C   min C   max C heat alerts
airport        3249   24.11   14.77   39.16          67
harbour        3227   19.08    8.60   33.50           7
north          3194   14.12    4.06   29.27           0
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_demo_prints_counts_aggregates_and_timing(backend: str) -> None:
    """`rivusio demo` exits 0 and prints the same counts and aggregates on either backend."""
    done = rivusio("demo", "--backend", backend)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "rivusio demo: 10000 simulated sensor readings (12 sensors at 3 sites, seed 7)"
    )
    assert lines[1] == "pipeline: drop_faulty >> enrich >> summarize (batches of 500)"
    assert DEMO_TABLE in done.stdout
    assert re.fullmatch(rf"done in \d+\.\d{{3}} s on {backend} \([\d,]+ readings/s\)", lines[-1])
