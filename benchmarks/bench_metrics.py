"""What watching a run costs: three fused sync maps with and without a monitor.

Run it with ``python -m benchmarks.bench_metrics [--n N] [--repeats R]``. Each variant runs
the same three sync maps (``x + 1``, ``x * 3``, ``x - 2``) over ``n`` integers, summed by
the consumer:

``off``
    No monitor: the stages keep their counters (always on) and measure nothing else.
``counts``
    A monitor attached, with ``StreamConfig(collect_metrics=False)``: it reads the
    counters and buffer figures, and nothing is timed.
``on``
    A monitor attached with the defaults: every stage also times each chunk with
    ``time.perf_counter()`` and feeds a processing-time sketch.

Fronts: ``AsyncStream`` on asyncio and on trio, and ``SyncStream`` (inline, no event loop).
Variants run interleaved, ``repeats`` times each after a warm-up run; the table shows the
median microseconds per item and the overhead of ``on`` and ``counts`` against ``off``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import TYPE_CHECKING

import anyio

from rivusio import AsyncStream, StreamConfig, SyncBasePipe, SyncStream
from rivusio.monitoring import PipelineMonitor

if TYPE_CHECKING:
    from collections.abc import Callable

VARIANTS = ("off", "counts", "on")


class AddOne(SyncBasePipe[int, int]):
    """x + 1."""

    def process(self, data: int) -> int:
        return data + 1


class Triple(SyncBasePipe[int, int]):
    """x * 3."""

    def process(self, data: int) -> int:
        return data * 3


class SubtractTwo(SyncBasePipe[int, int]):
    """x - 2."""

    def process(self, data: int) -> int:
        return data - 2


def pipeline(variant: str) -> tuple[SyncBasePipe[int, int], StreamConfig]:
    """The three maps, watched as *variant* says, and the stream config to run them with."""
    pipe = AddOne() >> Triple() >> SubtractTwo()
    if variant != "off":
        pipe.set_monitor(PipelineMonitor())
    return pipe, StreamConfig(collect_metrics=variant != "counts")


def run_async(n: int, variant: str, backend: str) -> float:
    """Seconds for one ``AsyncStream`` run on *backend*."""
    pipe, config = pipeline(variant)

    async def consume() -> int:
        total = 0
        async for value in AsyncStream(range(n), config).through(pipe):
            total += value
        return total

    started = time.perf_counter()
    anyio.run(consume, backend=backend)
    return time.perf_counter() - started


def run_sync(n: int, variant: str) -> float:
    """Seconds for one inline ``SyncStream`` run."""
    pipe, config = pipeline(variant)
    started = time.perf_counter()
    total = 0
    for value in SyncStream(range(n), config).through(pipe):
        total += value
    return time.perf_counter() - started


def measure(n: int, repeats: int) -> list[dict[str, float | str]]:
    """One row per front: median µs per item of each variant, and the overheads in %."""
    fronts: dict[str, Callable[[int, str], float]] = {
        "AsyncStream/asyncio": lambda size, v: run_async(size, v, "asyncio"),
        "AsyncStream/trio": lambda size, v: run_async(size, v, "trio"),
        "SyncStream (inline)": run_sync,
    }
    rows: list[dict[str, float | str]] = []
    for front, run in fronts.items():
        for variant in VARIANTS:
            run(min(n, 2_000), variant)
        times: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        for _ in range(repeats):
            for variant in VARIANTS:
                times[variant].append(run(n, variant))
        per_item = {v: statistics.median(times[v]) / n * 1e6 for v in VARIANTS}
        rows.append(
            {
                "front": front,
                **{f"{v} µs/item": per_item[v] for v in VARIANTS},
                "counts overhead %": (per_item["counts"] / per_item["off"] - 1) * 100,
                "on overhead %": (per_item["on"] / per_item["off"] - 1) * 100,
            }
        )
    return rows


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="items per run (200000)")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per variant (9)")
    args = parser.parse_args()
    rows = measure(args.n, args.repeats)
    header = list(rows[0])
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for row in rows:
        print(
            " | ".join(
                f"{value:.3f}" if isinstance(value, float) else value for value in row.values()
            )
        )


if __name__ == "__main__":
    main()
