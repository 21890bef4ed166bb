"""Tests for rivusio.testing: virtual time on both backends, scripted sources, timed collection."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivusio.testing import (
    ScriptedSource,
    VirtualTimeLoop,
    assert_no_leaked_tasks,
    collect_timed,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

# Multiples of 1/8 second add up exactly in binary floating point, so sums can be compared
# with ==.
eighths = st.integers(min_value=0, max_value=800).map(lambda n: n / 8)


async def test_sleep_advances_virtual_time_exactly_and_instantly() -> None:
    """An hour-long sleep moves the clock by exactly 3600 s and takes almost no real time."""
    start = anyio.current_time()
    real_start = time.perf_counter()
    await anyio.sleep(3600)
    assert anyio.current_time() - start == 3600.0
    assert time.perf_counter() - real_start < 1.0


async def test_move_on_after_exits_at_exactly_its_deadline() -> None:
    """move_on_after(0.2) around a receive that never completes exits at exactly +0.2 s."""
    send, receive = anyio.create_memory_object_stream[int](0)
    async with send, receive:
        with anyio.move_on_after(0.2) as scope:
            await receive.receive()
    assert scope.cancelled_caught
    assert anyio.current_time() == 0.2


async def test_successive_sleeps_add_up() -> None:
    """Sleeps of 0.5, 1.25 and 0 s leave the clock at exactly 1.75 s."""
    for delay in (0.5, 1.25, 0):
        await anyio.sleep(delay)
    assert anyio.current_time() == 1.75


async def test_concurrent_sleepers_wake_in_deadline_order() -> None:
    """Three tasks sleeping 3, 1 and 2 s wake in deadline order at exactly those times."""
    woke: list[tuple[float, str]] = []

    async def sleeper(name: str, delay: float) -> None:
        await anyio.sleep(delay)
        woke.append((anyio.current_time(), name))

    async with anyio.create_task_group() as tg:
        tg.start_soon(sleeper, "c", 3)
        tg.start_soon(sleeper, "a", 1)
        tg.start_soon(sleeper, "b", 2)
    assert woke == [(1.0, "a"), (2.0, "b"), (3.0, "c")]


async def test_sleep_longer_than_a_day_is_exact() -> None:
    """A three-day sleep (longer than asyncio's longest selector wait) ends at exactly 259200 s."""
    await anyio.sleep(3 * 24 * 3600)
    assert anyio.current_time() == 259200.0


@pytest.mark.parametrize("run", [1, 2])
async def test_each_test_starts_with_a_fresh_clock(run: int) -> None:
    """Both runs of this test see the clock at 0.0 at the start, though each sleeps 10 s."""
    assert anyio.current_time() == 0.0
    await anyio.sleep(10 * run)
    assert anyio.current_time() == 10.0 * run


async def test_worker_thread_result_wakes_the_virtual_loop() -> None:
    """to_thread.run_sync blocks for real while no timer is pending and leaves the clock alone."""

    def work() -> str:
        time.sleep(0.05)
        return "done"

    assert await anyio.to_thread.run_sync(work) == "done"
    assert anyio.current_time() == 0.0


async def test_from_thread_call_wakes_the_virtual_loop() -> None:
    """A worker thread can call back into the event loop while it waits with no timer pending."""
    seen: list[float] = []

    def record_time() -> int:
        seen.append(anyio.current_time())
        return 7

    def work() -> int:
        time.sleep(0.05)
        return anyio.from_thread.run_sync(record_time)

    assert await anyio.to_thread.run_sync(work) == 7
    assert seen == [0.0]


@pytest.mark.real_clock
async def test_real_clock_marker_runs_on_real_time() -> None:
    """A test marked real_clock sees real time pass: a 0.05 s sleep takes at least 0.05 s."""
    real_start = time.perf_counter()
    start = anyio.current_time()
    await anyio.sleep(0.05)
    assert anyio.current_time() - start >= 0.05
    assert time.perf_counter() - real_start >= 0.05


async def test_scripted_source_yields_at_the_scripted_times() -> None:
    """Each item arrives at the sum of the delays so far; the first delay counts from the start."""
    source = ScriptedSource([(0, "a"), (1.5, "b"), (0.5, "c"), (timedelta(seconds=3), "d")])
    assert await collect_timed(source) == [(0.0, "a"), (1.5, "b"), (2.0, "c"), (5.0, "d")]
    assert anyio.current_time() == 5.0


async def test_scripted_source_yields_none_items() -> None:
    """None is an item like any other, not the end of the script."""
    source = ScriptedSource([(1, None), (1, 0)])
    assert await collect_timed(source) == [(1.0, None), (2.0, 0)]


async def test_scripted_source_end_delay_holds_the_stream_open() -> None:
    """With end_delay=4, the iteration ends 4 s after the last item, not at once."""
    source = ScriptedSource([(1, "a")], end_delay=4)
    assert await collect_timed(source) == [(1.0, "a")]
    assert anyio.current_time() == 5.0


async def test_empty_script_ends_after_end_delay() -> None:
    """An empty script yields nothing and ends after its end_delay."""
    assert await collect_timed(ScriptedSource([], end_delay=timedelta(minutes=1))) == []
    assert anyio.current_time() == 60.0


async def test_spaced_source_yields_one_item_per_interval() -> None:
    """spaced(items, 2) yields the first item at once and then one every 2 s."""
    source = ScriptedSource.spaced("abc", 2, end_delay=1)
    assert source.schedule == ((0.0, "a"), (2.0, "b"), (4.0, "c"))
    assert await collect_timed(source) == [(0.0, "a"), (2.0, "b"), (4.0, "c")]
    assert anyio.current_time() == 5.0


async def test_scripted_source_replays_for_each_iteration() -> None:
    """A second async for over the same source replays the script from its own start."""
    source = ScriptedSource([(1, "a"), (1, "b")])
    first = await collect_timed(source)
    second = await collect_timed(source)
    assert first == second == [(1.0, "a"), (2.0, "b")]
    assert anyio.current_time() == 4.0


async def test_slow_consumer_gets_overdue_items_at_once() -> None:
    """A consumer that falls behind gets overdue items immediately; the schedule does not shift."""
    source = ScriptedSource.spaced(range(3), 1)
    arrivals: list[tuple[float, int]] = []
    async for item in source:
        arrivals.append((anyio.current_time(), item))
        await anyio.sleep(1.5)
    assert arrivals == [(0.0, 0), (1.5, 1), (3.0, 2)]


async def test_cancelled_wait_keeps_the_pending_item() -> None:
    """An item whose wait was cancelled is yielded by the next __anext__ at its due time."""
    iterator = aiter(ScriptedSource([(2, "a"), (1, "b")]))
    assert aiter(iterator) is iterator
    with anyio.move_on_after(1):
        await anext(iterator)
    assert anyio.current_time() == 1.0
    assert await anext(iterator) == "a"
    assert anyio.current_time() == 2.0
    assert await anext(iterator) == "b"
    assert anyio.current_time() == 3.0
    with pytest.raises(StopAsyncIteration):
        await anext(iterator)
    with pytest.raises(StopAsyncIteration):
        await anext(iterator)
    assert anyio.current_time() == 3.0


@given(delays=st.lists(eighths, max_size=8), end_delay=eighths)
async def test_scripted_times_are_the_running_sums_of_delays(
    delays: list[float], end_delay: float
) -> None:
    """Items arrive at the running sums of the delays; the run lasts their sum plus end_delay."""
    source = ScriptedSource(
        [(delay, index) for index, delay in enumerate(delays)], end_delay=end_delay
    )
    start = anyio.current_time()
    expected = []
    due = 0.0
    for index, delay in enumerate(delays):
        due += delay
        expected.append((due, index))
    assert await collect_timed(source) == expected
    assert list(source.schedule) == expected
    assert anyio.current_time() - start == due + end_delay


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: ScriptedSource([(0, "a"), (-1, "b")]),
            (
                r"ScriptedSource script\[1\] delay: must be a finite number of seconds >= 0 "
                r"\(got -1\)"
            ),
        ),
        (
            lambda: ScriptedSource([(float("nan"), "a")]),
            r"ScriptedSource script\[0\] delay: must be .* \(got nan\)",
        ),
        (
            lambda: ScriptedSource([], end_delay=timedelta(seconds=-2)),
            (
                r"ScriptedSource end_delay: must be .* \(got datetime\.timedelta\(days=-1, "
                r"seconds=86398\)\)"
            ),
        ),
        (
            lambda: ScriptedSource.spaced([1], float("inf")),
            r"ScriptedSource\.spaced interval: must be .* \(got inf\)",
        ),
    ],
)
def test_invalid_delays_are_rejected(make: Callable[[], object], message: str) -> None:
    """Negative, NaN and infinite delays raise ValueError naming the bad delay and its value."""
    with pytest.raises(ValueError, match=message):
        make()


def run_on_virtual_loop(coro: Coroutine[Any, Any, None]) -> float:
    """Run a coroutine on a new VirtualTimeLoop and return the loop's time afterwards."""
    loop = VirtualTimeLoop()
    try:
        loop.run_until_complete(coro)
        return loop.time()
    finally:
        loop.close()


def test_new_loop_starts_at_zero() -> None:
    """A new VirtualTimeLoop's time() is 0.0, and each loop has its own clock."""
    first = VirtualTimeLoop()
    second = VirtualTimeLoop()
    try:
        first.run_until_complete(asyncio.sleep(5))
        assert (first.time(), second.time()) == (5.0, 0.0)
    finally:
        first.close()
        second.close()


def test_ready_io_is_handled_before_the_clock_jumps() -> None:
    """Data already waiting on a socket is read at the current time, before a pending timer."""
    events: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        left, right = socket.socketpair()
        with left, right:
            received = loop.create_future()

            def on_readable() -> None:
                loop.remove_reader(left)
                events.append((left.recv(10).decode(), loop.time()))
                received.set_result(None)

            timer = loop.call_later(10, lambda: events.append(("timer", loop.time())))
            right.send(b"ping")
            loop.add_reader(left, on_readable)
            await received
            timer.cancel()

    assert run_on_virtual_loop(main()) == 0.0
    assert events == [("ping", 0.0)]


def test_reader_and_writer_on_one_socket() -> None:
    """A socket watched for reading and writing at once gets both callbacks at time 0.0."""
    events: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        left, right = socket.socketpair()
        with left, right:
            done = loop.create_future()

            def on_writable() -> None:
                loop.remove_writer(left)
                events.append("writable")
                right.send(b"x")

            def on_readable() -> None:
                loop.remove_reader(left)
                events.append(f"readable {left.recv(1)!r}")
                done.set_result(None)

            loop.add_reader(left, on_readable)
            loop.add_writer(left, on_writable)
            await done

    assert run_on_virtual_loop(main()) == 0.0
    assert events == ["writable", "readable b'x'"]


def test_thread_wakes_a_loop_with_no_timers() -> None:
    """With no timer pending, the loop blocks for real until another thread calls it."""

    async def main() -> str:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[str] = loop.create_future()

        def answer_later() -> None:
            time.sleep(0.05)
            loop.call_soon_threadsafe(result.set_result, "hi")

        thread = threading.Thread(target=answer_later)
        thread.start()
        try:
            return await result
        finally:
            thread.join()

    loop = VirtualTimeLoop()
    try:
        real_start = time.perf_counter()
        assert loop.run_until_complete(main()) == "hi"
        assert time.perf_counter() - real_start >= 0.05
        assert loop.time() == 0.0
    finally:
        loop.close()


def test_default_executor_shuts_down_without_a_virtual_timeout() -> None:
    """shutdown_default_executor(timeout) waits in real time for work still running."""

    def work() -> int:
        time.sleep(0.05)
        return 3

    async def main() -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        pending = loop.run_in_executor(None, work)
        await loop.shutdown_default_executor(timeout=1)
        assert await pending == 3

    assert run_on_virtual_loop(main()) == 0.0


def test_anyio_run_on_virtual_time() -> None:
    """anyio.run with VirtualTimeLoop or trio's MockClock runs a whole program on virtual time."""

    async def main() -> list[tuple[float, str]]:
        return await collect_timed(ScriptedSource.spaced(["tick", "tock"], 60))

    on_asyncio = anyio.run(main, backend_options={"loop_factory": VirtualTimeLoop})
    assert on_asyncio == [(0.0, "tick"), (60.0, "tock")]

    trio_testing = pytest.importorskip("trio.testing", reason="trio is not installed")
    clock = trio_testing.MockClock(autojump_threshold=0)
    on_trio = anyio.run(main, backend="trio", backend_options={"clock": clock})
    assert on_trio == [(0.0, "tick"), (60.0, "tock")]


async def linger(scope: anyio.CancelScope) -> None:
    """Sleep until ``scope`` is cancelled."""
    with scope:
        await anyio.sleep_forever()


async def test_no_leaked_tasks_passes_when_every_task_finished() -> None:
    """Tasks that a task group started and finished inside the block are not leaks."""
    with assert_no_leaked_tasks():
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.sleep, 1)
            tg.start_soon(anyio.sleep, 2)
    assert anyio.current_time() == 2.0


def start_lingering_task(backend_name: str, scope: anyio.CancelScope) -> None:
    """Start a task outside any task group, the way a leak would, that runs until cancelled."""
    if backend_name == "asyncio":
        asyncio.get_running_loop().create_task(linger(scope))
    else:
        import trio  # only the trio run imports trio: it may be absent

        trio.lowlevel.spawn_system_task(linger, scope)


async def test_no_leaked_tasks_names_a_task_left_running(anyio_backend_name: str) -> None:
    """A task started inside the block and still running at its end fails the check."""
    scope = anyio.CancelScope()
    with (
        pytest.raises(AssertionError, match=r"^tasks still running after the block: '.+'$"),
        assert_no_leaked_tasks(),
    ):
        start_lingering_task(anyio_backend_name, scope)
    scope.cancel()
    await anyio.wait_all_tasks_blocked()
    with assert_no_leaked_tasks():
        await anyio.sleep(1)


async def test_no_leaked_tasks_lets_the_block_error_through() -> None:
    """An exception from the block propagates unchanged, without a leak check."""
    with pytest.raises(KeyError, match="boom"), assert_no_leaked_tasks():
        raise KeyError("boom")
