"""What per-stage concurrency costs: 2,000 items through a 1 ms async step, 50 at a time.

Run it with ``python -m benchmarks.bench_concurrency [--repeats R]``. Each item goes
through an async pipe that awaits ``anyio.sleep(0.001)`` (the real clock), with
``concurrency=50``, ordered and unordered, on asyncio and on trio. With 50 items in flight
the ideal wall time is ``2000 / 50 * 0.001 = 0.04`` seconds; ``ratio_vs_ideal`` is the
measured median over that. Timer resolution and the event loop's per-task costs are what
separate the two: each 1 ms sleep also lasts until the loop next looks at its timers.

A reference row per backend runs the same sleeps in a bare anyio pool of 50 worker tasks fed
by a memory object stream, with no rivusio at all: the distance between it and the ideal is
the event loop's, the distance between it and the rivusio rows is rivusio's.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from typing import TYPE_CHECKING, Any

import anyio

from rivusio import AsyncBasePipe, AsyncStream

if TYPE_CHECKING:
    from collections.abc import Callable

ITEMS = 2_000
CONCURRENCY = 50
STEP_SECONDS = 0.001
IDEAL = ITEMS / CONCURRENCY * STEP_SECONDS
"""The wall time if 50 steps always ran at once and cost nothing but their sleep."""


class Wait(AsyncBasePipe[int, int]):
    """Awaits 1 ms, then returns the item."""

    async def process(self, data: int) -> int:
        await anyio.sleep(STEP_SECONDS)
        return data


def run_once(backend: str, *, ordered: bool) -> float:
    """Seconds for one run of the workload on *backend*, checking every output arrived."""

    async def consume() -> int:
        stream = AsyncStream(range(ITEMS)).through(
            Wait(), concurrency=CONCURRENCY, ordered=ordered
        )
        count = 0
        async for _ in stream:
            count += 1
        return count

    started = time.perf_counter()
    count = anyio.run(consume, backend=backend)
    elapsed = time.perf_counter() - started
    if count != ITEMS:
        raise AssertionError(f"bench_concurrency: expected {ITEMS} outputs, got {count}")
    return elapsed


def run_reference(backend: str) -> float:
    """Seconds for the same sleeps in a bare anyio worker pool on *backend*."""

    async def pool() -> int:
        send, receive = anyio.create_memory_object_stream[int](0)
        done = 0

        async def worker() -> None:
            nonlocal done
            async for _ in receive:
                await anyio.sleep(STEP_SECONDS)
                done += 1

        async with anyio.create_task_group() as tg:
            for _ in range(CONCURRENCY):
                tg.start_soon(worker)
            async with send:
                for item in range(ITEMS):
                    await send.send(item)
        receive.close()
        return done

    started = time.perf_counter()
    count = anyio.run(pool, backend=backend)
    elapsed = time.perf_counter() - started
    if count != ITEMS:
        raise AssertionError(f"bench_concurrency: expected {ITEMS} sleeps, got {count}")
    return elapsed


def run(repeats: int = 5) -> list[dict[str, Any]]:
    """Median wall time of each variant over *repeats* runs, after one warm-up run each."""
    rows: list[dict[str, Any]] = []
    for backend in ("asyncio", "trio"):
        variants: list[tuple[str, Callable[[], float]]] = [
            (f"{backend} ordered", functools.partial(run_once, backend, ordered=True)),
            (f"{backend} unordered", functools.partial(run_once, backend, ordered=False)),
            (f"{backend} bare anyio pool (reference)", functools.partial(run_reference, backend)),
        ]
        for name, variant in variants:
            variant()
            seconds = statistics.median(variant() for _ in range(repeats))
            rows.append(
                {
                    "name": name,
                    "seconds": round(seconds, 4),
                    "ratio_vs_ideal": round(seconds / IDEAL, 2),
                }
            )
    return rows


def main() -> None:
    """Print the rows as a table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_concurrency")
    parser.add_argument("--repeats", type=int, default=5, help="runs per variant (default 5)")
    args = parser.parse_args()
    print(f"{ITEMS} items, 1 ms async step, concurrency={CONCURRENCY}, ideal {IDEAL:.3f} s")
    print("| name | seconds | ratio_vs_ideal |")
    print("|---|---|---|")
    for row in run(args.repeats):
        print(f"| {row['name']} | {row['seconds']:.4f} | {row['ratio_vs_ideal']:.2f} |")


if __name__ == "__main__":
    main()
