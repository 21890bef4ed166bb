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
from typing import TYPE_CHECKING, Any, Generic, cast

import anyio
import attrs

from .core._types import DeadLetterSink, ErrorPolicy, R, T
from .runtime._host import close_on_drop, spawn_detached
from .runtime._plan import Plan, policy_of
from .runtime._runner import Runner

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
    from types import TracebackType

    from anyio.abc import TaskGroup

    from .config import RetryConfig, StreamConfig
    from .core.pipes import BasePipe
    from .runtime._policy import Policy

__all__ = ("AsyncStream", "StreamResults")


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
                pass
            await runner.done.wait()
        except BaseException:
            # The consumer is being cancelled: stop the stages with it.
            runner.cancel()
            raise
        self._finish()
        if runner.interrupt is not None:
            raise runner.interrupt
        if runner.failures:
            raise runner.error()
        return False

    def _finish(self) -> None:
        self._finished = True
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

    def through(
        self,
        pipe: BasePipe[T, R],
        *,
        on_error: ErrorPolicy | None = None,
        dead_letter: DeadLetterSink | None = None,
        retry: RetryConfig | None = None,
    ) -> AsyncStream[R]:
        """Return a new stream of *pipe*'s outputs; chainable.

        Nothing runs until the result is iterated. Settings given here apply to every pipe
        inside *pipe* that does not set its own (the innermost setting wins).

        Args:
            pipe: Any pipe, pipeline or stream stage.
            on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``.
            dead_letter: The dead-letter sink for ``"dead_letter"``.
            retry: Retry failed items before the error policy applies.
        """
        stream: AsyncStream[R] = AsyncStream(self.source, self.config)
        policy = policy_of(self.config).under(on_error, dead_letter, retry)
        stream._segments = (*self._segments, (pipe, policy))
        return stream

    def _new_runner(self) -> Runner[T]:
        plan = Plan.build(self._segments, self.config)
        return Runner(plan, self.source)

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
