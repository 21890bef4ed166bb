"""The examples of docs/how-to/concurrency.md, which includes them from here."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

import anyio
import pytest

from rivusio import AsyncBasePipe, AsyncStream, DeadLetter
from rivusio.streams import map
from rivusio.testing import collect_timed

if TYPE_CHECKING:
    from pathlib import Path


class Lookup(AsyncBasePipe[str, str]):
    """Ask a (simulated) service about a user: each request waits one second."""

    async def process(self, data: str) -> str:
        await anyio.sleep(1.0)
        return data.upper()


async def test_ordered_by_default() -> None:
    """Ten one-second requests, five at a time: two seconds, results in input order."""
    users = [f"user-{n}" for n in range(10)]
    stream = AsyncStream(users).through(Lookup(), concurrency=5)

    timed = await collect_timed(stream)

    assert [user for _, user in timed] == [f"USER-{n}" for n in range(10)]
    assert [seconds for seconds, _ in timed] == [1.0] * 5 + [2.0] * 5


async def fetch(delay: float) -> float:
    """A request that takes *delay* seconds."""
    await anyio.sleep(delay)
    return delay


async def test_unordered_delivers_each_result_when_it_is_ready() -> None:
    """With ordered=False a fast request does not wait behind a slow one."""
    delays = [3.0, 1.0, 2.0]

    ordered = await collect_timed(AsyncStream(delays).through(map(fetch, concurrency=3)))
    unordered = await collect_timed(
        AsyncStream(delays).through(map(fetch, concurrency=3, ordered=False))
    )

    assert ordered == [(3.0, 3.0), (3.0, 1.0), (3.0, 2.0)]
    assert unordered == [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]


async def test_a_slow_item_holds_back_only_what_order_requires() -> None:
    """One slow request among quick ones: at most 2 * N items wait for it."""
    delays = [10.0] + [1.0] * 9
    timed = await collect_timed(AsyncStream(delays).through(map(fetch, concurrency=2)))

    assert [seconds for seconds, _ in timed] == [10.0] * 4 + [11.0] * 2 + [12.0] * 2 + [13.0] * 2


async def test_failures_follow_the_error_policy_per_item() -> None:
    """Each item gets retries and the error policy on its own, as without concurrency."""
    letters: list[DeadLetter] = []

    async def check(delay: float) -> float:
        await anyio.sleep(delay)
        if delay > 2:
            raise TimeoutError(f"gave up after {delay} s")
        return delay

    stream = AsyncStream([1.0, 3.0, 2.0]).through(
        map(check, concurrency=3), on_error="dead_letter", dead_letter=letters
    )

    assert [result async for result in stream] == [1.0, 2.0]
    assert [(letter.item, str(letter.error)) for letter in letters] == [
        (3.0, "gave up after 3.0 s")
    ]


def checksum(path: Path) -> str:
    """Read a file (blocking I/O) and hash it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


@pytest.mark.real_clock
async def test_offload_blocking_calls_to_threads(tmp_path: Path) -> None:
    """Blocking file reads run in up to 4 worker threads; the event loop stays free."""
    paths = []
    for n in range(8):
        path = tmp_path / f"part-{n}.bin"
        path.write_bytes(bytes([n]) * 1000)
        paths.append(path)

    stream = AsyncStream(paths).through(map(checksum, concurrency=4, offload="thread"))
    sums = [result async for result in stream]

    assert sums == [checksum(path) for path in paths]


def count_primes(limit: int) -> int:
    """CPU-bound work: count the primes below *limit*, the slow way."""
    return sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, limit))


@pytest.mark.real_clock
async def test_offload_cpu_work_to_processes() -> None:
    """A module-level function runs in up to 2 worker processes, results in order."""
    stream = AsyncStream([1_000, 2_000, 3_000, 4_000]).through(
        map(count_primes, concurrency=2, offload="process")
    )

    assert [result async for result in stream] == [168, 303, 430, 550]


@pytest.mark.real_clock
async def test_a_cancelled_thread_finishes_in_the_background() -> None:
    """Cancelling the stream does not wait for a thread: its result is thrown away."""
    started = time.perf_counter()
    with anyio.move_on_after(0.1):
        async for _ in AsyncStream([2.0]).through(map(time.sleep, offload="thread")):
            pass

    assert time.perf_counter() - started < 1.0
