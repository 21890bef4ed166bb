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
from typing import TYPE_CHECKING, Any, Generic

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs

from .aio import AsyncStream
from .core._types import DeadLetterSink, ErrorPolicy, R, T
from .runtime._links import chunk_size_for
from .runtime._plan import Plan, policy_of
from .runtime._policy import StageFailure
from .runtime._runner import SOURCE
from .runtime._stage import FusedStage
from .runtime._steps import apply_all_blocking

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator

    from .config import RetryConfig, StreamConfig
    from .core.pipes import BasePipe
    from .runtime._policy import Policy
    from .runtime._steps import Step

__all__ = ("SyncStream",)


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


class _ThreadedSource:
    """Reads a blocking iterable one item at a time in a worker thread."""

    def __init__(self, source: Iterable[Any]) -> None:
        self._items = iter(source)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        done = object()
        item = await anyio.to_thread.run_sync(next, self._items, done)
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

    def through(
        self,
        pipe: BasePipe[T, R],
        *,
        on_error: ErrorPolicy | None = None,
        dead_letter: DeadLetterSink | None = None,
        retry: RetryConfig | None = None,
    ) -> SyncStream[R]:
        """Return a new stream of *pipe*'s outputs; chainable. See ``AsyncStream.through``."""
        stream: SyncStream[R] = SyncStream(
            self.source,
            self.config,
            backend=self.backend,
            backend_options=self.backend_options,
        )
        policy = policy_of(self.config).under(on_error, dead_letter, retry)
        stream._segments = (*self._segments, (pipe, policy))
        return stream

    def __iter__(self) -> Iterator[T]:
        plan = Plan.build(self._segments, self.config)
        steps = _inline_steps(plan)
        if steps is not None:
            return self._run_inline(steps, chunk_size_for(plan.backpressure.max_buffer_size))
        return self._run_on_loop(plan)

    def _run_inline(self, steps: list[Step], size: int) -> Iterator[T]:
        from .core.exceptions import StreamError

        hooks = [hook for step in steps for hook in step.hooks]
        started: list[Any] = []
        items = iter(self.source)
        try:
            for hook in hooks:
                hook.setup()
                started.append(hook)
            while True:
                try:
                    chunk = list(itertools.islice(items, size))
                except Exception as exc:
                    raise StreamError(SOURCE, exc) from exc
                if not chunk:
                    return
                try:
                    chunk = apply_all_blocking(steps, chunk)
                except StageFailure as failure:
                    yield from failure.before
                    raise StreamError(
                        failure.stage, failure.error, item=failure.item
                    ) from failure.error
                yield from chunk
        finally:
            for hook in reversed(started):
                hook.teardown()

    def _run_on_loop(self, plan: Plan) -> Iterator[T]:
        uses_timers = any(getattr(stage, "uses_timers", False) for stage in plan.stages)
        source = _ThreadedSource(self.source) if uses_timers else self.source
        stream: AsyncStream[T] = AsyncStream(source, self.config)
        stream._segments = self._segments
        with (
            anyio.from_thread.start_blocking_portal(self.backend, self.backend_options) as portal,
            portal.wrap_async_context_manager(stream) as results,
        ):
            while (chunk := portal.call(results.next_chunk)) is not None:
                yield from chunk

    def __aiter__(self) -> None:
        raise TypeError("SyncStream is synchronous: use 'for', or rivusio.AsyncStream")
