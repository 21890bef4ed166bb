"""PipelineMonitor: exact figures after known runs, on both backends."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import pytest

from rivusio import AsyncStream, RetryConfig, StreamConfig, StreamError, SyncStream
from rivusio.config import BackpressureConfig
from rivusio.monitoring import PipelineMonitor
from rivusio.runtime import _stats
from rivusio.streams import BatchStreamPipe, StreamPipe, WindowedStreamPipe
from tests.helpers import Double, FailOn, aiter_of

COUNT_KEYS = ("items_in", "items_out", "errors", "retries", "skipped", "dead_lettered")


class Evens(StreamPipe[int, int]):
    """A stage of its own that keeps even numbers (a ``process_stream`` stage)."""

    async def process_stream(self, stream: Any) -> Any:
        async for item in stream:
            if item % 2 == 0:
                yield item


class Relay(StreamPipe[int, int]):
    """A per-item stage with a task and an input buffer of its own."""


def counts(entry: dict[str, Any]) -> tuple[int, ...]:
    """The counts of a stage entry, in COUNT_KEYS order."""
    return tuple(entry[key] for key in COUNT_KEYS)


async def drain(stream: AsyncStream[Any], delay: float = 0.0) -> list[Any]:
    """Consume *stream*, sleeping *delay* seconds after each item."""
    out = []
    async for item in stream:
        out.append(item)
        if delay:
            await anyio.sleep(delay)
    return out


async def test_stream_monitor_counts_every_stage_and_sums_them() -> None:
    """Each stage's counts, their sums, items_processed and error_rate are exact."""
    monitor = PipelineMonitor(name="numbers")
    stream = AsyncStream(range(10)).through(
        Double() >> FailOn({4, 8}, on_error="skip") >> Double(name="Again")
    )
    stream.set_monitor(monitor)

    assert await drain(stream) == [0, 4, 12, 20, 24, 28, 32, 36]

    metrics = monitor.get_metrics()
    assert list(metrics["stages"]) == ["Double", "FailOn", "Again"]
    assert counts(metrics["stages"]["Double"]) == (10, 10, 0, 0, 0, 0)
    assert counts(metrics["stages"]["FailOn"]) == (10, 8, 2, 0, 2, 0)
    assert counts(metrics["stages"]["Again"]) == (8, 8, 0, 0, 0, 0)
    assert counts(metrics) == (28, 26, 2, 0, 2, 0)
    assert (metrics["dropped"], metrics["late"]) == (0, 0)
    assert metrics["items_processed"] == 10
    assert metrics["error_rate"] == 2 / 28
    assert (metrics["name"], metrics["runs"]) == ("numbers", 1)


async def test_every_value_is_plain_json() -> None:
    """get_metrics() survives a JSON round trip unchanged."""
    monitor = PipelineMonitor()
    pipe = Double()
    pipe.set_monitor(monitor)
    await drain(AsyncStream(range(3)).through(pipe))

    metrics = monitor.get_metrics()
    assert json.loads(json.dumps(metrics)) == metrics


async def test_keys_of_the_metrics() -> None:
    """The top-level, per-stage and processing-time keys are the documented ones."""
    monitor = PipelineMonitor()
    pipe = Double()
    pipe.set_monitor(monitor)
    await drain(AsyncStream(range(3)).through(pipe))

    metrics = monitor.get_metrics()
    assert sorted(metrics) == sorted(
        [
            "name", "throughput", "processing_time", "error_rate", "total_time",
            "items_processed", "runs", "items_in", "items_out", "errors", "retries",
            "skipped", "dead_lettered", "dropped", "late", "stages", "output",
        ]
    )  # fmt: skip
    assert list(metrics["processing_time"]) == [
        "average", "min", "max", "p50", "p95", "p99", "count"
    ]  # fmt: skip
    assert sorted(metrics["stages"]["Double"]) == sorted(
        [
            "items_in", "items_out", "errors", "retries", "skipped", "dead_lettered",
            "dropped", "late", "buffer_size", "capacity", "blocked_time",
            "pressure_episodes", "processing_time",
        ]
    )  # fmt: skip
    assert sorted(metrics["output"]) == ["blocked_time", "buffer_size", "capacity"]


async def test_retries_and_dead_letters_and_run_time_on_the_event_loop_clock() -> None:
    """Retries wait on the loop's clock: total_time and throughput come out exact."""
    letters: list[Any] = []
    monitor = PipelineMonitor()
    pipe = FailOn(
        {3, 7},
        on_error="dead_letter",
        dead_letter=letters,
        retry=RetryConfig(attempts=2, delay=0.5),
    )
    pipe.set_monitor(monitor)

    assert await drain(AsyncStream(range(10)).through(pipe)) == [0, 1, 2, 4, 5, 6, 8, 9]

    metrics = monitor.get_metrics()
    assert counts(metrics["stages"]["FailOn"]) == (10, 8, 2, 2, 0, 2)
    assert [letter.item for letter in letters] == [3, 7]
    assert metrics["total_time"] == 1.0
    assert metrics["throughput"] == 10.0


async def test_total_time_follows_a_slow_source() -> None:
    """A source yielding every 0.5 s makes a 2.0 s run of 4 items: 2 items/s."""
    monitor = PipelineMonitor()
    stream = AsyncStream(aiter_of(range(4), delay=0.5)).through(Double())
    stream.set_monitor(monitor)
    await drain(stream)

    metrics = monitor.get_metrics()
    assert (metrics["total_time"], metrics["throughput"]) == (2.0, 2.0)
    assert monitor.total_time == 2.0


async def test_buffers_report_their_capacity() -> None:
    """Each stage reports the capacity of its input buffer; output is the consumer's."""
    monitor = PipelineMonitor()
    stream = AsyncStream(range(5), StreamConfig(buffer_size=40)).through(
        Double() >> Relay(config=BackpressureConfig(max_buffer_size=8))
    )
    stream.set_monitor(monitor)
    await drain(stream)

    metrics = monitor.get_metrics()
    assert metrics["stages"]["Double"]["capacity"] == 40
    assert metrics["stages"]["Relay"]["capacity"] == 8
    assert metrics["output"]["capacity"] == 40
    assert [entry["buffer_size"] for entry in metrics["stages"].values()] == [0, 0]


async def test_blocked_time_is_positive_under_a_slow_consumer() -> None:
    """With a consumer slower than the stages, every buffer fills and senders wait."""
    monitor = PipelineMonitor()
    stream = AsyncStream(range(60), StreamConfig(buffer_size=8)).through(Double() >> Relay())
    stream.set_monitor(monitor)
    seen: list[dict[str, Any]] = []
    async for index, _ in _enumerate(stream):
        if index == 20:
            seen.append(monitor.get_metrics())
        await anyio.sleep(1.0)

    during = seen[0]
    assert during["runs"] == 1
    assert [entry["buffer_size"] for entry in during["stages"].values()] == [8, 8]
    after = monitor.get_metrics()
    assert after["output"]["blocked_time"] > 0
    for entry in after["stages"].values():
        assert entry["blocked_time"] > 0
        assert entry["buffer_size"] == 0
    assert counts(after["stages"]["Relay"]) == (60, 60, 0, 0, 0, 0)


async def test_blocked_time_is_zero_without_a_slow_consumer() -> None:
    """A consumer that keeps up never makes a sender wait on the clock."""
    monitor = PipelineMonitor()
    stream = AsyncStream(range(60), StreamConfig(buffer_size=8)).through(Double() >> Relay())
    stream.set_monitor(monitor)
    await drain(stream)

    metrics = monitor.get_metrics()
    assert [entry["blocked_time"] for entry in metrics["stages"].values()] == [0.0, 0.0]
    assert metrics["output"]["blocked_time"] == 0.0


async def _enumerate(stream: AsyncStream[Any]) -> Any:
    index = 0
    async for item in stream:
        yield index, item
        index += 1


async def test_a_pipes_monitor_sees_only_that_pipe() -> None:
    """A monitor on one pipe of a chain reports that pipe alone."""
    monitor = PipelineMonitor()
    middle = FailOn({2}, on_error="skip")
    middle.set_monitor(monitor)
    await drain(AsyncStream(range(5)).through(Double() >> middle >> Double(name="Again")))

    metrics = monitor.get_metrics()
    assert list(metrics["stages"]) == ["FailOn"]
    assert counts(metrics) == (5, 4, 1, 0, 1, 0)
    assert metrics["items_processed"] == 5


async def test_a_pipelines_monitor_sees_its_inner_pipes() -> None:
    """A monitor on a pipeline reports every pipe inside it."""
    monitor = PipelineMonitor()
    inner = Double() >> Evens()
    inner.set_monitor(monitor)
    await drain(AsyncStream(range(6)).through(FailOn({5}, on_error="skip")).through(inner))

    metrics = monitor.get_metrics()
    assert list(metrics["stages"]) == ["Double", "Evens"]
    assert counts(metrics["stages"]["Evens"]) == (5, 5, 0, 0, 0, 0)
    assert metrics["items_processed"] == 5


async def test_repeated_names_get_a_suffix() -> None:
    """Two stages with one name are told apart as NAME and NAME#2."""
    monitor = PipelineMonitor()
    stream = AsyncStream(range(3)).through(Double() >> Double())
    stream.set_monitor(monitor)
    await drain(stream)

    assert list(monitor.get_metrics()["stages"]) == ["Double", "Double#2"]


async def test_runs_add_up() -> None:
    """Two runs of a monitored pipe add their counts; runs counts them."""
    monitor = PipelineMonitor()
    pipe = Double()
    pipe.set_monitor(monitor)
    await drain(AsyncStream(range(3)).through(pipe))
    await drain(AsyncStream(range(4)).through(pipe))

    metrics = monitor.get_metrics()
    assert (metrics["runs"], metrics["items_processed"]) == (2, 7)
    assert counts(metrics["stages"]["Double"]) == (7, 7, 0, 0, 0, 0)
    assert metrics["processing_time"]["count"] == 7


async def test_stream_and_pipe_monitors_are_both_fed() -> None:
    """A stream's monitor and a pipe's own monitor each see the run."""
    stream_monitor, pipe_monitor = PipelineMonitor(), PipelineMonitor()
    pipe = Double()
    pipe.set_monitor(pipe_monitor)
    stream = AsyncStream(range(4)).through(pipe).through(Relay())
    stream.set_monitor(stream_monitor)
    await drain(stream)

    assert list(stream_monitor.get_metrics()["stages"]) == ["Double", "Relay"]
    assert list(pipe_monitor.get_metrics()["stages"]) == ["Double"]


async def test_processing_time_is_measured_per_item() -> None:
    """Every item is timed once per stage; the figures are ordered and positive."""
    monitor = PipelineMonitor()
    stream = AsyncStream(range(50)).through(Double() >> Evens())
    stream.set_monitor(monitor)
    await drain(stream)

    metrics = monitor.get_metrics()
    assert metrics["stages"]["Double"]["processing_time"]["count"] == 50
    assert metrics["stages"]["Evens"]["processing_time"]["count"] == 50
    times = metrics["processing_time"]
    assert times["count"] == 100
    assert 0 < times["min"] <= times["average"] <= times["max"]
    # DDSketch quantiles are within 1% of a value that was recorded.
    assert times["min"] * 0.99 <= times["p50"] <= times["p95"] <= times["p99"]
    assert times["p99"] <= times["max"] * 1.01


async def test_percentiles_are_none_without_ddsketch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ddsketch the average, min and max remain and the percentiles are None."""
    monkeypatch.setattr(_stats, "sketch_mapping", lambda: None)
    monitor = PipelineMonitor()
    pipe = Double()
    pipe.set_monitor(monitor)
    await drain(AsyncStream(range(5)).through(pipe))

    times = monitor.get_metrics()["processing_time"]
    assert (times["p50"], times["p95"], times["p99"], times["count"]) == (None, None, None, 5)
    assert times["average"] is not None


async def test_collect_metrics_false_times_nothing() -> None:
    """StreamConfig(collect_metrics=False) keeps the counts and measures no time."""
    monitor = PipelineMonitor()
    stream = AsyncStream(range(5), StreamConfig(collect_metrics=False)).through(Double())
    stream.set_monitor(monitor)
    await drain(stream)

    metrics = monitor.get_metrics()
    assert counts(metrics) == (5, 5, 0, 0, 0, 0)
    assert metrics["processing_time"] == {
        "average": None, "min": None, "max": None, "p50": None, "p95": None, "p99": None,
        "count": 0,
    }  # fmt: skip


async def test_batches_count_items_in_and_batches_out() -> None:
    """A batch stage takes items in and gives batches out."""
    monitor = PipelineMonitor()
    batches: BatchStreamPipe[int, list[int]] = BatchStreamPipe(4)
    stream = AsyncStream(range(10)).through(batches)
    stream.set_monitor(monitor)
    assert await drain(stream) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]

    assert counts(monitor.get_metrics()["stages"]["BatchStreamPipe"]) == (10, 3, 0, 0, 0, 0)


async def test_late_items_are_counted() -> None:
    """An event-time window stage counts the item that arrives after its window closed."""
    monitor = PipelineMonitor()
    windows: WindowedStreamPipe[float, Any] = WindowedStreamPipe(10.0, timestamp=float)
    stream = AsyncStream([11.0, 25.0, 3.0, 26.0]).through(windows)
    stream.set_monitor(monitor)
    await drain(stream)

    metrics = monitor.get_metrics()
    assert (metrics["stages"]["WindowedStreamPipe"]["late"], metrics["late"]) == (1, 1)


async def test_overflow_drops_are_counted() -> None:
    """Items dropped by a full buffer's overflow policy count as dropped, and add up."""
    monitor = PipelineMonitor()
    slow = Relay(config=BackpressureConfig(max_buffer_size=2, overflow="drop_newest"))
    stream = AsyncStream(range(20)).through(slow)
    stream.set_monitor(monitor)
    delivered = await drain(stream, delay=1.0)

    entry = monitor.get_metrics()["stages"]["Relay"]
    assert entry["dropped"] > 0
    assert entry["items_in"] + entry["dropped"] == 20
    assert len(delivered) == entry["items_out"]


def test_sync_stream_running_inline_reports_no_buffers() -> None:
    """An inline SyncStream reports its counts, and zero buffer figures."""
    monitor = PipelineMonitor()
    stream = SyncStream(range(6)).through(FailOn({1}, on_error="skip"))
    stream.set_monitor(monitor)
    assert list(stream) == [0, 2, 3, 4, 5]

    metrics = monitor.get_metrics()
    entry = metrics["stages"]["FailOn"]
    assert counts(entry) == (6, 5, 1, 0, 1, 0)
    assert (entry["buffer_size"], entry["capacity"], entry["blocked_time"]) == (0, 0, 0.0)
    assert metrics["output"] == {"buffer_size": 0, "capacity": 0, "blocked_time": 0.0}
    assert entry["processing_time"]["count"] == 6


def test_sync_stream_on_an_event_loop_reports_to_its_monitor() -> None:
    """A SyncStream that needs the runtime passes its monitor on."""
    monitor = PipelineMonitor()
    batches: BatchStreamPipe[int, list[int]] = BatchStreamPipe(2)
    stream = SyncStream(range(5)).through(Double() >> batches)
    stream.set_monitor(monitor)
    assert list(stream) == [[0, 2], [4, 6], [8]]

    metrics = monitor.get_metrics()
    assert counts(metrics["stages"]["BatchStreamPipe"]) == (5, 3, 0, 0, 0, 0)
    assert metrics["stages"]["Double"]["capacity"] == 1000


async def test_a_stream_keeps_its_monitor_through_through() -> None:
    """A monitor set before .through() watches the derived stream's runs."""
    monitor = PipelineMonitor()
    base: AsyncStream[int] = AsyncStream(range(3))
    base.set_monitor(monitor)
    await drain(base.through(Double()))

    assert monitor.get_metrics()["items_processed"] == 3


async def test_log_records_carry_the_stage_name(caplog: pytest.LogCaptureFixture) -> None:
    """Skipped items are logged as warnings, and every rivusio record names its stage."""
    caplog.set_level(logging.DEBUG, logger="rivusio")
    await drain(AsyncStream(range(4)).through(Double() >> FailOn({2}, on_error="skip")))

    records = [r for r in caplog.records if r.name == "rivusio"]
    assert [r.getMessage() for r in records if r.levelno == logging.WARNING] == [
        "stage 'FailOn': skipped item 2 after ValueError: bad item 2"
    ]
    assert {r.stage for r in records} == {"Double", "FailOn"}  # type: ignore[attr-defined]
    assert "stage 'FailOn' finished: 4 in, 3 out, 1 errors, 1 skipped, 0 dead-lettered" in [
        r.getMessage() for r in records
    ]


async def test_a_failing_item_counts_as_taken_in() -> None:
    """When a stage fails, the items it took in up to the failing one are counted."""
    monitor = PipelineMonitor()
    pipe = Double() >> FailOn({4})
    pipe.set_monitor(monitor)
    with pytest.raises(StreamError):
        await drain(AsyncStream(range(6)).through(pipe))

    metrics = monitor.get_metrics()
    assert counts(metrics["stages"]["FailOn"]) == (3, 2, 1, 0, 0, 0)
    assert counts(metrics["stages"]["Double"]) == (6, 6, 0, 0, 0, 0)


def test_a_failing_item_counts_as_taken_in_inline() -> None:
    """The same holds for an inline SyncStream."""
    monitor = PipelineMonitor()
    stream = SyncStream(range(6)).through(FailOn({2}))
    stream.set_monitor(monitor)
    with pytest.raises(StreamError):
        list(stream)

    assert counts(monitor.get_metrics()["stages"]["FailOn"]) == (3, 2, 1, 0, 0, 0)


def test_chained_sync_maps_are_timed_on_one_chunk_in_sixteen() -> None:
    """Consecutive sync maps run chained; a monitor times them on chunks 1, 17, 33..."""
    monitor = PipelineMonitor()
    pipe = Double() >> Double(name="Again") >> FailOn({8}, on_error="skip")
    pipe.set_monitor(monitor)
    # A 40-item buffer gives chunks of 10: 100 chunks, of which 1, 17, ..., 97 are timed.
    results = list(SyncStream(range(1000), StreamConfig(buffer_size=40)).through(pipe))

    assert len(results) == 999
    metrics = monitor.get_metrics()
    assert counts(metrics["stages"]["Double"]) == (1000, 1000, 0, 0, 0, 0)
    assert counts(metrics["stages"]["FailOn"]) == (1000, 999, 1, 0, 1, 0)
    assert [entry["processing_time"]["count"] for entry in metrics["stages"].values()] == [
        70,
        70,
        70,
    ]
    assert metrics["processing_time"]["count"] == 210


@pytest.mark.parametrize("style", ["async_with", "bare"])
async def test_total_time_includes_a_slow_consumer(style: str) -> None:
    """A run lasts until the consumer has taken the last output: 8 items at 0.125 s = 1 s."""
    monitor = PipelineMonitor()
    stream: AsyncStream[int] = AsyncStream(range(8)).through(Double())
    stream.set_monitor(monitor)
    if style == "async_with":
        async with stream as results:
            async for _ in results:
                await anyio.sleep(0.125)
    else:
        async for _ in stream:
            await anyio.sleep(0.125)
    metrics = monitor.get_metrics()
    assert (metrics["total_time"], metrics["throughput"]) == (1.0, 8.0)
