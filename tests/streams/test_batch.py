"""BatchStreamPipe: closing by size, max_wait and idle_timeout on virtual time, errors, flushes."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivusio import AsyncStream, ConfigError, DeadLetter, RetryConfig, StreamError
from rivusio.streams import BatchStreamPipe
from rivusio.testing import ScriptedSource, collect_timed
from tests.strategies import eighths

Timed = list[tuple[float, Any]]


async def run(pipe: BatchStreamPipe[Any, Any], source: Any) -> Timed:
    """Run *pipe* over *source*; return (emission time, output) pairs."""
    return await collect_timed(AsyncStream(source).through(pipe))


class Recording(BatchStreamPipe[int, list[int]]):
    """Records every batch handed to process_batch; fails on batches holding a bad item."""

    def __init__(self, batch_size: int, bad: tuple[int, ...] = (), **options: Any) -> None:
        super().__init__(batch_size, **options)
        self.calls: list[list[int]] = []
        self.bad = bad

    async def process_batch(self, batch: list[int]) -> list[int]:
        self.calls.append(list(batch))
        for item in batch:
            if item in self.bad:
                raise ValueError(f"bad item {item}")
        return batch


# --- closing rules -----------------------------------------------------------------------------


async def test_batches_close_at_batch_size_and_the_partial_last_is_flushed() -> None:
    """A full batch is emitted at once; the partial last batch comes at end of stream."""
    source = ScriptedSource([(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (0, 6)])
    assert await run(BatchStreamPipe(3), source) == [
        (0.0, [0, 1, 2]),
        (1.0, [3, 4, 5]),
        (1.0, [6]),
    ]


async def test_end_of_stream_flush_happens_when_the_source_ends() -> None:
    """Without timers, the partial batch waits for the end of the stream, then comes out."""
    source = ScriptedSource([(0, "a"), (0.5, "b")], end_delay=3)
    assert await run(BatchStreamPipe(10), source) == [(3.5, ["a", "b"])]


async def test_max_wait_closes_the_batch_while_the_source_is_idle() -> None:
    """A batch closes max_wait after its first item even though no further item arrives."""
    source = ScriptedSource([(0, "a"), (0.25, "b"), (5, "c")], end_delay=10)
    assert await run(BatchStreamPipe(10, max_wait=1.0), source) == [
        (1.0, ["a", "b"]),
        (6.25, ["c"]),
    ]


async def test_max_wait_counts_from_the_first_item_not_the_latest() -> None:
    """Items arriving steadily do not extend max_wait."""
    source = ScriptedSource.spaced(range(6), 0.375, end_delay=10)
    assert await run(BatchStreamPipe(100, max_wait=timedelta(seconds=1)), source) == [
        (1.0, [0, 1, 2]),
        (2.125, [3, 4, 5]),
    ]


async def test_idle_timeout_counts_from_the_latest_item() -> None:
    """A batch closes idle_timeout after its latest item: a quiet source flushes it."""
    source = ScriptedSource([(0, 0), (0.25, 1), (0.25, 2), (2, 3), (0.25, 4)], end_delay=10)
    assert await run(BatchStreamPipe(100, idle_timeout=0.5), source) == [
        (1.0, [0, 1, 2]),
        (3.25, [3, 4]),
    ]


async def test_whichever_rule_comes_first_closes_the_batch() -> None:
    """Size, max_wait and idle_timeout all apply; the earliest one closes the batch."""
    script = [(0, 0), (0, 1), (0, 2), (0.25, 3), (0.5, 4), (2, 5), (0.125, 6), (0.125, 7)]
    source = ScriptedSource(script, end_delay=10)
    pipe: BatchStreamPipe[int, list[int]] = BatchStreamPipe(3, 0.875, 0.625)
    assert await run(pipe, source) == [
        (0.0, [0, 1, 2]),  # full
        (1.125, [3, 4]),  # max_wait: first item at 0.25, closes at 0.25 + 0.875
        (3.0, [5, 6, 7]),  # full (size 3) before either timer
    ]


async def test_idle_timeout_before_max_wait() -> None:
    """A batch whose source goes quiet closes on idle_timeout well before max_wait."""
    source = ScriptedSource([(0, 0), (0.25, 1), (10, 2)], end_delay=1)
    pipe: BatchStreamPipe[int, list[int]] = BatchStreamPipe(100, 5, 0.5)
    assert await run(pipe, source) == [(0.75, [0, 1]), (10.75, [2])]


async def test_the_brief_idle_source_example() -> None:
    """3 items, 1 s of silence, 3 more: the first batch closes at max_wait, not at 1 s."""
    source = ScriptedSource([(0, 1), (0, 2), (0, 3), (1, 4), (0, 5), (0, 6)])
    assert await run(BatchStreamPipe(10, max_wait=0.25), source) == [
        (0.25, [1, 2, 3]),
        (1.0, [4, 5, 6]),
    ]


async def test_never_an_empty_batch() -> None:
    """Timers do not produce empty batches during long silences or at end of stream."""
    source = ScriptedSource([(0, "a"), (10, "b")], end_delay=10)
    outputs = await run(BatchStreamPipe(2, max_wait=0.5, idle_timeout=0.25), source)
    assert outputs == [(0.25, ["a"]), (10.25, ["b"])]


async def test_a_sync_source_is_batched_by_size_only() -> None:
    """A plain iterable source gives full batches in order and the partial last one."""
    pipe: BatchStreamPipe[int, list[int]] = BatchStreamPipe(1000)
    outputs = [b async for b in AsyncStream(range(2500)).through(pipe)]
    assert [len(b) for b in outputs] == [1000, 1000, 500]
    assert [x for b in outputs for x in b] == list(range(2500))


# --- subclassing -------------------------------------------------------------------------------


async def test_guide_style_subclass_with_process_items() -> None:
    """A plain subclass calling super().__init__(batch_size) uses process_items per batch."""

    class BatchProcessor(BatchStreamPipe[dict[str, int], list[dict[str, int]]]):
        def __init__(self, batch_size: int) -> None:
            super().__init__(batch_size)

        async def process_item(self, item: dict[str, int]) -> dict[str, int]:
            return {"double": item["n"] * 2}

        async def process_batch(self, batch: list[dict[str, int]]) -> list[dict[str, int]]:
            return await self.process_items(batch)

    pipe = BatchProcessor(2)
    source = [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [b async for b in AsyncStream(source).through(pipe)] == [
        [{"double": 2}, {"double": 4}],
        [{"double": 6}],
    ]
    assert (pipe.name, pipe.batch_size, pipe.max_wait, pipe.idle_timeout) == (
        "BatchProcessor",
        2,
        None,
        None,
    )


async def test_one_output_per_batch_and_a_list_is_not_flattened() -> None:
    """process_batch's result is one output, whatever its type."""

    class Total(BatchStreamPipe[int, int]):
        async def process_batch(self, batch: list[int]) -> int:
            return sum(batch)

    assert [r async for r in AsyncStream(range(7)).through(Total(3))] == [3, 12, 6]


async def test_attrs_subclass_with_its_own_fields() -> None:
    """An @attrs.define subclass declares fields next to the batch options."""
    import attrs

    @attrs.define(eq=False)
    class Scaled(BatchStreamPipe[int, list[int]]):
        factor: int = 1

        async def process_batch(self, batch: list[int]) -> list[int]:
            return [x * self.factor for x in batch]

    pipe = Scaled(batch_size=2, factor=10, name="scale")
    assert [r async for r in AsyncStream(range(3)).through(pipe)] == [[0, 10], [20]]


async def test_setup_and_teardown_run_once() -> None:
    """The pipe's setup and teardown run around the stage."""
    events: list[str] = []

    class Hooked(BatchStreamPipe[int, list[int]]):
        async def setup(self) -> None:
            events.append("setup")

        async def teardown(self) -> None:
            events.append("teardown")

    assert [b async for b in AsyncStream(range(3)).through(Hooked(2))] == [[0, 1], [2]]
    assert events == ["setup", "teardown"]


async def test_a_sync_process_batch_is_refused_with_the_fix() -> None:
    """A plain 'def process_batch' fails before the stream starts and says what to write."""

    class Wrong(BatchStreamPipe[int, int]):
        def process_batch(self, batch: list[int]) -> int:  # type: ignore[override]
            return len(batch)

    with pytest.raises(
        TypeError, match=r"stage 'Wrong': process_batch\(\) must be an 'async def'"
    ):
        async for _ in AsyncStream(range(3)).through(Wrong(2)):
            pass


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0,), {}, "batch_size: must be >= 1 (got 0)"),
        ((-3,), {}, "batch_size: must be >= 1 (got -3)"),
        (("10",), {}, "batch_size: must be an int number of items (got '10')"),
        ((True,), {}, "batch_size: must be an int number of items (got True)"),
        ((2.5,), {}, "batch_size: must be an int number of items (got 2.5)"),
        ((5,), {"max_wait": 0}, "max_wait: must be > 0 (got 0)"),
        ((5,), {"max_wait": -1.0}, "max_wait: must be > 0 (got -1.0)"),
        ((5,), {"max_wait": timedelta(0)}, "max_wait: must be > 0 (got datetime.timedelta(0))"),
        ((5,), {"max_wait": math.inf}, "max_wait: must be finite (got inf)"),
        (
            (5,),
            {"max_wait": "1s"},
            "max_wait: must be a number of seconds or a timedelta (got '1s')",
        ),
        ((5,), {"idle_timeout": 0}, "idle_timeout: must be > 0 (got 0)"),
        ((5,), {"idle_timeout": math.nan}, "idle_timeout: must be finite (got nan)"),
    ],
)
def test_bad_options_are_config_errors_naming_the_option(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    """Each bad option raises ConfigError naming it, the expectation and the value."""
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        BatchStreamPipe(*args, **kwargs)


def test_every_bad_option_is_listed_at_once() -> None:
    """ConfigError lists all problems, one per line."""
    with pytest.raises(ConfigError) as info:
        BatchStreamPipe(0, max_wait=-1, idle_timeout="x")  # type: ignore[arg-type]
    assert info.value.problems == (
        "batch_size: must be >= 1 (got 0)",
        "max_wait: must be > 0 (got -1)",
        "idle_timeout: must be a number of seconds or a timedelta (got 'x')",
    )


def test_durations_accept_seconds_and_timedelta() -> None:
    """max_wait and idle_timeout take float seconds or a timedelta, kept as given."""
    pipe: BatchStreamPipe[int, list[int]] = BatchStreamPipe(
        5, timedelta(milliseconds=250), 2, name="batch"
    )
    assert (pipe.batch_size, pipe.max_wait, pipe.idle_timeout, pipe.name) == (
        5,
        timedelta(milliseconds=250),
        2,
        "batch",
    )


# --- errors ------------------------------------------------------------------------------------


async def test_raise_policy_delivers_earlier_batches_then_stream_error() -> None:
    """A failing batch stops the stream; earlier batches arrive first; the item is the batch."""
    pipe = Recording(2, bad=(3,))
    seen: list[list[int]] = []
    with pytest.raises(
        StreamError, match="stage 'Recording' failed: ValueError: bad item 3"
    ) as info:
        async for batch in AsyncStream(range(1, 6)).through(pipe):
            seen.append(batch)
    assert seen == [[1, 2]]
    assert info.value.stage == "Recording"
    assert info.value.item == [3, 4]
    assert isinstance(info.value.__cause__, ValueError)


async def test_nothing_is_flushed_after_a_failure() -> None:
    """After a failing batch the stage stops: the open batch is never processed."""
    pipe = Recording(2, bad=(3,))
    source = ScriptedSource.spaced(range(1, 6), 0.25)
    with pytest.raises(StreamError):
        async for _ in AsyncStream(source).through(pipe):
            pass
    assert pipe.calls == [[1, 2], [3, 4]]


async def test_skip_policy_drops_the_failed_batch_and_counts_it() -> None:
    """on_error='skip' drops a failing batch and goes on with the next."""
    pipe = Recording(2, bad=(3,), on_error="skip")
    stream = AsyncStream(range(1, 8)).through(pipe)
    assert [b async for b in stream] == [[1, 2], [5, 6], [7]]
    metrics = stream.metrics_dict()["metrics"]["stages"]["Recording"]
    assert (metrics["items_in"], metrics["items_out"], metrics["errors"], metrics["skipped"]) == (
        7,
        3,
        1,
        1,
    )


async def test_dead_letter_policy_sends_the_batch() -> None:
    """on_error='dead_letter' sends DeadLetter(batch, error, stage)."""
    letters: list[DeadLetter] = []
    pipe = Recording(2, bad=(4,), on_error="dead_letter", dead_letter=letters, name="bulk")
    assert [b async for b in AsyncStream(range(1, 6)).through(pipe)] == [[1, 2], [5]]
    assert [(d.item, d.stage, str(d.error)) for d in letters] == [([3, 4], "bulk", "bad item 4")]


async def test_retry_calls_process_batch_again_with_the_same_batch() -> None:
    """Retries re-run process_batch on the batch after the configured delay."""
    times: list[float] = []

    class Flaky(BatchStreamPipe[int, int]):
        async def process_batch(self, batch: list[int]) -> int:
            times.append(anyio.current_time())
            if len(times) < 3:
                raise TimeoutError("busy")
            return sum(batch)

    pipe = Flaky(3, retry=RetryConfig(attempts=3, delay=0.5, backoff=2.0))
    assert await run(pipe, range(3)) == [(1.5, 3)]
    assert times == [0.0, 0.5, 1.5]


async def test_handle_error_replaces_the_batch_output() -> None:
    """handle_error(error, batch) returns the output emitted for a failed batch."""

    class Guarded(Recording):
        async def handle_error(self, error: Exception, data: list[int]) -> list[int]:
            return [-len(data)]

    pipe = Guarded(2, bad=(3,))
    assert [b async for b in AsyncStream(range(1, 6)).through(pipe)] == [[1, 2], [-2], [5]]


async def test_cancellation_drops_the_open_batch() -> None:
    """An outer cancellation stops the stage; the open batch is not processed."""
    pipe = Recording(10, max_wait=5)
    seen: list[list[int]] = []
    with anyio.move_on_after(2):
        source = ScriptedSource.spaced(range(5), 0.25, end_delay=10)
        async for batch in AsyncStream(source).through(pipe):
            seen.append(batch)
    assert (seen, pipe.calls) == ([], [])
    assert anyio.current_time() == 2.0


# --- memory ------------------------------------------------------------------------------------


async def test_the_stage_holds_at_most_one_open_batch() -> None:
    """With a fast source and a slow consumer, the open batch never reaches batch_size."""
    held: list[int] = []
    stream = AsyncStream(range(10_000)).through(BatchStreamPipe[int, list[int]](7))

    async def sizes() -> None:
        while True:
            held.append(len(stream.buffer))
            await anyio.sleep(0.01)

    outputs: list[list[int]] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(sizes)
        async for batch in stream:
            outputs.append(batch)
            await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    assert [x for b in outputs for x in b] == list(range(10_000))
    assert max(held) < 7
    assert stream.metrics_dict()["buffer_size"] == 0


# --- properties --------------------------------------------------------------------------------


@given(
    gaps=st.lists(eighths(0, 2), max_size=40),
    batch_size=st.integers(1, 8),
    max_wait=st.none() | eighths(0.125, 2),
    idle_timeout=st.none() | eighths(0.125, 2),
)
async def test_batches_are_bounded_and_concatenate_to_the_input(
    gaps: list[float], batch_size: int, max_wait: float | None, idle_timeout: float | None
) -> None:
    """Batches are non-empty, hold at most batch_size items, keep order and lose nothing.

    Each batch also comes out no later than its timers allow and not before its last item.
    """
    source = ScriptedSource([(gap, index) for index, gap in enumerate(gaps)], end_delay=3)
    arrival = [due for due, _ in source.schedule]
    outputs = await run(BatchStreamPipe(batch_size, max_wait, idle_timeout), source)
    batches = [batch for _, batch in outputs]
    assert [item for batch in batches for item in batch] == list(range(len(gaps)))
    assert all(1 <= len(batch) <= batch_size for batch in batches)
    for at, batch in outputs:
        assert at >= arrival[batch[-1]]
        if max_wait is not None:
            assert at <= arrival[batch[0]] + max_wait
        if idle_timeout is not None:
            assert at <= arrival[batch[-1]] + idle_timeout


async def test_a_monitor_sees_the_batch_stage() -> None:
    """A stream's monitor reports the batch stage's counts and its processing times."""
    from rivusio.monitoring import PipelineMonitor

    monitor = PipelineMonitor()
    stream = AsyncStream(range(7)).through(BatchStreamPipe[int, list[int]](3, name="batch"))
    stream.set_monitor(monitor)
    assert [b async for b in stream] == [[0, 1, 2], [3, 4, 5], [6]]
    stage = monitor.get_metrics()["stages"]["batch"]
    assert (stage["items_in"], stage["items_out"], stage["processing_time"]["count"]) == (7, 3, 7)


async def test_a_batch_due_while_the_stage_was_busy_closes_when_it_is_free() -> None:
    """A batch whose max_wait passed during a slow process_batch is closed right after it."""

    class Slow(BatchStreamPipe[int, list[int]]):
        async def process_batch(self, batch: list[int]) -> list[int]:
            await anyio.sleep(1)
            return batch

    source = ScriptedSource([(0, 0), (0, 1), (0.25, 2), (0, 3), (0, 4)], end_delay=10)
    assert await run(Slow(2, max_wait=0.5), source) == [
        (1.0, [0, 1]),
        (2.0, [2, 3]),
        (3.0, [4]),
    ]


async def test_the_default_item_step_and_error_handler() -> None:
    """process_item returns the item; handle_error re-raises what it is given."""
    pipe: BatchStreamPipe[int, list[int]] = BatchStreamPipe(2)
    assert await pipe.process_items([1, 2]) == [1, 2]
    with pytest.raises(KeyError, match="lost"):
        await pipe.handle_error(KeyError("lost"), [1, 2])
