"""Processing-time measurements (runtime ``Timings``) and live readings of runs."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest

from rivusio import AsyncStream, RetryConfig, StreamConfig, SyncStream
from rivusio.monitoring import PipelineMonitor
from rivusio.runtime import _stats
from rivusio.runtime._stats import Timings
from tests.helpers import Double, FailOn


def test_timings_count_a_chunk_as_items_of_its_average() -> None:
    """A chunk of n items in s seconds adds n items of s/n each."""
    timings = Timings()
    timings.add(0.4, 4)
    timings.add(0.3, 1)
    assert (timings.items, timings.total, timings.low, timings.high) == (5, 0.7, 0.1, 0.3)
    low, high = timings.quantiles([0.0, 1.0]) or []
    assert low == pytest.approx(0.1, rel=0.01)
    assert high == pytest.approx(0.3, rel=0.01)


def test_timings_keep_zero_durations() -> None:
    """Chunks that took no measurable time count as zeros in the quantiles."""
    timings = Timings()
    timings.add(0.0, 3)
    timings.add(1.0, 1)
    assert timings.zeros == 3
    assert timings.quantiles([0.5, 1.0]) == [0.0, pytest.approx(1.0, rel=0.01)]


def test_timings_merge_and_snapshot() -> None:
    """merge() adds another set of measurements; a snapshot no longer changes."""
    first, second = Timings(), Timings()
    first.add(1.0, 1)
    second.add(3.0, 1)
    second.add(0.0, 1)
    snapshot = first.snapshot()
    first.merge(second)
    assert (first.items, first.total, first.low, first.high, first.zeros) == (3, 4.0, 0.0, 3.0, 1)
    assert (snapshot.items, snapshot.total) == (1, 1.0)


def test_no_quantiles_for_no_items() -> None:
    """An empty set of measurements has no quantiles."""
    assert Timings().quantiles([0.5]) is None


def test_without_ddsketch_there_is_no_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bucket mapping is None when ddsketch cannot be imported."""
    monkeypatch.setitem(sys.modules, "ddsketch.mapping", None)
    assert _stats.sketch_mapping.__wrapped__() is None


async def test_a_stream_without_pipes_reports_no_stages() -> None:
    """A monitored stream with no pipe has no stages, items or output buffer."""
    monitor = PipelineMonitor()
    stream: AsyncStream[int] = AsyncStream(range(3))
    stream.set_monitor(monitor)
    assert [item async for item in stream] == [0, 1, 2]

    metrics = monitor.get_metrics()
    assert (metrics["runs"], metrics["items_processed"], metrics["stages"]) == (1, 0, {})
    assert metrics["output"] == {"buffer_size": 0, "capacity": 0, "blocked_time": 0.0}


async def test_live_readings_of_a_run_without_stages() -> None:
    """While a stage-less run is live it counts as a run with nothing processed."""
    monitor = PipelineMonitor()
    stream: AsyncStream[int] = AsyncStream(range(3))
    stream.set_monitor(monitor)
    async for _ in stream:
        metrics = monitor.get_metrics()
        assert (metrics["runs"], metrics["items_processed"]) == (1, 0)
        break


async def test_one_monitor_on_the_stream_and_on_a_pipe_sees_each_stage_once() -> None:
    """A monitor set on both a stream and one of its pipes reports every stage once."""
    monitor = PipelineMonitor()
    pipe = Double()
    pipe.set_monitor(monitor)
    stream = AsyncStream(range(4)).through(pipe).through(FailOn(set(), name="Check"))
    stream.set_monitor(monitor)
    assert [item async for item in stream] == [0, 2, 4, 6]

    metrics = monitor.get_metrics()
    assert list(metrics["stages"]) == ["Double", "Check"]
    assert (metrics["runs"], metrics["items_in"]) == (1, 8)


def test_live_readings_of_an_inline_sync_stream() -> None:
    """During an inline run the counts so far show, with no buffers, added to earlier runs."""
    monitor = PipelineMonitor()
    pipe = Double()
    pipe.set_monitor(monitor)
    assert list(SyncStream(range(3)).through(pipe)) == [0, 2, 4]
    seen: list[dict[str, Any]] = []
    config = StreamConfig(collect_metrics=False, buffer_size=4)
    for index, _ in enumerate(SyncStream(range(10), config).through(pipe)):
        if index == 5:
            seen.append(monitor.get_metrics())

    during = seen[0]
    assert during["runs"] == 2
    # A buffer of 4 items makes chunks of 1 item: the sixth item is the sixth taken in.
    assert during["items_processed"] == 3 + 6
    assert during["stages"]["Double"]["items_in"] == 3 + 6
    assert during["stages"]["Double"]["processing_time"]["count"] == 3
    assert during["output"] == {"buffer_size": 0, "capacity": 0, "blocked_time": 0.0}
    assert monitor.get_metrics()["items_processed"] == 13


async def test_retries_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """Each retry is a DEBUG record of the stage, naming the try."""
    caplog.set_level(logging.DEBUG, logger="rivusio")
    pipe = FailOn({1}, retry=RetryConfig(attempts=3), on_error="skip")
    assert [x async for x in AsyncStream([1]).through(pipe)] == []

    assert [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()] == [
        "stage 'FailOn': retrying an item (try 2 of 3) after ValueError: bad item 1",
        "stage 'FailOn': retrying an item (try 3 of 3) after ValueError: bad item 1",
    ]


async def test_a_failing_stage_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """A stage failure that stops the stream is an INFO record of that stage."""
    caplog.set_level(logging.INFO, logger="rivusio")
    with pytest.raises(Exception, match="bad item 1"):
        [x async for x in AsyncStream([1]).through(FailOn({1}))]

    [record] = [r for r in caplog.records if r.levelno == logging.INFO]
    assert record.getMessage() == (
        "stage 'FailOn' failed, stopping the stream: ValueError: bad item 1"
    )
    assert record.stage == "FailOn"  # type: ignore[attr-defined]
