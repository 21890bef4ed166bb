"""``SyncStream``: run pipes over a plain iterable with a plain ``for`` loop.

A chain of sync per-item pipes runs inline: no event loop, no threads, a chunk of items at
a time through each pipe. Anything that needs the runtime (async pipes, stream stages,
batches and windows with timers) runs the same plan as :class:`~rivusio.AsyncStream` on an
event loop in a background thread; results cross to your thread a chunk at a time. Leaving
the ``for`` loop early (``break``, an exception, or dropping the iterator) stops that loop
and runs every teardown before control returns.
"""

from __future__ import annotations

import itertools
import sys
from time import perf_counter
from typing import TYPE_CHECKING, Any, Generic, overload

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs

from .aio import AsyncStream
from .core._types import DeadLetterSink, ErrorPolicy, R, T
from .core.pipeline import SyncPipeline
from .core.pipes import SyncBasePipe
from .runtime._chain import chain_runs
from .runtime._links import chunk_size_for
from .runtime._plan import Plan, policy_of
from .runtime._policy import StageFailure
from .runtime._runner import SOURCE
from .runtime._stage import FusedStage
from .runtime._steps import apply_all_blocking
from .runtime._watch import finish, watch

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator
    from datetime import timedelta
    from types import TracebackType

    from .config import RetryConfig, StreamConfig
    from .core.pipes import BasePipe
    from .monitoring import PipelineMonitor
    from .runtime._policy import Policy
    from .runtime._steps import Step
    from .streams._compat import RunLog

# SyncBasePipe and SyncPipeline were importable from here in rivusio 0.2.0.
__all__ = ("SyncBasePipe", "SyncPipeline", "SyncStream")


def _inline_steps(plan: Plan) -> list[Step] | None:
    """The plan's steps if it can run with no event loop, else ``None``."""
    steps: list[Step] = []
    for stage in plan.stages:
        if not isinstance(stage, FusedStage):
            return None
        steps.extend(stage.steps)
    for step in steps:
        if step.is_async or any(_has_async_hook(hook) for hook in step.hooks):
            return None
    return steps


def _has_async_hook(hook: Any) -> bool:
    import inspect

    return any(inspect.iscoroutinefunction(getattr(hook, m, None)) for m in ("setup", "teardown"))


def _tear_down(hooks: list[Any], *, failing: bool) -> None:
    """Run every teardown, last set up first, as the runner does on the event loop.

    A teardown failure becomes a ``StreamError`` naming its pipe, unless the stream is
    already failing: then the first error is the one the consumer sees.
    """
    from .core.exceptions import StreamError

    first: StreamError | None = None
    for hook in reversed(hooks):
        try:
            hook.teardown()
        except Exception as exc:
            if first is None:
                first = StreamError(hook.name, exc)
                first.__cause__ = exc
    if first is not None and not failing:
        raise first


class _ThreadedSource:
    """Reads a blocking iterable one item at a time in a worker thread."""

    def __init__(self, source: Iterable[Any]) -> None:
        self._items = iter(source)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        done = object()
        # A source blocked in its worker thread must not hold up a cancelled run: the read
        # is abandoned, and the iterator is never touched again.
        item = await anyio.to_thread.run_sync(next, self._items, done, abandon_on_cancel=True)
        if item is done:
            raise StopAsyncIteration
        return item


@attrs.define(eq=False, init=False)
class SyncStream(Generic[T]):
    """A stream of items from a plain iterable, consumed with a plain ``for`` loop.

    Args:
        source: Any iterable; it may block (in plans with timers it is read in a worker
            thread so timers keep running).
        config: Stream-wide defaults, as for :class:`~rivusio.AsyncStream`.
        backend: The anyio backend for plans that need an event loop: ``"asyncio"`` or
            ``"trio"``.
        backend_options: Options for that backend (as for ``anyio.run``).

    Example::

        for total in SyncStream(batches).through(BatchSumPipe()):
            print(total)
    """

    source: Iterable[Any]
    config: StreamConfig | None
    backend: str
    backend_options: dict[str, Any] | None
    _segments: tuple[tuple[BasePipe[Any, Any], Policy], ...]
    _log: RunLog | None
    _monitor: PipelineMonitor | None

    def __init__(
        self,
        source: Iterable[T],
        config: StreamConfig | None = None,
        *,
        backend: str = "asyncio",
        backend_options: dict[str, Any] | None = None,
    ) -> None:
        self.source = source
        self.config = config
        self.backend = backend
        self.backend_options = backend_options
        self._segments = ()
        self._log = None
        self._monitor = None

    def set_monitor(self, monitor: PipelineMonitor) -> None:
        """Report every stage of this stream's later runs to *monitor*.

        See ``AsyncStream.set_monitor``. A stream of sync pipes that runs inline has no
        buffers: its stages report ``buffer_size``, ``capacity`` and ``blocked_time`` 0.

        Args:
            monitor: The monitor whose ``get_metrics()`` will report the runs.
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
    ) -> SyncStream[R]:
        """Return a new stream of *pipe*'s outputs; chainable. See ``AsyncStream.through``."""
        stream: SyncStream[R] = SyncStream(
            self.source,
            self.config,
            backend=self.backend,
            backend_options=self.backend_options,
        )
        if concurrency != 1:
            # Imported here: rivusio.streams builds on this module.
            from .streams import map as concurrently

            pipe = concurrently(pipe, concurrency=concurrency, ordered=ordered, name=pipe.name)
        policy = policy_of(self.config).under(on_error, dead_letter, retry)
        stream._segments = (*self._segments, (pipe, policy))
        stream._log = self._run_log()
        stream._monitor = self._monitor
        return stream

    def __iter__(self) -> Iterator[T]:
        monitors = () if self._monitor is None else (self._monitor,)
        plan = Plan.build(self._segments, self.config, monitors=monitors)
        self._run_log().started(plan)
        steps = _inline_steps(plan)
        if steps is not None:
            # Chained in C: the per-item cost of resuming a generator is paid per chunk. A
            # consumer that stops early drops the chain and with it the generator, whose
            # `finally` then runs the teardown.
            return itertools.chain.from_iterable(self._run_inline(plan, steps))
        return self._run_on_loop(plan)

    def _run_inline(self, plan: Plan, steps: list[Step]) -> Iterator[list[T]]:
        from .core.exceptions import StreamError

        size = chunk_size_for(plan.backpressure.max_buffer_size)
        hooks = [hook for step in steps for hook in step.hooks]
        started: list[Any] = []
        items = iter(self.source)
        # With no event loop, the run is timed on perf_counter.
        watches = watch(
            plan.pipes,
            plan.stages,
            None,
            plan.monitors,
            timed=plan.collect_metrics,
            now=perf_counter(),
        )
        units = chain_runs(steps)
        try:
            for hook in hooks:
                try:
                    hook.setup()
                except Exception as exc:
                    raise StreamError(hook.name, exc) from exc
                started.append(hook)
            while True:
                chunk: list[Any] = []
                source_error: Exception | None = None
                try:
                    chunk.extend(itertools.islice(items, size))
                except Exception as exc:
                    # What the source gave before it failed still goes through the pipes.
                    source_error = exc
                if not chunk and source_error is None:
                    return
                try:
                    chunk = apply_all_blocking(units, chunk)
                except StageFailure as failure:
                    yield failure.before
                    raise StreamError(
                        failure.stage, failure.error, item=failure.item
                    ) from failure.error
                yield chunk
                if source_error is not None:
                    raise StreamError(SOURCE, source_error) from source_error
        finally:
            try:
                _tear_down(started, failing=sys.exc_info()[1] is not None)
            finally:
                finish(watches, perf_counter())

    def _run_on_loop(self, plan: Plan) -> Iterator[T]:
        uses_timers = any(getattr(stage, "uses_timers", False) for stage in plan.stages)
        source = _ThreadedSource(self.source) if uses_timers else self.source
        stream: AsyncStream[T] = AsyncStream(source, self.config)
        stream._segments = self._segments
        stream._log = self._run_log()
        stream._monitor = self._monitor
        with (
            anyio.from_thread.start_blocking_portal(self.backend, self.backend_options) as portal,
            portal.wrap_async_context_manager(stream) as results,
        ):
            while (chunk := portal.call(results.next_chunk)) is not None:
                yield from chunk

    def __aiter__(self) -> None:
        raise TypeError("SyncStream is synchronous: use 'for', or rivusio.AsyncStream")

    # -- rivusio 0.2.0 stream helpers, built on the batch and window stages ----------------

    def _run_log(self) -> RunLog:
        if self._log is None:
            from .streams._compat import RunLog

            self._log = RunLog()
        return self._log

    def tumbling_window(self, window_size: int) -> SyncStream[list[T]]:
        """Return a stream of lists of ``window_size`` items, back to back.

        The partial last window is emitted at end of stream. See
        :meth:`rivusio.AsyncStream.tumbling_window`.

        Args:
            window_size: Items per window, ``>= 1``.

        Raises:
            ConfigError: ``window_size`` is not an int ``>= 1``.

        Example::

            for window in SyncStream(range(7)).tumbling_window(3):
                print(window)  # [0, 1, 2], [3, 4, 5], [6]
        """
        from .streams._compat import tumbling_window

        return self.through(tumbling_window(window_size))

    def sliding_window(
        self, window_size: int, step_size: int, *, emit_partial: bool = False
    ) -> SyncStream[list[T]]:
        """Return a stream of the last ``window_size`` items, every ``step_size`` items.

        Every full window is emitted, in order; windows that never filled up are dropped at
        end of stream unless ``emit_partial=True``. See
        :meth:`rivusio.AsyncStream.sliding_window`.

        Args:
            window_size: Items per window, ``>= 1``.
            step_size: Items between the starts of two windows, from 1 to ``window_size``.
            emit_partial: Also emit the windows still open at end of stream.

        Raises:
            ConfigError: A size is not an int ``>= 1``, or ``step_size > window_size``.

        .. versionchanged:: 1.0
            No item is skipped; ``step_size`` above ``window_size`` is refused;
            ``emit_partial`` is new.
        """
        from .streams._compat import sliding_window

        return self.through(sliding_window(window_size, step_size, emit_partial=emit_partial))

    def time_window(self, duration: float | timedelta) -> SyncStream[list[T]]:
        """Return a stream of lists of the items of back-to-back windows of ``duration``.

        Windows close on a timer at their end, also while the source blocks (the source is
        then read in a worker thread). See :meth:`rivusio.AsyncStream.time_window`.

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
    def process(self, pipe: BasePipe[Any, R]) -> SyncStream[R]: ...
    @overload
    def process(self, pipe: Callable[[Any], R]) -> SyncStream[R]: ...
    def process(self, pipe: Any) -> SyncStream[Any]:
        """Run *pipe* over the stream as rivusio 0.2.0 did, honouring this stream's config.

        See :meth:`rivusio.AsyncStream.process`: batches with ``batch_size > 1``, else time
        windows with ``window_size`` above zero, else each item, retried as
        ``retry_attempts`` says (``0`` tries once). *pipe* may be a plain function of one
        item.

        Args:
            pipe: A pipe or a function.

        Returns:
            The stream of *pipe*'s outputs; iterate it with ``for``.

        Raises:
            TypeError: *pipe* is neither a pipe nor callable.
        """
        from .streams._compat import process_pipes

        stream: SyncStream[Any] = self
        for stage, retry in process_pipes(self.config, pipe):
            stream = stream.through(stage, retry=retry)
        return stream

    def metrics_dict(self) -> dict[str, Any]:
        """Return the counts of the latest run of this stream or of one derived from it.

        Returns:
            The shape of :meth:`rivusio.AsyncStream.metrics_dict`.
        """
        return self._run_log().metrics_dict()

    @property
    def buffer(self) -> list[T]:
        """A snapshot of the items waiting in open batches of the latest run."""
        return self._run_log().buffer()

    def close(self) -> None:
        """Mark the stream closed.

        A run in progress stops when its ``for`` loop is left, which also tears it down.
        """
        self._run_log().closed = True

    def is_closed(self) -> bool:
        """Return whether :meth:`close` was called on this stream or a related one."""
        return self._run_log().closed

    def __enter__(self) -> SyncStream[T]:
        """Return the stream itself; 0.2.0's ``with SyncStream(...) as stream:``."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the stream (see :meth:`close`)."""
        self.close()
