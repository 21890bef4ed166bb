"""rivusio's benchmarks: run them with ``python -m benchmarks`` (or ``nox -s bench``).

Speed is never asserted in the test suite; it is measured here, as ratios against baselines
run in the same process. See ``benchmarks/README.md`` for the workloads and the numbers.
"""
