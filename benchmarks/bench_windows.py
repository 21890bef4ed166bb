"""Count windows of 100 items over ``n`` integers: rivusio's window stage against a plain loop.

Run it with ``python -m benchmarks.bench_windows [--n N] [--repeats R]``, or through
``python -m benchmarks``, which calls :func:`run`.

Every variant turns ``range(n)`` into lists of 100 consecutive items (the last one partial)
and hands each list to a consumer that adds up the lengths; every run checks that the total
is ``n``.

``plain loop``
    A ``for`` loop appending to a list and starting a new one every 100 items: the grouping
    with nothing around it, the baseline of ``ratio_vs_loop``.
``SyncStream.tumbling_window(100)``
    ``for window in SyncStream(range(n)).tumbling_window(100)``: the window stage runs on an
    event loop in a background thread, and the windows cross to the consumer's thread a chunk
    at a time.
``AsyncStream.tumbling_window(100)``
    ``async for window in AsyncStream(range(n)).tumbling_window(100)`` on asyncio, and on
    trio when it is installed: the source is read in chunks, the window stage is a task of
    its own, and the windows reach the consumer through the stream's output buffer.

Each variant runs once untimed over 10,000 items to warm up, then ``repeats`` times; rows
carry the median. Only the work is timed for ``AsyncStream``, not the start of the event
loop; ``SyncStream`` is timed from the call to its first ``next`` to the end, since
starting its background loop is part of what it costs.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from typing import TYPE_CHECKING, Any

import anyio

from rivusio import AsyncStream, SyncStream

if TYPE_CHECKING:
    from collections.abc import Callable

WINDOW = 100
"""Items per window."""
DEFAULT_N = 1_000_000
"""Items per run when run as a script."""
WARMUP_N = 10_000
"""Items of the untimed warm-up run of each variant."""


def plain_loop(n: int) -> float:
    """Group ``range(n)`` into lists of ``WINDOW`` by hand; return the seconds taken."""
    started = time.perf_counter()
    total = 0
    window: list[int] = []
    for item in range(n):
        window.append(item)
        if len(window) == WINDOW:
            total += len(window)
            window = []
    if window:
        total += len(window)
    elapsed = time.perf_counter() - started
    _check(total, n)
    return elapsed


def sync_stream(n: int) -> float:
    """Consume ``SyncStream(range(n)).tumbling_window(WINDOW)``; return the seconds taken."""
    started = time.perf_counter()
    total = 0
    for window in SyncStream(range(n)).tumbling_window(WINDOW):
        total += len(window)
    elapsed = time.perf_counter() - started
    _check(total, n)
    return elapsed


def async_stream(backend: str) -> Callable[[int], float]:
    """A variant consuming ``AsyncStream(range(n)).tumbling_window(WINDOW)`` on *backend*."""

    def measure(n: int) -> float:
        async def work() -> tuple[float, int]:
            started = time.perf_counter()
            total = 0
            async for window in AsyncStream(range(n)).tumbling_window(WINDOW):
                total += len(window)
            return time.perf_counter() - started, total

        elapsed, total = anyio.run(work, backend=backend)
        _check(total, n)
        return elapsed

    return measure


def _check(total: int, n: int) -> None:
    if total != n:
        raise RuntimeError(f"bench_windows: the windows held {total} items, expected {n}")


def variants() -> list[tuple[str, Callable[[int], float]]]:
    """The variants to run, baseline first; trio rows only when trio is installed."""
    rows: list[tuple[str, Callable[[int], float]]] = [
        ("plain loop", plain_loop),
        ("SyncStream.tumbling_window(100)", sync_stream),
        ("AsyncStream.tumbling_window(100), asyncio", async_stream("asyncio")),
    ]
    if importlib.util.find_spec("trio") is not None:
        rows.append(("AsyncStream.tumbling_window(100), trio", async_stream("trio")))
    return rows


def run(n: int = DEFAULT_N, repeats: int = 3) -> list[dict[str, Any]]:
    """Measure every variant over *n* items; return one row per variant.

    Args:
        n: Items per run.
        repeats: Timed runs per variant; the rows show the median.

    Returns:
        Rows with ``name``, ``items_per_s`` (median) and ``ratio_vs_loop`` (the variant's
        median time over the plain loop's: how many times slower it is).
    """
    chosen = variants()
    for _, measure in chosen:
        measure(WARMUP_N)
    times: dict[str, list[float]] = {name: [] for name, _ in chosen}
    # Interleaved, so that a change in the machine's load hits every variant alike.
    for _ in range(repeats):
        for name, measure in chosen:
            times[name].append(measure(n))
    medians = {name: statistics.median(values) for name, values in times.items()}
    loop = medians["plain loop"]
    return [
        {
            "name": name,
            "items_per_s": n / seconds,
            "ratio_vs_loop": seconds / loop,
        }
        for name, seconds in medians.items()
    ]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its rows."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_windows")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="items per run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant")
    args = parser.parse_args(argv)
    print(f"count windows of {WINDOW} over {args.n:,} items, median of {args.repeats} runs")
    for row in run(args.n, args.repeats):
        print(
            f"{row['name']:<44} {row['items_per_s']:>14,.0f} items/s "
            f"{row['ratio_vs_loop']:>6.2f}x the loop's time"
        )


if __name__ == "__main__":
    main()
