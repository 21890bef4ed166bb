"""``BatchStreamPipe``: group a stream's items into batches by size and by time."""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any, cast

import anyio
import attrs

from ..core._types import InT, OutT
from ..core.exceptions import ConfigError
from ..runtime._policy import NO_RESULT, process_group
from ..runtime._stats import StageStats
from ._pipe import StreamPipe
from ._windowing import _seconds

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import timedelta

    from ..config import BackpressureConfig, RetryConfig
    from ..core._types import DeadLetterSink, ErrorPolicy
    from ..monitoring import PipelineMonitor
    from ..runtime._links import Link
    from ..runtime._plan import Unit
    from ..runtime._policy import Policy

__all__ = ("BatchStreamPipe",)


def _batch_settings(
    batch_size: object, max_wait: object, idle_timeout: object
) -> tuple[int, float | None, float | None]:
    """Check the batch options; return them with durations as float seconds.

    Raises:
        ConfigError: One line per bad option.
    """
    problems: list[str] = []
    size = 1
    if not isinstance(batch_size, int) or isinstance(batch_size, bool):
        problems.append(f"batch_size: must be an int number of items (got {batch_size!r})")
    elif batch_size < 1:
        problems.append(f"batch_size: must be >= 1 (got {batch_size!r})")
    else:
        size = batch_size
    wait = None if max_wait is None else _seconds("max_wait", max_wait, problems)
    idle = None if idle_timeout is None else _seconds("idle_timeout", idle_timeout, problems)
    if problems:
        raise ConfigError(problems)
    return size, wait, idle


@attrs.define(eq=False, init=False)
class BatchStreamPipe(StreamPipe[InT, OutT]):
    """A stage that collects items into batches and calls :meth:`process_batch` once per batch.

    A batch closes, whichever comes first:

    * when it holds ``batch_size`` items;
    * ``max_wait`` after its first item arrived (a bound on how long any item waits);
    * ``idle_timeout`` after its latest item arrived (the source has gone quiet).

    The timers run while the source is idle: a batch never waits for the next item to find
    out that its time is up. At end of stream the partial last batch is processed; an empty
    batch is never processed. Each batch's result is emitted as one output (a returned list
    is not flattened).

    Subclass it and override :meth:`process_batch`, or use it as is to turn a stream of
    items into a stream of lists::

        class BulkInsert(BatchStreamPipe[Row, int]):
            def __init__(self) -> None:
                super().__init__(500, max_wait=timedelta(seconds=2))

            async def process_batch(self, batch: list[Row]) -> int:
                await db.insert_many(batch)
                return len(batch)

        async for batch in AsyncStream(rows()).through(BatchStreamPipe(100, max_wait=1.0)):
            ...

    When it blocks: the stage waits for input while its batch is not due, and waits for room
    downstream when it emits (backpressure). It holds at most ``batch_size`` items of its own.

    On error: an exception from :meth:`process_batch` goes through the pipe's error policy
    with the batch as the item: ``retry`` calls :meth:`process_batch` again with the same
    batch, then :meth:`handle_error` may return a replacement output, then ``on_error``
    decides (``"raise"`` fails the stream with a ``StreamError`` whose ``item`` is the
    batch, ``"skip"`` drops the batch, ``"dead_letter"`` sends it to ``dead_letter``). On
    failure or cancellation the open batch is dropped, never processed twice.

    Args:
        batch_size: The most items in a batch, ``>= 1``.
        max_wait: Seconds (``float`` or ``timedelta``, ``> 0``) after a batch's first item at
            which the batch closes, full or not. ``None``: no limit.
        idle_timeout: Seconds (``float`` or ``timedelta``, ``> 0``) without a new item after
            which the open batch closes. ``None``: no limit.
        config: Settings of this stage's input buffer (``None``: the stream's defaults).
        name: Shown in errors and metrics; defaults to the class name.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"`` for failed batches.
        dead_letter: Where ``"dead_letter"`` sends failed batches.
        retry: Retry a failed batch before the error policy applies.
        monitor: Record this stage's metrics into a monitor.

    Raises:
        ConfigError: An option is invalid, for example ``batch_size: must be >= 1 (got 0)``.

    .. versionadded:: 1.0
    """

    batch_size: int = attrs.field(kw_only=True)
    max_wait: float | timedelta | None = attrs.field(kw_only=True, default=None)
    idle_timeout: float | timedelta | None = attrs.field(kw_only=True, default=None)

    def __init__(
        self,
        batch_size: int,
        max_wait: float | timedelta | None = None,
        idle_timeout: float | timedelta | None = None,
        *,
        config: BackpressureConfig | None = None,
        name: str | None = None,
        on_error: ErrorPolicy | None = None,
        dead_letter: DeadLetterSink | None = None,
        retry: RetryConfig | None = None,
        monitor: PipelineMonitor | None = None,
    ) -> None:
        settings: dict[str, Any] = {} if name is None else {"name": name}
        self.__attrs_init__(
            batch_size=batch_size,
            max_wait=max_wait,
            idle_timeout=idle_timeout,
            config=config,
            on_error=on_error,
            dead_letter=dead_letter,
            retry=retry,
            monitor=monitor,
            **settings,
        )

    def __attrs_post_init__(self) -> None:
        _batch_settings(self.batch_size, self.max_wait, self.idle_timeout)

    async def process_batch(self, batch: list[InT]) -> OutT:
        """Process one batch; its return value is emitted as one output.

        The default returns the batch itself (a list).

        Args:
            batch: Between 1 and ``batch_size`` items, in arrival order. The list is the
                stage's own and is not used again after this call.

        Returns:
            The output for this batch.
        """
        return cast("OutT", batch)

    async def process_item(self, item: InT) -> Any:
        """Transform one item for :meth:`process_items`; the default returns it unchanged.

        Its result type is free: in a batch stage, only :meth:`process_batch` produces the
        stage's outputs.
        """
        return item

    async def process_items(self, batch: list[InT]) -> list[Any]:
        """Apply :meth:`process_item` to each item of *batch*.

        A helper for :meth:`process_batch`; the items are processed one after another, in
        order. An exception from any item fails the whole batch.

        Args:
            batch: The items.

        Returns:
            The results, in order.
        """
        return [await self.process_item(item) for item in batch]

    # The batch stage hands the failed batch, not a single item, to handle_error, so the
    # parameter's type differs from StreamPipe's.
    async def handle_error(self, error: Exception, data: list[InT]) -> OutT:
        """Recover from a failed :meth:`process_batch` call (default: re-raise).

        Called after retries are exhausted; the returned value is emitted in place of the
        batch's output. The default re-raises *error* and ``on_error`` takes over.

        Args:
            error: What :meth:`process_batch` raised.
            data: The batch that failed.
        """
        raise error

    def plan_units(self, policy: Policy) -> list[Unit]:
        """Describe this pipe to the planner: one batch stage of its own."""
        policy.check(self.name)
        size, wait, idle = _batch_settings(self.batch_size, self.max_wait, self.idle_timeout)
        if not inspect.iscoroutinefunction(self.process_batch):
            raise TypeError(
                f"stage {self.name!r}: process_batch() must be an 'async def' method (got "
                f"{self.process_batch!r}); write 'async def process_batch(self, batch)'"
            )
        overrides = type(self).handle_error is not BatchStreamPipe.handle_error
        return [
            _BatchStage(
                name=self.name,
                process=self.process_batch,
                handler=self.handle_error if overrides else None,
                policy=policy,
                size=size,
                max_wait=wait,
                idle_timeout=idle,
                backpressure=self.config,
                hooks=(self,),
            )
        ]


@attrs.define(eq=False, kw_only=True)
class _BatchStage:
    """The task that runs a :class:`BatchStreamPipe`."""

    name: str
    process: Callable[[list[Any]], Any]
    handler: Callable[[Exception, Any], Any] | None
    policy: Policy
    size: int
    max_wait: float | None
    idle_timeout: float | None
    backpressure: BackpressureConfig | None
    hooks: tuple[Any, ...]
    uses_timers: bool = attrs.field(init=False)
    batch: list[Any] = attrs.field(init=False, factory=list)
    """The open batch (read by ``buffer`` snapshots)."""
    _stats: StageStats = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.uses_timers = self.max_wait is not None or self.idle_timeout is not None
        self._stats = StageStats(self.name)

    def stats(self) -> list[StageStats]:
        return [self._stats]

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        size = self.size
        max_wait = math.inf if self.max_wait is None else self.max_wait
        idle_timeout = math.inf if self.idle_timeout is None else self.idle_timeout
        timed = self.uses_timers
        stats = self._stats
        first = 0.0
        deadline = math.inf
        # The clock as the stage last saw it; it never goes back, so a timer that fired a
        # hair before its deadline (float rounding) still counts as having reached it.
        now = -math.inf
        while True:
            if self.batch and timed:
                now = max(now, anyio.current_time())
                if now >= deadline:
                    # Due while the stage was busy emitting: close it before reading on, so
                    # that items arriving after the deadline start the next batch.
                    await self._emit(outbox)
                    continue
                with anyio.CancelScope(deadline=deadline) as timer:
                    try:
                        chunk = await inbox.get()
                    except anyio.EndOfStream:
                        break
                if timer.cancelled_caught:
                    # The receive was cancelled by the deadline alone; links are
                    # cancel-safe, so no item was lost.
                    now = max(now, deadline)
                    await self._emit(outbox)
                    continue
            else:
                try:
                    chunk = await inbox.get()
                except anyio.EndOfStream:
                    break
            stats.items_in += len(chunk)
            if timed:
                now = max(now, anyio.current_time())
            start = 0
            end = len(chunk)
            while start < end:
                batch = self.batch
                if not batch:
                    first = now
                room = size - len(batch)
                batch.extend(chunk[start : start + room])
                start += room
                if len(batch) >= size:
                    await self._emit(outbox)
            if timed and self.batch:
                deadline = min(first + max_wait, now + idle_timeout)
        if self.batch:
            await self._emit(outbox)

    async def _emit(self, outbox: Link[Any]) -> None:
        """Process the open batch and send its result; the stage forgets it first."""
        batch = self.batch
        # Forget the batch before processing it: whatever happens next (failure,
        # cancellation), it is never processed a second time.
        self.batch = []
        stats = self._stats
        result = await process_group(
            stage=self.name,
            fn=self.process,
            handler=self.handler,
            policy=self.policy,
            stats=stats,
            group=batch,
        )
        if result is NO_RESULT:
            return
        stats.items_out += 1
        await outbox.put(result)
