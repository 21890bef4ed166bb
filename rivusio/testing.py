"""Helpers for testing rivusio pipelines: virtual time, scripted sources and timed collection.

Stream stages wait on timers (``max_wait`` on batches, window ends, retry back-off). Tests
that wait for those timers in real time are slow and flaky, so rivusio's own test suite, and
yours, run on a *virtual* clock: time only moves when every task is waiting for a timer, and
then it jumps straight to the next deadline. A test that sleeps for an hour finishes at once,
and elapsed times can be asserted exactly.

* On trio, use ``trio.testing.MockClock(autojump_threshold=0)``.
* On asyncio, use :class:`VirtualTimeLoop` as the event loop.

Both plug into anyio's pytest plugin through the ``anyio_backend`` fixture. Build the clock
inside the fixture body, so that every test gets a fresh one that starts at ``0.0``::

    import pytest
    import trio.testing

    from rivusio.testing import VirtualTimeLoop


    @pytest.fixture(params=["asyncio", "trio"])
    def anyio_backend(request):
        if request.param == "asyncio":
            return ("asyncio", {"loop_factory": VirtualTimeLoop})
        return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})

:class:`ScriptedSource` feeds a stream on a fixed schedule, and :func:`collect_timed` records
when each output arrived, in seconds since collection started::

    async def test_scripted_source():
        source = ScriptedSource([(0, "a"), (0.5, "b"), (5, "c")])
        assert await collect_timed(source) == [(0.0, "a"), (0.5, "b"), (5.5, "c")]

Pass ``AsyncStream(source).through(pipe)`` to :func:`collect_timed` to see when a stage
emitted each output.

The limit of virtual time: the clock cannot see work running outside the event loop. Work in
a worker thread or process is not a timer, so while such work is running alongside a pending
timer, the clock jumps to that timer without waiting for the thread. A test that mixes
thread or process offload with timers belongs on the real clock (the plain ``"asyncio"`` or
``"trio"`` backend).

This module is the one place in rivusio that imports :mod:`asyncio` directly: the virtual
clock has to replace the event loop's own.

.. versionadded:: 1.0
"""

from __future__ import annotations

import asyncio
import math
import selectors
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping

    from _typeshed import FileDescriptorLike

__all__ = ("VirtualTimeLoop", "ScriptedSource", "collect_timed", "assert_no_leaked_tasks")

T = TypeVar("T")
"""The type of the items a scripted source yields or a collection records."""


class _VirtualClock:
    """The current virtual time of one :class:`VirtualTimeLoop`, in seconds."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0.0


class _VirtualTimeSelector(selectors.BaseSelector):
    """Wrap a real selector so that waiting for a timer advances the virtual clock instead.

    The event loop asks its selector for ready I/O with a timeout: ``0`` when callbacks are
    ready, the time until the next timer when only timers are pending, and ``None`` when
    nothing is scheduled. Every call first polls the real selector without blocking, so ready
    I/O (including wake-ups from ``call_soon_threadsafe``) always wins over a clock jump.
    """

    def __init__(self, selector: selectors.BaseSelector, clock: _VirtualClock) -> None:
        self._selector = selector
        self._clock = clock

    def register(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._selector.register(fileobj, events, data)

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self._selector.unregister(fileobj)

    def modify(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._selector.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._selector.select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None:
            # No timer is pending: only I/O or another thread can wake the loop, so wait
            # for them in real time.
            return self._selector.select(None)
        # Only timers are pending and nothing is ready: jump to the next deadline instead
        # of sleeping until it.
        self._clock.now += timeout
        return []

    def close(self) -> None:
        self._selector.close()

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        return self._selector.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose clock is virtual and jumps to the next timer.

    :meth:`time` starts at ``0.0`` for each new loop and only moves when the loop would
    otherwise wait: if no I/O is ready and no callback is runnable, and a timer is pending,
    the clock jumps to that timer's deadline at once. If no timer is pending, the loop blocks
    for real on its selector, so sockets, subprocess pipes and results delivered from other
    threads with ``call_soon_threadsafe`` (as ``anyio.to_thread.run_sync`` does) still wake
    it.

    This is the asyncio counterpart of ``trio.testing.MockClock(autojump_threshold=0)``: the
    jump happens as soon as every task is blocked, and the elapsed virtual time equals the
    sum of the timeouts waited for, exactly where those are exact in binary floating point.

    The clock cannot see work in worker threads or processes. While such work runs and a
    timer is pending, the clock jumps to the timer without waiting for the work, so tests
    that combine offloaded work with timeouts should run on a real-time loop.

    Use it as anyio's ``loop_factory`` backend option (see the module docstring), or
    directly::

        loop = VirtualTimeLoop()
        try:
            loop.run_until_complete(asyncio.sleep(3600))  # returns at once
            assert loop.time() == 3600.0
        finally:
            loop.close()

    .. versionadded:: 1.0
    """

    def __init__(self) -> None:
        self._virtual_clock = _VirtualClock()
        super().__init__(_VirtualTimeSelector(selectors.DefaultSelector(), self._virtual_clock))

    def time(self) -> float:
        """Return the loop's virtual time in seconds: ``0.0`` when the loop was created."""
        return self._virtual_clock.now

    # The signature is asyncio's own (Python 3.12 and later), so the timeout parameter stays.
    async def shutdown_default_executor(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait for the default executor's threads to finish, with no virtual-time limit.

        :class:`asyncio.Runner` passes a timeout, which Python 3.13 and later enforce with a
        loop timer. On a virtual clock that timer would expire at once, while the threads are
        still joining, and the loop would warn and stop waiting for them. Joining threads is
        real-time work, so the timeout is ignored.

        Args:
            timeout: Accepted for compatibility with :class:`asyncio.BaseEventLoop` and
                ignored.
        """
        del timeout
        await super().shutdown_default_executor()


def _seconds(value: float | timedelta, what: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise ValueError(f"{what}: must be a finite number of seconds >= 0 (got {value!r})")
    return seconds


class ScriptedSource(Generic[T]):
    """An async iterable that yields items on a fixed schedule of (virtual) time.

    The script is a sequence of ``(delay, item)`` pairs. Each delay counts from the previous
    item's due time (the first from the moment iteration starts), so
    ``ScriptedSource([(0, "a"), (1.5, "b"), (0.5, "c")])`` yields ``"a"`` at once, ``"b"``
    1.5 seconds later and ``"c"`` at 2.0 seconds. Under a virtual clock (see the module
    docstring) those times are exact and take no real time.

    The schedule is fixed when iteration starts: a consumer that falls behind gets overdue
    items at once rather than shifting the later ones. Every item is preceded by a
    checkpoint, even with a delay of 0, so the source never starves other tasks. After the
    last item, the source waits ``end_delay`` seconds before it ends, which lets a test
    hold a stream open while it is idle (for example, to see a time window close on its own
    timer before the end of the stream flushes it).

    Each ``async for`` over the same source replays the script from its own start. If the
    consumer is cancelled while waiting, the pending item is not lost: the next
    ``__anext__`` waits for it again, until the same due time.

    Args:
        script: ``(delay, item)`` pairs; delays are seconds (``float``) or
            :class:`~datetime.timedelta`, each >= 0.
        end_delay: Seconds to wait after the last item before the iteration ends.

    Raises:
        ValueError: If a delay is negative, infinite or NaN; the message names its index.

    Example::

        async def test_scripted_times():
            source = ScriptedSource([(0, "a"), (1.5, "b")], end_delay=2)
            assert await collect_timed(source) == [(0.0, "a"), (1.5, "b")]

    .. versionadded:: 1.0
    """

    def __init__(
        self, script: Iterable[tuple[float | timedelta, T]], *, end_delay: float | timedelta = 0
    ) -> None:
        offsets: list[tuple[float, T]] = []
        due = 0.0
        for index, (delay, item) in enumerate(script):
            due += _seconds(delay, f"ScriptedSource script[{index}] delay")
            offsets.append((due, item))
        self._offsets = tuple(offsets)
        self._end_offset = due + _seconds(end_delay, "ScriptedSource end_delay")

    @classmethod
    def spaced(
        cls, items: Iterable[T], interval: float | timedelta, *, end_delay: float | timedelta = 0
    ) -> ScriptedSource[T]:
        """Build a source that yields the first item at once, then one every ``interval``.

        ``ScriptedSource.spaced("abc", 2)`` yields ``"a"`` at 0, ``"b"`` at 2.0 and ``"c"`` at
        4.0 seconds.

        Args:
            items: The items, in order.
            interval: Seconds (or a :class:`~datetime.timedelta`) between two items, >= 0.
            end_delay: Seconds to wait after the last item before the iteration ends.

        Returns:
            The scripted source.

        Raises:
            ValueError: If ``interval`` or ``end_delay`` is negative, infinite or NaN.
        """
        seconds = _seconds(interval, "ScriptedSource.spaced interval")
        return cls(
            ((0.0 if index == 0 else seconds, item) for index, item in enumerate(items)),
            end_delay=end_delay,
        )

    @property
    def schedule(self) -> tuple[tuple[float, T], ...]:
        """``(offset, item)`` pairs: when each item is due, in seconds from the start."""
        return self._offsets

    def __aiter__(self) -> AsyncIterator[T]:
        """Start a new run of the script; its clock starts at the first ``__anext__``."""
        return _ScriptRun(self._offsets, self._end_offset)


class _ScriptRun(Generic[T]):
    """One iteration over a :class:`ScriptedSource`'s schedule."""

    def __init__(self, offsets: tuple[tuple[float, T], ...], end_offset: float) -> None:
        self._offsets = offsets
        self._end_offset = end_offset
        self._start: float | None = None
        self._next = 0
        self._finished = False

    def __aiter__(self) -> _ScriptRun[T]:
        return self

    async def __anext__(self) -> T:
        if self._start is None:
            self._start = anyio.current_time()
        if self._next < len(self._offsets):
            offset, item = self._offsets[self._next]
            await anyio.sleep_until(self._start + offset)
            # Advance only once the wait is over: a cancelled wait leaves this item pending.
            self._next += 1
            return item
        if not self._finished:
            await anyio.sleep_until(self._start + self._end_offset)
            self._finished = True
        raise StopAsyncIteration


async def collect_timed(source: AsyncIterable[T]) -> list[tuple[float, T]]:
    """Consume ``source`` and record when each item arrived.

    Times are seconds since the call started, read from the running event loop's clock
    (``anyio.current_time()``), so under a virtual clock they are exact and independent of
    what earlier code in the test did with the clock.

    Args:
        source: Any async iterable: a stream, a :class:`ScriptedSource`, an async generator.

    Returns:
        ``(elapsed, item)`` pairs in arrival order.

    Example::

        async def test_collect():
            assert await collect_timed(ScriptedSource.spaced([1, 2], 0.5)) == [(0.0, 1), (0.5, 2)]

    .. versionadded:: 1.0
    """
    start = anyio.current_time()
    return [(anyio.current_time() - start, item) async for item in source]


@contextmanager
def assert_no_leaked_tasks() -> Iterator[None]:
    """Check that a block of async code leaves no task running that it started.

    Use it around the code under test, inside an async test::

        async def test_break_cancels_every_stage():
            with assert_no_leaked_tasks():
                async with AsyncStream(source).through(pipe) as results:
                    async for item in results:
                        break

    On leaving the block normally, the tasks then running are compared with those running
    when it was entered; any new one is a leak and fails the check. Nothing waits first:
    rivusio finishes its teardown before an ``async with`` block over a stream exits, and
    before a bare ``async for`` that ran to its end (or ended in a ``StreamError``) exits,
    so a task still running at that point is a bug, not a race. A bare ``async for`` left
    by ``break`` cancels its stages at once but lets their teardown finish in the
    background, so check those with ``async with``. When the block raises, its exception
    propagates unchanged and no check is made.

    Raises:
        AssertionError: If tasks started inside the block are still running; the message
            names them.

    .. versionadded:: 1.0
    """
    before = {task.id for task in anyio.get_running_tasks()}
    yield
    leaked = [task.name for task in anyio.get_running_tasks() if task.id not in before]
    if leaked:
        names = ", ".join(repr(name) for name in leaked)
        raise AssertionError(f"tasks still running after the block: {names}")
