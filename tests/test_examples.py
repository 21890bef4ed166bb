"""Every script in ``examples/`` runs on asyncio and on trio and prints exactly what it should.

Each example is run as a reader runs it, ``python examples/NAME.py BACKEND``, in a fresh
interpreter, and its whole standard output is compared with :data:`EXPECTED`. A script in
``examples/`` without an entry there fails instead of being skipped: adding an example means
writing down what it prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BACKENDS = ("asyncio", "trio")

EXPECTED: dict[str, str] = {
    "async_streams": """\
Processed: {'a': 1, 'c': 2.5}
Processed: {'d': 10, 'e': 20.0, 'f': 30}
""",
    "backpressure": """\
buffer: 1000 items, paced by 0.1 s per item from 80% full
20.5
21.0
21.5
22.0
22.5
""",
    "batching": """\
[{'name': 'ada'}, {'name': 'alan'}]
[{'name': 'grace'}, {'name': 'edsger'}]
[{'name': 'barbara'}]
['ADA', 'ALAN', 'GRACE']
['EDSGER', 'BARBARA']
3 events from burst 0
2 events from burst 1
1 events from burst 2
""",
    "error_handling": """\
Result: {'a': 50.0, 'b': 25.0}
Error processing {'a': 0, 'b': 1}: Division by zero: division by zero
Result: {'error': 'Division by zero: division by zero'}
Result: {'a': 20.0, 'b': 10.0}
""",
    "first_pipeline": """\
21.5
18.0
42.0 Offset(name='Offset', offset=32.0)
212.0
['Parse', 'Scale', 'Offset']
50.0 F
-40.0 F (freezing)
32.0 F (freezing)
212.0 F
-40.0
32.0
212.0
""",
    "monitoring": """\
result: 20.0
result: 26.85
result: 0.0
result: 37.35
Throughput: float (items/s)
Processing time: average, min, max, p50, p95, p99, count
keys: dead_lettered, dropped, error_rate, errors, items_in, items_out, items_processed, \
late, name, output, processing_time, retries, runs, skipped, stages, throughput, total_time
items_processed=5 errors=1 skipped=1 error_rate=0.20 runs=1
stage Celsius: items_in=5 items_out=4 errors=1 skipped=1 capacity=1000 timed items=5
""",
    "stream_errors": """\
result: 0.25
result: 0.5
stream stopped: StreamError: stage 'Reciprocal' failed: ZeroDivisionError: float division by zero
stage='Reciprocal' item=0.0 cause=ZeroDivisionError('float division by zero')
""",
    "stream_pipe": """\
{'processed': {'id': 1, 'value': 10}}
{'processed': {'id': 2, 'value': 20}}
{'processed': {'id': 3, 'value': 30}}
""",
    "streams_tutorial": """\
== sources
['a!', 'list!']
['ready!', 'steady!', 'go!']
['a!', 'channel!']
== chaining
  (setup)
  (teardown)
['ONE!', 'TWO!']
  (setup)
  (teardown)
['ONE!', 'TWO!']
== structured
  (setup)
READY
STEADY
  (teardown)
after the block
== bare_loop
  (setup)
READY
STEADY
GO
  (teardown)
after the loop
== stream_stage
[1, 3, 6, 10]
StreamPipeline
5
11
13
== sync_stream
['no!', 'event!', 'loop!']
  (setup)
  (teardown)
['IN!', 'A!', 'THREAD!']
""",
    "sync_streams": """\
Batch sum: 6.0
Batch sum: 15.0
Batch sum: 24.0
""",
    "windowing": """\
[{'sensor': 'a', 'value': 1}, {'sensor': 'b', 'value': 2}]
[{'sensor': 'a', 'value': 3}]
[{'sensor': 'b', 'value': 4}, {'sensor': 'a', 'value': 5}]
sensor a [0, 10): mean 21.0
sensor b [0, 10): mean 21.5
sensor b [10, 20): mean 19.0
sensor a [10, 20): mean 23.0
late: [('a', 4.0, 99.0)]
""",
}
"""What each example prints, by script name (``examples/NAME.py``), on either backend."""


def example_names() -> list[str]:
    """The names of the scripts in ``examples/``, sorted."""
    return sorted(path.stem for path in EXAMPLES.glob("*.py"))


def run_script(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run *path* with this interpreter, from the repository root, importing this checkout."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return subprocess.run(
        [sys.executable, str(path), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", example_names())
def test_example_prints_its_expected_output(name: str, backend: str) -> None:
    """``python examples/NAME.py BACKEND`` exits 0, prints EXPECTED[NAME] and nothing on stderr."""
    if backend == "trio":
        pytest.importorskip("trio", reason="trio is not installed")
    assert name in EXPECTED, (
        f"examples/{name}.py has no expected output: run it and add what it prints to "
        f"EXPECTED in tests/test_examples.py"
    )

    done = run_script(EXAMPLES / f"{name}.py", backend)

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == EXPECTED[name]


def test_every_expected_output_belongs_to_an_example() -> None:
    """EXPECTED has no entry for a script that no longer exists."""
    assert sorted(EXPECTED) == example_names()


def test_example_rejects_an_unknown_backend() -> None:
    """An example given a backend that does not exist fails instead of guessing one."""
    done = run_script(EXAMPLES / "sync_streams.py", "curio")

    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "usage: python examples/sync_streams.py [asyncio|trio]\n"
