"""rivusio 0.2.0's window helpers, process(), metrics_dict(), buffer and close() on both fronts."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivusio import (
    AsyncBasePipe,
    AsyncStream,
    ConfigError,
    PipeError,
    StreamConfig,
    StreamError,
    SyncBasePipe,
    SyncStream,
)
from rivusio.testing import ScriptedSource, collect_timed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

COUNTS = {
    "items_in": 0,
    "items_out": 0,
    "errors": 0,
    "skipped": 0,
    "dead_lettered": 0,
    "dropped": 0,
    "late": 0,
}


def counts(**values: int) -> dict[str, int]:
    """The count metrics, zero except for *values*."""
    return {**COUNTS, **values}


class Total(AsyncBasePipe[list[int], int]):
    """Sums a batch or a window."""

    async def process(self, data: list[int]) -> int:
        return sum(data)


class SyncTotal(SyncBasePipe[list[int], int]):
    """Sums a batch or a window, synchronously."""

    def process(self, data: list[int]) -> int:
        return sum(data)


def expected_sliding(n: int, size: int, step: int, *, partial: bool) -> list[list[int]]:
    """Every window of range(n) starting at a multiple of step: full ones, partials if asked."""
    return [
        list(range(start, min(start + size, n)))
        for start in range(0, n, step)
        if start + size <= n or partial
    ]


# --- AsyncStream -------------------------------------------------------------------------------


async def test_tumbling_window_gives_back_to_back_lists() -> None:
    """tumbling_window(n) yields lists of n items and the partial last one."""
    windows = [w async for w in AsyncStream(range(7)).tumbling_window(3)]
    assert windows == [[0, 1, 2], [3, 4, 5], [6]]


@given(
    n=st.integers(0, 40),
    size=st.integers(1, 8),
    step=st.integers(1, 8),
    partial=st.booleans(),
)
async def test_sliding_window_gives_every_full_window_in_order(
    n: int, size: int, step: int, partial: bool
) -> None:
    """sliding_window skips no window and no item; partial windows only when asked."""
    step = min(step, size)
    stream = AsyncStream(range(n)).sliding_window(size, step, emit_partial=partial)
    assert [w async for w in stream] == expected_sliding(n, size, step, partial=partial)


async def test_sliding_window_with_step_equal_to_size_drops_the_short_last_window() -> None:
    """As in 0.2.0, sliding_window(n, n) yields only full windows."""
    assert [w async for w in AsyncStream(range(7)).sliding_window(3, 3)] == [
        [0, 1, 2],
        [3, 4, 5],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (2, 3),
            (
                "step_size: must be <= window_size (got step_size=3, window_size=2); a "
                "larger step would leave out the items between windows. Use "
                "tumbling_window(2) for windows that do not overlap"
            ),
        ),
        ((0, 1), "window_size: must be >= 1 (got 0)"),
        ((3, 0), "step_size: must be >= 1 (got 0)"),
        ((3.0, 1), "window_size: must be an int number of items (got 3.0)"),
    ],
)
def test_sliding_window_refuses_bad_sizes(args: tuple[Any, int], message: str) -> None:
    """Bad sizes raise ConfigError naming the parameter, on both fronts."""
    with pytest.raises(ConfigError) as info:
        AsyncStream(range(3)).sliding_window(*args)
    assert info.value.problems == (message,)
    with pytest.raises(ConfigError) as info:
        SyncStream(range(3)).sliding_window(*args)
    assert info.value.problems == (message,)


def test_sliding_window_refuses_a_non_bool_emit_partial() -> None:
    """emit_partial must be True or False."""
    with pytest.raises(ConfigError, match=r"^emit_partial: must be True or False \(got 1\)$"):
        AsyncStream(range(3)).sliding_window(2, 2, emit_partial=1)  # type: ignore[arg-type]


def test_tumbling_and_time_windows_refuse_bad_sizes() -> None:
    """tumbling_window needs an int >= 1 and time_window a positive duration."""
    with pytest.raises(ConfigError, match=r"^window_size: must be >= 1 \(got 0\)$"):
        AsyncStream(range(3)).tumbling_window(0)
    with pytest.raises(ConfigError, match=r"^duration: must be > 0 \(got 0\)$"):
        AsyncStream(range(3)).time_window(0)
    with pytest.raises(ConfigError, match=r"^duration: must be > 0 \(got datetime"):
        SyncStream(range(3)).time_window(timedelta(0))


async def test_time_window_closes_on_the_timer_while_the_source_is_idle() -> None:
    """time_window emits each window at its end, not when the next item arrives."""
    source = ScriptedSource([(0, "a"), (0.25, "b"), (2, "c")], end_delay=5)
    stream = AsyncStream(source).time_window(timedelta(seconds=1))
    assert await collect_timed(stream) == [(1.0, ["a", "b"]), (3.0, ["c"])]


async def test_time_window_takes_float_seconds_and_flushes_at_the_end() -> None:
    """A number is seconds (even an int); the open window is flushed at end of stream."""
    source = ScriptedSource([(0, "a"), (0.5, "b")])
    assert await collect_timed(AsyncStream(source).time_window(2)) == [(0.5, ["a", "b"])]


async def test_process_batches_with_batch_size() -> None:
    """batch_size > 1: the pipe gets lists of up to batch_size items."""
    stream = AsyncStream(range(7), StreamConfig(batch_size=3))
    assert [r async for r in stream.process(Total())] == [3, 12, 6]


async def test_process_windows_with_window_size_on_the_timer() -> None:
    """window_size > 0 (and no batch_size): the pipe gets each time window's list."""
    source = ScriptedSource([(0, 1), (0.25, 2), (1.5, 3)], end_delay=5)
    stream = AsyncStream(source, StreamConfig(window_size=timedelta(seconds=1)))
    assert await collect_timed(stream.process(Total())) == [(1.0, 3), (2.0, 3)]


async def test_batch_size_wins_over_window_size() -> None:
    """As in 0.2.0, batch_size above 1 is used before window_size."""
    config = StreamConfig(batch_size=2, window_size=10.0)
    assert [r async for r in AsyncStream(range(5), config).process(Total())] == [1, 5, 4]


async def test_process_each_item_without_batches_or_windows() -> None:
    """With the defaults, the pipe gets every item."""

    class Double(AsyncBasePipe[int, int]):
        async def process(self, data: int) -> int:
            return data * 2

    assert [r async for r in AsyncStream(range(3)).process(Double())] == [0, 2, 4]


async def test_process_accepts_plain_functions() -> None:
    """0.2.0 accepted any async callable; sync functions work too."""

    async def process_batch(items: list[dict[str, int]]) -> list[int]:
        return [item["value"] * 2 for item in items]

    source = [{"value": i} for i in range(5)]
    stream = AsyncStream(source, StreamConfig(batch_size=2))
    assert [r async for r in stream.process(process_batch)] == [[0, 2], [4, 6], [8]]
    assert [r async for r in AsyncStream([[1, 2], [3]]).process(sum)] == [3, 3]


async def test_process_refuses_what_is_not_callable() -> None:
    """A value that is neither a pipe nor callable is a TypeError naming the fix."""
    with pytest.raises(TypeError, match=r"process\(\): expected a pipe or a function"):
        AsyncStream(range(3)).process(42)  # type: ignore[call-overload]


class Failing(AsyncBasePipe[int, int]):
    """Fails on every item, recording when it was called."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[float] = []

    async def process(self, data: int) -> int:
        self.calls.append(anyio.current_time())
        raise ValueError(f"cannot {data}")


async def test_retry_attempts_zero_tries_once() -> None:
    """retry_attempts=0 means one try (0.2.0 failed every item without trying)."""
    pipe = Failing()
    with pytest.raises(PipeError, match="stage 'Failing' failed: ValueError: cannot 1") as info:
        async for _ in AsyncStream([1], StreamConfig(retry_attempts=0)).process(pipe):
            pass
    assert isinstance(info.value, StreamError)
    assert pipe.calls == [0.0]


async def test_retry_attempts_and_delay_as_in_0_2_0() -> None:
    """retry_attempts counts tries; the waits are 0.2.0's retry_delay * n."""
    pipe = Failing()
    config = StreamConfig(retry_attempts=3, retry_delay=0.5)
    with pytest.raises(StreamError, match="cannot 1"):
        async for _ in AsyncStream([1], config).process(pipe):
            pass
    assert pipe.calls == [0.0, 0.5, 1.5]


async def test_no_config_means_the_0_2_0_defaults() -> None:
    """Without a config, process() tries an item three times, 1 s then 2 s apart."""
    pipe = Failing()
    with pytest.raises(StreamError, match="cannot 1"):
        async for _ in AsyncStream([1]).process(pipe):
            pass
    assert pipe.calls == [0.0, 1.0, 3.0]


async def test_batches_are_not_retried_as_in_0_2_0() -> None:
    """0.2.0 retried items only: a failing batch fails at once."""
    calls: list[list[int]] = []

    async def fail(batch: list[int]) -> int:
        calls.append(batch)
        raise ValueError("no")

    with pytest.raises(StreamError, match="stage 'fail' failed: ValueError: no") as info:
        async for _ in AsyncStream([1, 2], StreamConfig(batch_size=2)).process(fail):
            pass
    assert (calls, info.value.item, anyio.current_time()) == ([[1, 2]], [1, 2], 0.0)


async def test_metrics_dict_reports_the_latest_run() -> None:
    """metrics_dict() on the stream 0.2.0 code created counts the run of process()."""
    stream = AsyncStream(range(7), StreamConfig(batch_size=3))
    assert stream.metrics_dict() == {"buffer_size": 0, "metrics": {**COUNTS, "stages": {}}}
    assert [r async for r in stream.process(Total())] == [3, 12, 6]
    assert stream.metrics_dict() == {
        "buffer_size": 0,
        "metrics": {
            **counts(items_in=10, items_out=6),
            "stages": {
                "batch": counts(items_in=7, items_out=3),
                "Total": counts(items_in=3, items_out=3),
            },
        },
    }


async def test_metrics_tell_stages_of_the_same_name_apart() -> None:
    """Two stages with one name are reported as 'name' and 'name#2'."""
    stream = AsyncStream(range(4)).tumbling_window(2).tumbling_window(2)
    assert stream.buffer == []
    assert [w async for w in stream] == [[[0, 1], [2, 3]]]
    assert stream.metrics_dict()["metrics"]["stages"] == {
        "tumbling_window": counts(items_in=4, items_out=2),
        "tumbling_window#2": counts(items_in=2, items_out=1),
    }


async def test_buffer_and_buffer_size_show_the_open_batch() -> None:
    """While a batch is open, buffer lists its items and buffer_size counts them."""
    stream = AsyncStream(ScriptedSource([(0, 1), (0, 2), (0, 3), (1, 4)]))
    results = stream.through(_batches(5))
    seen: list[Any] = []
    async with anyio.create_task_group() as tg:

        async def look() -> None:
            await anyio.sleep(0.5)
            seen.append((stream.buffer, stream.metrics_dict()["buffer_size"]))

        tg.start_soon(look)
        assert [b async for b in results] == [[1, 2, 3, 4]]
    assert seen == [([1, 2, 3], 3)]
    assert (stream.buffer, stream.metrics_dict()["buffer_size"]) == ([], 0)


def _batches(size: int) -> Any:
    from rivusio.streams import BatchStreamPipe

    return BatchStreamPipe(size)


async def test_close_stops_the_run_and_marks_the_stream_closed() -> None:
    """await close() from the loop stops the stream; is_closed() says so."""

    async def endless() -> AsyncIterator[int]:
        n = 0
        while True:
            yield n
            n += 1
            await anyio.sleep(0.25)

    stream = AsyncStream(endless())
    windows = stream.time_window(1.0)
    assert not stream.is_closed()
    seen: list[list[int]] = []
    async for window in windows:
        seen.append(window)
        if len(seen) == 2:
            await stream.close()
    assert seen == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert stream.is_closed()
    assert windows.is_closed()
    assert anyio.current_time() == 2.0


async def test_close_without_a_run_only_marks_the_stream() -> None:
    """close() before any run just marks the stream closed."""
    stream = AsyncStream(range(3))
    await stream.close()
    assert stream.is_closed()


# --- SyncStream --------------------------------------------------------------------------------


def test_sync_count_windows() -> None:
    """tumbling_window and sliding_window on SyncStream give the same windows."""
    assert list(SyncStream(range(7)).tumbling_window(3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(SyncStream(range(6)).sliding_window(3, 2)) == [[0, 1, 2], [2, 3, 4]]
    assert list(SyncStream(range(6)).sliding_window(3, 2, emit_partial=True)) == [
        [0, 1, 2],
        [2, 3, 4],
        [4, 5],
    ]


def test_sync_time_window_closes_while_the_source_blocks() -> None:
    """A window closes on its timer while a blocking source waits (real clock)."""
    arrived: list[tuple[float, list[str]]] = []

    def slow() -> Iterator[str]:
        yield "a"
        yield "b"
        time.sleep(0.6)
        yield "c"

    start = time.monotonic()
    for window in SyncStream(slow()).time_window(0.2):
        arrived.append((time.monotonic() - start, window))
    assert [window for _, window in arrived] == [["a", "b"], ["c"]]
    assert 0.15 <= arrived[0][0] < 0.5
    assert arrived[1][0] >= 0.6


def test_sync_process_batches_windows_and_items() -> None:
    """SyncStream.process honours batch_size, then window_size, then runs per item."""
    assert list(SyncStream(range(7), StreamConfig(batch_size=3)).process(SyncTotal())) == [
        3,
        12,
        6,
    ]
    windowed = SyncStream(range(7), StreamConfig(window_size=timedelta(minutes=1)))
    assert list(windowed.process(SyncTotal())) == [21]
    assert list(SyncStream([[1], [2, 3]]).process(SyncTotal())) == [1, 5]
    assert list(SyncStream(range(4), StreamConfig(batch_size=2)).process(len)) == [2, 2]


def test_sync_retry_attempts_zero_tries_once() -> None:
    """retry_attempts=0 means one try on SyncStream too."""
    calls: list[int] = []

    def fail(data: int) -> int:
        calls.append(data)
        raise ValueError(f"cannot {data}")

    with pytest.raises(PipeError, match="stage 'fail' failed: ValueError: cannot 1"):
        list(SyncStream([1], StreamConfig(retry_attempts=0)).process(fail))
    assert calls == [1]


def test_sync_metrics_with_block_and_close() -> None:
    """metrics_dict() counts the latest run; leaving a with block closes the stream."""
    with SyncStream(range(5), StreamConfig(batch_size=2)) as stream:
        assert not stream.is_closed()
        assert list(stream.process(SyncTotal())) == [1, 5, 4]
        assert stream.metrics_dict()["metrics"]["stages"] == {
            "batch": counts(items_in=5, items_out=3),
            "SyncTotal": counts(items_in=3, items_out=3),
        }
        assert stream.buffer == []
    assert stream.is_closed()


def test_sync_inline_runs_are_counted_too() -> None:
    """A SyncStream of sync pipes runs inline; its counts are reported the same way."""
    stream = SyncStream([[1, 2], [3]])
    assert list(stream.process(SyncTotal())) == [3, 3]
    assert stream.metrics_dict() == {
        "buffer_size": 0,
        "metrics": {
            **counts(items_in=2, items_out=2),
            "stages": {"SyncTotal": counts(items_in=2, items_out=2)},
        },
    }
    stream.close()
    assert stream.is_closed()
