"""``AsyncStream``: run pipes over an asynchronous stream of items.

Two ways to consume a stream; both run the same plan on the same runner::

    async with AsyncStream(source).through(pipe) as results:   # structured: always safe
        async for result in results:
            ...

    async for result in AsyncStream(source).through(pipe):     # bare loop, as in the guide
        ...

With ``async with``, the stages run in a task group owned by your task, and every stage
has been torn down when the block exits. With a bare ``async for``, the stages run in a
task owned by the event loop; running to the end or raising a ``StreamError`` still waits
for teardown, while ``break``, an exception in the loop body or cancellation stops the
stages at once and their teardown finishes in the background within a few scheduler
ticks.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Generic, cast, overload

import anyio
import attrs

from .core._types import DeadLetterSink, ErrorPolicy, R, T
from .core.pipeline import AsyncPipeline
from .core.pipes import AsyncBasePipe
from .runtime._host import close_on_drop, spawn_detached
from .runtime._plan import Plan, policy_of
from .runtime._runner import Runner

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from collections.abc import (
        AsyncGenerator,
        AsyncIterable,
        AsyncIterator,
        Awaitable,
        Callable,
        Iterable,
    )
    from datetime import timedelta
    from types import TracebackType

    from anyio.abc import TaskGroup

    from .config import RetryConfig, StreamConfig
    from .core.pipes import BasePipe
    from .monitoring import PipelineMonitor
    from .runtime._policy import Policy
    from .streams._compat import RunLog

# AsyncBasePipe and AsyncPipeline were importable from here in rivusio 0.2.0.
__all__ = ("AsyncBasePipe", "AsyncPipeline", "AsyncStream", "StreamResults")


class StreamResults(Generic[T]):
    """The outputs of a running stream, as an async iterator.

    Returned by ``async with stream as results`` and used behind a bare ``async for``.
    ``__anext__`` waits for the next output; at the end of the stream it waits until every
    stage has been torn down; if a stage failed it raises :class:`~rivusio.StreamError`.
    """

    def __init__(self, runner: Runner[T], *, hosted: bool) -> None:
        """Wrap *runner*'s output; *hosted* runners are cancelled when this is dropped."""
        self._runner = runner
        self._hosted = hosted
        self._chunk: list[T] = []
        self._next = 0
        self._finished = False

    def __aiter__(self) -> AsyncIterator[T]:
        return close_on_drop(self._items())

    async def _items(self) -> AsyncGenerator[T, None]:
        # An async generator: its `__anext__` is implemented in C, which makes `async for`
        # over a stream about four times cheaper per item than a coroutine `__anext__`.
        yield cast("T", None)  # consumed by close_on_drop()
        try:
            while (chunk := await self.next_chunk()) is not None:
                for item in chunk:
                    yield item
        finally:
            self._abandon()

    async def __anext__(self) -> T:
        """Return the next output (for ``anext()``; ``async for`` takes a faster path)."""
        index = self._next
        if index < len(self._chunk):
            self._next = index + 1
            return self._chunk[index]
        if await self._refill():
            self._next = 1
            return self._chunk[0]
        raise StopAsyncIteration

    async def next_chunk(self) -> list[T] | None:
        """Return every output available now (at least one), or ``None`` at the end.

        Raises:
            StreamError: A stage, the source or a sink failed.
        """
        if self._next < len(self._chunk):
            rest = self._chunk[self._next :]
        elif await self._refill():
            rest = self._chunk
        else:
            return None
        self._chunk, self._next = [], 0
        return rest

    async def _refill(self) -> bool:
        runner = self._runner
        try:
            try:
                self._chunk = await runner.output.get()
                return True
            except anyio.EndOfStream:
                runner.consumed.set()
            await runner.done.wait()
        except BaseException:
            # The consumer is being cancelled: stop the stages with it, and (behind a bare
            # `async for`, where no task group exit waits for them) see them torn down
            # before the cancellation goes on.
            runner.cancel()
            if self._hosted:
                with anyio.CancelScope(shield=True):
                    await runner.done.wait()
            raise
        self._finish()
        if runner.interrupt is not None:
            raise runner.interrupt
        if runner.failures:
            raise runner.error()
        return False

    def _finish(self) -> None:
        self._finished = True
        self._runner.consumed.set()
        self._runner.output.close_receiver()

    async def aclose(self) -> None:
        """Stop the stream now and wait until every stage has been torn down."""
        self._runner.cancel()
        with anyio.CancelScope(shield=True):
            await self._runner.done.wait()
        self._finish()

    def _abandon(self) -> None:
        if not self._finished:
            self._finish()
            if self._hosted:
                self._runner.cancel()

    def __del__(self) -> None:
        # A bare `async for` that ended by `break` or by an exception in its body drops the
        # iterator without telling anyone; dropping it is the signal to stop the stages.
        self._abandon()


@attrs.define(eq=False, init=False)
class AsyncStream(Generic[T]):
    """A stream of items to run pipes over.

    Args:
        source: An async iterable, a sync iterable (read in chunks on the event loop; it
            must not block), or an anyio ``MemoryObjectReceiveStream``.
        config: Stream-wide defaults: error policy, retries, buffer sizes, ``skip_none``.

    Example::

        async for total in AsyncStream(readings()).through(parse >> enrich):
            print(total)
    """

    source: Any
    config: StreamConfig | None
    _segments: tuple[tuple[BasePipe[Any, Any], Policy], ...]
    _group: TaskGroup | None
    _runner: Runner[T] | None
    _log: RunLog | None
    _monitor: PipelineMonitor | None

    def __init__(
        self,
        source: AsyncIterable[T] | Iterable[T],
        config: StreamConfig | None = None,
    ) -> None:
        self.source = source
        self.config = config
        self._segments = ()
        self._group = None
        self._runner = None
        self._log = None
        self._monitor = None

    def set_monitor(self, monitor: PipelineMonitor) -> None:
        """Report every stage of this stream's later runs to *monitor*.

        Streams derived from this one with :meth:`through` afterwards keep the monitor.
        Pipes may have monitors of their own (``pipe.set_monitor``); both are fed.

        Args:
            monitor: The monitor whose ``get_metrics()`` will report the runs.

        Example::

            monitor = PipelineMonitor()
            stream = AsyncStream(source).through(parse >> enrich)
            stream.set_monitor(monitor)
            async for item in stream:
                ...
            monitor.get_metrics()["stages"]["parse"]["items_out"]
        """
        self._monitor = monitor

    def through(
        self,
        pipe: BasePipe[T, R],
        *,
        on_error: ErrorPolicy | None = None,
        dead_letter: DeadLetterSink | None = None,
        retry: RetryConfig | None = None,
        concurrency: int = 1,
        ordered: bool = True,
    ) -> AsyncStream[R]:
        """Return a new stream of *pipe*'s outputs; chainable.

        Nothing runs until the result is iterated. Settings given here apply to every pipe
        inside *pipe* that does not set its own (the innermost setting wins).

        Args:
            pipe: Any pipe, pipeline or stream stage.
            on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``.
            dead_letter: The dead-letter sink for ``"dead_letter"``.
            retry: Retry failed items before the error policy applies.
            concurrency: Process up to this many items at once, ``>= 1``; *pipe* must
                then be made of per-item pipes. The same as
                ``.through(rivusio.streams.map(pipe, concurrency=N, ordered=ordered))``.
            ordered: With ``concurrency > 1``, deliver outputs in input order (default);
                ``False`` delivers them as they finish.

        Raises:
            ConfigError: ``concurrency`` is not an int >= 1.
        """
        stream: AsyncStream[R] = AsyncStream(self.source, self.config)
        if concurrency != 1:
            # Imported here: rivusio.streams builds on this module.
            from .streams import map as concurrently

            pipe = concurrently(pipe, concurrency=concurrency, ordered=ordered, name=pipe.name)
        policy = policy_of(self.config).under(on_error, dead_letter, retry)
        stream._segments = (*self._segments, (pipe, policy))
        stream._log = self._run_log()
        stream._monitor = self._monitor
        return stream

    def _new_runner(self) -> Runner[T]:
        monitors = () if self._monitor is None else (self._monitor,)
        plan = Plan.build(self._segments, self.config, monitors=monitors)
        runner: Runner[T] = Runner(plan, self.source)
        self._run_log().started(plan, runner)
        return runner

    def __aiter__(self) -> AsyncIterator[T]:
        runner = self._new_runner()
        spawn_detached(runner.run, name=f"rivusio stream {self._describe()}")
        return StreamResults(runner, hosted=True).__aiter__()

    async def __aenter__(self) -> StreamResults[T]:
        if self._group is not None:
            raise RuntimeError(
                f"AsyncStream {self._describe()} is already running; call .through() again "
                f"for a second, independent run"
            )
        runner = self._runner = self._new_runner()
        group = self._group = anyio.create_task_group()
        await group.__aenter__()
        group.start_soon(runner.run, name=f"rivusio stream {self._describe()}")
        return StreamResults(runner, hosted=False)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        group, runner = self._group, self._runner
        assert group is not None
        assert runner is not None
        self._group = self._runner = None
        runner.cancel()
        try:
            return await group.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as failed:
            # The runner never raises, so the group can only hold the body's own exception:
            # let it propagate unchanged instead of wrapped.
            if exc is not None and all(inner is exc for inner in failed.exceptions):
                return False
            raise
        finally:
            runner.output.close_receiver()

    def __iter__(self) -> None:
        raise TypeError(
            "AsyncStream is asynchronous: use 'async for', or rivusio.SyncStream for a plain "
            "'for' loop"
        )

    def _describe(self) -> str:
        return " >> ".join(pipe.name for pipe, _ in self._segments) or "(no pipes)"

    # -- rivusio 0.2.0 stream helpers, built on the batch and window stages ----------------

    def _run_log(self) -> RunLog:
        if self._log is None:
            from .streams._compat import RunLog

            self._log = RunLog()
        return self._log

    def tumbling_window(self, window_size: int) -> AsyncStream[list[T]]:
        """Return a stream of lists of ``window_size`` items, back to back.

        The partial last window is emitted at end of stream. The same as
        ``.through(WindowedStreamPipe(window_size))``.

        Args:
            window_size: Items per window, ``>= 1``.

        Raises:
            ConfigError: ``window_size`` is not an int ``>= 1``.

        Example::

            async for window in AsyncStream(range(7)).tumbling_window(3):
                print(window)  # [0, 1, 2], [3, 4, 5], [6]

        .. versionchanged:: 1.0
            Returns an ``AsyncStream`` (iterate it with ``async for``, as in 0.2.0).
        """
        from .streams._compat import tumbling_window

        return self.through(tumbling_window(window_size))

    def sliding_window(
        self, window_size: int, step_size: int, *, emit_partial: bool = False
    ) -> AsyncStream[list[T]]:
        """Return a stream of the last ``window_size`` items, every ``step_size`` items.

        Every full window is emitted, in order; the first is emitted with the
        ``window_size``-th item, then one every ``step_size`` items. At end of stream the
        windows that never filled up are dropped, unless ``emit_partial=True``.

        Args:
            window_size: Items per window, ``>= 1``.
            step_size: Items between the starts of two windows, from 1 to ``window_size``.
            emit_partial: Also emit the windows still open at end of stream.

        Raises:
            ConfigError: A size is not an int ``>= 1``, or ``step_size > window_size``.

        Example::

            async for window in AsyncStream(range(5)).sliding_window(3, 1):
                print(window)  # [0, 1, 2], [1, 2, 3], [2, 3, 4]

        .. versionchanged:: 1.0
            No item is skipped; ``step_size`` above ``window_size`` is refused;
            ``emit_partial`` is new.
        """
        from .streams._compat import sliding_window

        return self.through(sliding_window(window_size, step_size, emit_partial=emit_partial))

    def time_window(self, duration: float | timedelta) -> AsyncStream[list[T]]:
        """Return a stream of lists of the items of back-to-back windows of ``duration``.

        Windows start at the first item and close on a timer at their end, also while the
        source is idle; windows without items are not emitted. The open window is emitted
        at end of stream. The same as ``.through(WindowedStreamPipe(duration))``.

        Args:
            duration: Window length, a ``timedelta`` or seconds, ``> 0``.

        Raises:
            ConfigError: ``duration`` is not positive.

        .. versionchanged:: 1.0
            A window closes at its end even when no further item arrives.
        """
        from .streams._compat import time_window

        return self.through(time_window(duration))

    @overload
    def process(self, pipe: BasePipe[Any, R]) -> AsyncStream[R]: ...
    @overload
    def process(self, pipe: Callable[[Any], Awaitable[R]]) -> AsyncStream[R]: ...
    @overload
    def process(self, pipe: Callable[[Any], R]) -> AsyncStream[R]: ...
    def process(self, pipe: Any) -> AsyncStream[Any]:
        """Run *pipe* over the stream as rivusio 0.2.0 did, honouring this stream's config.

        With ``StreamConfig(batch_size=n)`` and ``n > 1``, *pipe* gets lists of up to ``n``
        items (the last one partial); else with ``window_size`` above zero it gets the list
        of each time window; else each item, retried as ``retry_attempts`` and
        ``retry_delay`` say (``retry_attempts=0`` tries once; a config of ``None`` means
        0.2.0's defaults, three tries). As in 0.2.0, batches and windows are not retried.
        *pipe* may also be a plain function of one item, sync or async.

        Args:
            pipe: A pipe or a function.

        Returns:
            The stream of *pipe*'s outputs; iterate it with ``async for``.

        Raises:
            TypeError: *pipe* is neither a pipe nor callable.

        .. versionchanged:: 1.0
            Windows close on a timer; a failure raises ``StreamError`` (a ``PipeError``).
        """
        from .streams._compat import process_pipes

        stream: AsyncStream[Any] = self
        for stage, retry in process_pipes(self.config, pipe):
            stream = stream.through(stage, retry=retry)
        return stream

    def metrics_dict(self) -> dict[str, Any]:
        """Return the counts of the latest run of this stream or of one derived from it.

        Returns:
            ``{"buffer_size": n, "metrics": {...}}``: ``n`` items held by open batches
            and windows; ``metrics`` holds ``items_in``, ``items_out``, ``errors``,
            ``skipped``, ``dead_lettered``, ``dropped`` and ``late`` summed over the
            stages, and ``stages`` with the same counts per stage name.
        """
        return self._run_log().metrics_dict()

    @property
    def buffer(self) -> list[T]:
        """A snapshot of the items waiting in open batches of the latest run."""
        return self._run_log().buffer()

    async def close(self) -> None:
        """Mark the stream closed and stop its run in progress, if any.

        Waits until every stage of that run has been torn down.
        """
        log = self._run_log()
        log.closed = True
        runner = log.running()
        if runner is not None:
            runner.cancel()
            with anyio.CancelScope(shield=True):
                await runner.done.wait()

    def is_closed(self) -> bool:
        """Return whether :meth:`close` was called on this stream or a related one."""
        return self._run_log().closed
