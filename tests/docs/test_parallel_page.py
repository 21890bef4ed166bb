"""The examples of docs/how-to/parallel-pipelines.md, which includes them from here."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import anyio
import pytest

from rivusio import AsyncBasePipe, ExecutionStrategy, PipelineError, SyncBasePipe
from rivusio.monitoring import PipelineMonitor


class FetchPrice(AsyncBasePipe[str, float]):
    """Ask a (simulated) pricing service for a product's price: one second of waiting."""

    async def process(self, data: str) -> float:
        await anyio.sleep(1.0)
        return float(len(data))


class Round(SyncBasePipe[float, int]):
    """Round to a whole number."""

    def process(self, data: float) -> int:
        return round(data)


async def test_gather_waits_for_many_inputs_at_once() -> None:
    """100 one-second requests, 10 at a time, take 10 seconds; results keep input order."""
    pipeline = FetchPrice() >> Round()
    pipeline.configure_parallel(ExecutionStrategy.GATHER, max_workers=10)

    products = [f"product-{n}" for n in range(100)]
    async with pipeline:
        prices = await pipeline.execute_parallel(products)

    assert prices[:3] == [9, 9, 9]
    assert prices[10] == 10
    assert anyio.current_time() == 10.0


class Checksum(SyncBasePipe[Path, str]):
    """Read a file (blocking I/O) and return its SHA-256."""

    def process(self, data: Path) -> str:
        return hashlib.sha256(data.read_bytes()).hexdigest()


def test_thread_pool_from_plain_code(tmp_path: Path) -> None:
    """A SyncPipeline runs blocking work in threads from ordinary, non-async code."""
    paths = []
    for n in range(20):
        path = tmp_path / f"part-{n}.bin"
        path.write_bytes(bytes([n]) * 1000)
        paths.append(path)

    pipeline = Checksum() >> Shorten()
    pipeline.configure_parallel("thread_pool", max_workers=8)
    with pipeline:
        digests = pipeline.execute_parallel(paths)

    assert digests[0] == hashlib.sha256(bytes(1000)).hexdigest()[:12]
    assert len(set(digests)) == 20


class Shorten(SyncBasePipe[str, str]):
    """Keep the first 12 characters."""

    def process(self, data: str) -> str:
        return data[:12]


class CountPrimes(SyncBasePipe[int, int]):
    """Count the primes below a limit, the slow way (CPU-bound)."""

    def process(self, data: int) -> int:
        return sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, data))


def test_process_pool_for_cpu_bound_work() -> None:
    """Chunks of inputs go to worker processes; outputs come back in input order."""
    pipeline = CountPrimes() >> Round()
    pipeline.configure_parallel("process_pool", max_workers=2, chunk_size=25)

    with pipeline:
        counts = pipeline.execute_parallel(range(100, 200))

    assert counts[0] == 25
    assert counts[-1] == 45


class Flaky(SyncBasePipe[int, int]):
    """Fail for the input 13."""

    def process(self, data: int) -> int:
        if data == 13:
            raise ValueError(f"cannot handle {data}")
        return data


async def test_a_failing_input_raises_pipeline_error() -> None:
    """The failure stops the call: other inputs in flight are cancelled."""
    pipeline = FetchPrice() >> Round() >> Flaky()
    pipeline.configure_parallel("gather", max_workers=4)

    async with pipeline:
        with pytest.raises(PipelineError) as caught:
            await pipeline.execute_parallel(["a" * n for n in range(20)])

    assert str(caught.value) == "stage 'Flaky': ValueError: cannot handle 13"
    assert isinstance(caught.value.__cause__, ValueError)
    assert anyio.current_time() == 4.0


async def test_outside_async_with() -> None:
    """execute_parallel outside the pipeline's 'async with' block is an error."""
    pipeline = FetchPrice() >> Round()
    with pytest.raises(PipelineError, match="Must use async context manager"):
        await pipeline.execute_parallel(["a"])


async def test_monitoring_parallel_runs() -> None:
    """A pipeline's monitor sees every input of execute_parallel."""
    monitor = PipelineMonitor()
    pipeline = FetchPrice() >> Round()
    pipeline.set_monitor(monitor)
    pipeline.configure_parallel("gather", max_workers=5)

    async with pipeline:
        await pipeline.execute_parallel([f"p{n}" for n in range(20)])

    metrics = monitor.get_metrics()
    assert metrics["items_processed"] == 20
    assert metrics["processing_time"]["average"] == 1.0
    assert metrics["error_rate"] == 0.0


def test_blocking_time_is_spread_over_threads() -> None:
    """Eight blocking calls of 0.2 s on four threads take two rounds: about 0.4 s."""
    pipeline = Sleep() >> Round()
    pipeline.configure_parallel("thread_pool", max_workers=4)
    started = time.perf_counter()
    with pipeline:
        pipeline.execute_parallel([0.2] * 8)
    assert 0.4 <= time.perf_counter() - started < 0.8


class Sleep(SyncBasePipe[float, float]):
    """Block the thread for the given number of seconds."""

    def process(self, data: float) -> float:
        time.sleep(data)
        return data
