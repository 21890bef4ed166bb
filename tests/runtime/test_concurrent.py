"""Per-stage concurrency: order, exactly-once delivery, the in-flight bound, errors, offload."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivusio import (
    AsyncBasePipe,
    AsyncStream,
    ConfigError,
    DeadLetter,
    RetryConfig,
    StreamError,
    SyncStream,
)
from rivusio.runtime._concurrent import ConcurrentStage
from rivusio.runtime._plan import Plan, policy_of
from rivusio.streams import StreamPipe, map, scan, take
from rivusio.testing import collect_timed
from tests.strategies import eighths

from ..helpers import Double, FailOn, Hooks, Inc


class Sleepy(AsyncBasePipe[tuple[int, float], int]):
    """Sleeps each item's delay, counting calls at once and lifecycle events; returns the id."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.running = 0
        self.most = 0
        self.started = 0
        self.finished = 0
        self.events: list[str] = []

    async def setup(self) -> None:
        self.events.append("setup")

    async def teardown(self) -> None:
        self.events.append("teardown")

    async def process(self, data: tuple[int, float]) -> int:
        self.running += 1
        self.started += 1
        self.most = max(self.most, self.running)
        try:
            await anyio.sleep(data[1])
        finally:
            self.running -= 1
        self.finished += 1
        return data[0]


def square(x: int) -> int:
    """A module-level function, so that worker processes can unpickle it."""
    return x * x


def fail_on_three(x: int) -> int:
    """Picklable and failing for 3."""
    if x == 3:
        raise ValueError("three")
    return x


# -- order and exactly-once ---------------------------------------------------------------


@given(
    delays=st.lists(eighths(0.0, 3.0), max_size=60),
    concurrency=st.integers(1, 12),
    ordered=st.booleans(),
)
async def test_every_item_exactly_once_in_order_unless_unordered(
    delays: list[float], concurrency: int, ordered: bool
) -> None:
    """Random per-item delays: each item comes out once; in input order when ordered."""
    pipe = Sleepy()
    items = list(enumerate(delays))
    stream = AsyncStream(items).through(pipe, concurrency=concurrency, ordered=ordered)
    results = [r async for r in stream]
    if ordered:
        assert results == list(range(len(delays)))
    else:
        assert sorted(results) == list(range(len(delays)))
    assert pipe.most <= concurrency
    assert pipe.started == pipe.finished == len(delays)


@given(
    delays=st.lists(eighths(0.0, 2.0), min_size=1, max_size=40),
    bad=st.sets(st.integers(0, 39)),
    concurrency=st.integers(2, 8),
    ordered=st.booleans(),
)
async def test_skip_and_dead_letter_account_for_every_item_once(
    delays: list[float], bad: set[int], concurrency: int, ordered: bool
) -> None:
    """Each item is emitted, skipped or dead-lettered exactly once under concurrency."""
    letters: list[DeadLetter] = []

    class Picky(Sleepy):
        async def process(self, data: tuple[int, float]) -> int:
            index = await super().process(data)
            if index in bad:
                raise ValueError(index)
            return index

    stream = AsyncStream(list(enumerate(delays))).through(
        Picky(),
        concurrency=concurrency,
        ordered=ordered,
        on_error="dead_letter",
        dead_letter=letters,
    )
    results = [r async for r in stream]
    good = [i for i in range(len(delays)) if i not in bad]
    assert (results if ordered else sorted(results)) == good
    assert sorted(d.item[0] for d in letters) == [i for i in range(len(delays)) if i in bad]


async def test_in_flight_reaches_but_never_exceeds_the_concurrency() -> None:
    """With enough slow items, exactly N calls run at once."""
    pipe = Sleepy()
    items = [(i, 1.0) for i in range(20)]
    results = [r async for r in AsyncStream(items).through(map(pipe, concurrency=4))]
    assert results == list(range(20))
    assert pipe.most == 4


@pytest.mark.parametrize("ordered", [True, False])
async def test_ten_one_second_items_with_five_at_once_take_two_seconds(ordered: bool) -> None:
    """10 items sleeping 1 s each with concurrency=5 finish in exactly 2.0 s."""
    stream = AsyncStream([(i, 1.0) for i in range(10)]).through(
        Sleepy(), concurrency=5, ordered=ordered
    )
    timed = await collect_timed(stream)
    assert [t for t, _ in timed] == [1.0] * 5 + [2.0] * 5
    assert sorted(i for _, i in timed) == list(range(10))


async def test_unordered_delivers_in_completion_order() -> None:
    """`ordered=False` yields each output when its item finishes."""
    items = [(0, 3.0), (1, 1.0), (2, 2.0), (3, 0.5)]
    timed = await collect_timed(AsyncStream(items).through(Sleepy(), concurrency=4, ordered=False))
    assert timed == [(0.5, 3), (1.0, 1), (2.0, 2), (3.0, 0)]


async def test_ordered_holds_results_back_only_as_order_requires() -> None:
    """A slow first item: later ones still run (up to 2N admitted), then wait their turn."""
    items = [(0, 10.0)] + [(i, 1.0) for i in range(1, 10)]
    timed = await collect_timed(AsyncStream(items).through(Sleepy(), concurrency=2))
    assert timed == [
        (10.0, 0),
        (10.0, 1),
        (10.0, 2),
        (10.0, 3),
        (11.0, 4),
        (11.0, 5),
        (12.0, 6),
        (12.0, 7),
        (13.0, 8),
        (13.0, 9),
    ]


async def test_a_slow_item_does_not_stop_the_others_unordered() -> None:
    """Unordered, one slow item occupies one worker while the rest flow through the others."""
    items = [(0, 10.0)] + [(i, 1.0) for i in range(1, 10)]
    timed = await collect_timed(AsyncStream(items).through(Sleepy(), concurrency=2, ordered=False))
    assert timed == [(float(i), i) for i in range(1, 10)] + [(10.0, 0)]


async def test_chained_pipes_run_per_item_inside_the_concurrent_stage() -> None:
    """A pipeline given concurrency runs each item through all its pipes, in one stage."""
    plan = Plan.build([(map(Double() >> Inc(), concurrency=3), policy_of(None))], None)
    assert [type(stage).__name__ for stage in plan.stages] == ["ConcurrentStage"]
    stage = plan.stages[0]
    assert isinstance(stage, ConcurrentStage)
    assert [step.name for step in stage.steps] == ["Double", "Inc"]
    results = [r async for r in AsyncStream(range(50)).through(Double() >> Inc(), concurrency=3)]
    assert results == [x * 2 + 1 for x in range(50)]


async def test_concurrency_one_stays_fused() -> None:
    """`map(fn)` with the defaults is a step fused with its neighbours: no stage of its own."""
    plan = Plan.build([(Double() >> map(square) >> Inc(), policy_of(None))], None)
    assert [stage.name for stage in plan.stages] == ["Double >> map(square) >> Inc"]


async def test_sync_stream_runs_concurrent_stages() -> None:
    """`SyncStream.through(pipe, concurrency=N)` runs on the loop and keeps order."""

    def run() -> list[int]:
        stream = SyncStream([(i, 0.001 * (5 - i % 5)) for i in range(20)]).through(
            Sleepy(), concurrency=4
        )
        return list(stream)

    assert await anyio.to_thread.run_sync(run) == list(range(20))


# -- errors -------------------------------------------------------------------------------


async def test_raise_delivers_every_earlier_output_then_the_stream_error() -> None:
    """Under "raise", outputs that precede the failed item in order arrive, then the error."""

    class FailFive(Sleepy):
        async def process(self, data: tuple[int, float]) -> int:
            index = await super().process(data)
            if index == 5:
                raise ValueError("five")
            return index

    items = [(i, 1.0 if i < 5 else 0.25) for i in range(10)]
    seen: list[int] = []
    with pytest.raises(StreamError, match="stage 'FailFive' failed: ValueError: five") as info:
        async for r in AsyncStream(items).through(FailFive(), concurrency=4):
            seen.append(r)
    assert seen == [0, 1, 2, 3, 4]
    assert info.value.stage == "FailFive"
    assert info.value.item == (5, 0.25)


async def test_handle_error_retries_and_skip_apply_per_item() -> None:
    """A pipe's retries and handle_error work under concurrency as in a fused stage."""
    tries: dict[int, int] = {}

    class Flaky(AsyncBasePipe[int, int]):
        async def process(self, data: int) -> int:
            tries[data] = tries.get(data, 0) + 1
            await anyio.sleep(1)
            if data % 3 == 0 and tries[data] < 2:
                raise TimeoutError("once")
            if data == 4:
                raise KeyError(data)
            return data * 10

        async def handle_error(self, error: Exception, data: int) -> int:
            if isinstance(error, KeyError):
                return -1
            raise error

    stream = AsyncStream(range(7)).through(
        Flaky(), concurrency=7, retry=RetryConfig(attempts=2, delay=0.5)
    )
    assert [r async for r in stream] == [0, 10, 20, 30, -1, 50, 60]
    assert tries == {0: 2, 1: 1, 2: 1, 3: 2, 4: 2, 5: 1, 6: 2}
    assert anyio.current_time() == 2.5


async def test_skip_policy_on_a_sync_pipe_under_concurrency() -> None:
    """`on_error="skip"` drops the failing items of a sync pipe and keeps the order."""
    stream = AsyncStream(range(10)).through(FailOn([2, 7]), concurrency=3, on_error="skip")
    assert [r async for r in stream] == [0, 1, 3, 4, 5, 6, 8, 9]


async def test_a_failing_dead_letter_sink_fails_the_stream_in_order() -> None:
    """An error outside the policy (the sink itself raised) stops the stream after the
    outputs that precede the item."""

    def full(letter: DeadLetter) -> None:
        raise OSError("sink full")

    seen: list[int] = []
    with pytest.raises(StreamError, match="stage 'FailOn' failed: OSError: sink full"):
        async for r in AsyncStream(range(6)).through(
            FailOn([3]), concurrency=2, on_error="dead_letter", dead_letter=full
        ):
            seen.append(r)
    assert seen == [0, 1, 2]


async def test_a_stream_pipe_with_only_process_item_runs_concurrently() -> None:
    """A StreamPipe that overrides process_item is per-item, so it may run N at once."""

    class Slow(StreamPipe[int, int]):
        async def process_item(self, item: int) -> int:
            await anyio.sleep(1)
            return item * 3

    assert [r async for r in AsyncStream(range(6)).through(Slow(), concurrency=3)] == [
        0,
        3,
        6,
        9,
        12,
        15,
    ]
    assert anyio.current_time() == 2.0


# -- cancellation and lifecycle -----------------------------------------------------------


@pytest.mark.parametrize("style", ["async_with", "bare"])
async def test_outside_cancellation_cancels_in_flight_work(style: str) -> None:
    """`move_on_after` stops the stream at the deadline; running calls are cancelled."""
    pipe = Sleepy()
    seen: list[int] = []
    stream = AsyncStream([(i, 1.0) for i in range(100)]).through(pipe, concurrency=3)
    with anyio.move_on_after(2.5):
        if style == "async_with":
            async with stream as results:
                async for r in results:
                    seen.append(r)
        else:
            async for r in stream:
                seen.append(r)
    with anyio.fail_after(1):
        while pipe.events != ["setup", "teardown"]:
            await anyio.lowlevel.checkpoint()
    assert anyio.current_time() == 2.5
    assert seen == [0, 1, 2, 3, 4, 5]
    assert (pipe.started, pipe.finished, pipe.running) == (9, 6, 0)


async def test_consumer_break_stops_the_workers() -> None:
    """Leaving an `async with` early cancels the workers and tears the pipes down."""
    hooks = Hooks()
    async with AsyncStream(range(1000)).through(hooks >> Inc(), concurrency=8) as results:
        async for r in results:
            if r == 10:
                break
    assert hooks.events == ["setup", "teardown"]


# -- configuration errors -----------------------------------------------------------------


def test_bad_concurrency_and_offload_are_config_errors() -> None:
    """Both problems are listed, each naming the stage."""
    with pytest.raises(ConfigError) as info:
        map(square, concurrency=0, offload="fork")  # type: ignore[call-overload]
    assert info.value.problems == (
        "map(square): offload must be None, 'thread' or 'process' (got 'fork')",
        "map(square): concurrency must be an int >= 1 (got 0)",
    )
    with pytest.raises(ConfigError, match=r"^Double: concurrency must be an int >= 1 \(got -2\)"):
        AsyncStream(range(3)).through(Double(), concurrency=-2)


async def test_whole_stream_stages_cannot_run_concurrently() -> None:
    """A pipe with process_stream, or a stateful operator, is refused with the fix."""

    class Window(StreamPipe[int, int]):
        async def process_stream(self, stream: Any) -> Any:
            async for item in stream:
                yield item

    with pytest.raises(TypeError, match=r"'Window' is a stream stage .* own"):
        async for _ in AsyncStream(range(3)).through(Window(), concurrency=2):
            pass
    with pytest.raises(
        TypeError, match=r"^map\(StreamPipeline\): 'scan\(add\)' keeps state across items"
    ):
        map(Double() >> scan(lambda a, b: a + b, 0, name="scan(add)"), concurrency=2)
    with pytest.raises(TypeError, match=r"'take\(2\)' keeps state across items or has a task"):
        map(Inc() >> take(2), concurrency=2)
    nested = map(map(square) >> Double(), concurrency=2)
    assert [r async for r in AsyncStream(range(4)).through(nested)] == [0, 2, 8, 18]


async def test_offload_of_an_async_function_is_refused() -> None:
    """Async functions do not block: offload= is a mistake, reported when the stream starts."""

    async def fetch(x: int) -> int:
        return x

    with pytest.raises(TypeError, match=r"^stage 'map\(fetch\)': offload='thread' runs sync"):
        async for _ in AsyncStream(range(3)).through(map(fetch, offload="thread")):
            pass


async def test_process_offload_needs_a_picklable_function() -> None:
    """A lambda cannot be sent to a worker process; the error says what to do."""
    with pytest.raises(
        TypeError, match=r"must be picklable, got <function .*<lambda>.*module level"
    ):
        async for _ in AsyncStream(range(3)).through(map(lambda x: x, offload="process")):
            pass


# -- offload (real clock) -----------------------------------------------------------------


@pytest.mark.real_clock
async def test_thread_offload_runs_blocking_calls_in_parallel_bounded_by_n() -> None:
    """8 blocking 50 ms calls with 4 threads take about 0.1 s; at most 4 run at once."""
    lock = threading.Lock()
    running = most = 0

    def block(x: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return x * 2

    started = time.perf_counter()
    stream = AsyncStream(range(8)).through(map(block, concurrency=4, offload="thread"))
    results = [r async for r in stream]
    elapsed = time.perf_counter() - started
    assert results == [x * 2 for x in range(8)]
    assert most == 4
    assert 0.1 <= elapsed < 0.35


@pytest.mark.real_clock
async def test_thread_offload_keeps_the_event_loop_free() -> None:
    """While a thread blocks, other tasks keep running."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        stream = AsyncStream([0.2]).through(map(time.sleep, offload="thread"))
        assert [r async for r in stream] == [None]
        tg.cancel_scope.cancel()
    assert ticks >= 5


@pytest.mark.real_clock
async def test_cancelled_thread_offload_is_abandoned() -> None:
    """Cancellation does not wait for a blocked thread: it is left to finish on its own."""
    release = threading.Event()
    finished = threading.Event()

    def wait(_x: int) -> None:
        release.wait(5)
        finished.set()

    started = time.perf_counter()
    with anyio.move_on_after(0.05):
        async for _ in AsyncStream([1]).through(map(wait, offload="thread")):
            pass
    assert time.perf_counter() - started < 1.0
    assert not finished.is_set()
    release.set()
    await anyio.to_thread.run_sync(finished.wait, 5)


@pytest.mark.real_clock
async def test_process_offload_computes_in_worker_processes() -> None:
    """`offload="process"` runs a picklable function in worker processes, in order."""
    stream = AsyncStream(range(12)).through(map(square, concurrency=2, offload="process"))
    assert [r async for r in stream] == [x * x for x in range(12)]


@pytest.mark.real_clock
async def test_process_offload_errors_follow_the_policy() -> None:
    """An exception in a worker process reaches the error policy like any other."""
    letters: list[DeadLetter] = []
    stream = AsyncStream(range(5)).through(
        map(fail_on_three, offload="process", on_error="dead_letter", dead_letter=letters)
    )
    assert [r async for r in stream] == [0, 1, 2, 4]
    assert [(d.item, d.stage, repr(d.error)) for d in letters] == [
        (3, "map(fail_on_three)", "ValueError('three')")
    ]


def test_sync_stream_offloads_to_threads() -> None:
    """A SyncStream runs a thread-offloaded map on its background loop."""
    stream = SyncStream(range(6)).through(map(math.sqrt, concurrency=3, offload="thread"))
    assert list(stream) == [math.sqrt(x) for x in range(6)]
