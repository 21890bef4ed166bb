"""Stages: the units the runner schedules, one task each.

A stage's whole contract: receive chunks from its inbox until the inbox ends, send outputs
to its outbox, and return. The runner flushes and closes the outbox afterwards, runs the
hooks' ``setup``/``teardown`` around it, and turns exceptions into stream errors.
"""

from __future__ import annotations

import inspect
from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import attrs

from ._chain import chain_runs
from ._links import MAX_CHUNK
from ._policy import StageFailure
from ._stats import StageStats
from ._steps import Step, Unit, apply_all

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from ..config import BackpressureConfig
    from ._links import Link


class Stage(Protocol):
    """What the runner needs of a stage.

    Two optional class attributes refine it: ``uses_timers`` (a ``SyncStream`` then reads a
    blocking source in a worker thread, so the stage's timers keep running) and
    ``own_inputs`` (the stage has inputs besides its inbox, as ``merge`` does: after a
    failure upstream it is stopped once its inbox is drained).
    """

    name: str
    """Shown in errors, metrics and task names."""
    backpressure: BackpressureConfig | None
    """Settings of the stage's inbox; ``None`` takes the stream's."""
    hooks: tuple[Any, ...]
    """Objects whose ``setup()``/``teardown()`` run around the stage, in this order."""

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        """Process every chunk of *inbox* into *outbox*; return when the inbox ends."""

    def stats(self) -> list[StageStats]:
        """The stage's counters (one per pipe for fused stages)."""


SLOW_SLICE = 0.001
"""Seconds a slice of a chunk may take before the next slice is cut back to one item."""


@attrs.define(eq=False)
class FusedStage:
    """Consecutive per-item steps run in one task, a chunk at a time."""

    steps: list[Step]
    backpressure: BackpressureConfig | None = None
    name: str = attrs.field(init=False)
    hooks: tuple[Any, ...] = attrs.field(init=False)
    units: list[Unit] = attrs.field(init=False)
    _slice: int = attrs.field(init=False, default=1)

    def __attrs_post_init__(self) -> None:
        self.name = " >> ".join(step.name for step in self.steps)
        self.hooks = tuple(hook for step in self.steps for hook in step.hooks)
        self.units = chain_runs(self.steps)

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        waits = any(step.is_async for step in self.steps)
        while True:
            try:
                chunk = await inbox.get()
            except anyio.EndOfStream:
                return
            if waits:
                await self._run_in_slices(chunk, outbox)
            else:
                await self._run_chunk(chunk, outbox)

    async def _run_chunk(self, chunk: list[Any], outbox: Link[Any]) -> None:
        try:
            chunk = await apply_all(self.units, chunk)
        except StageFailure as failure:
            await outbox.put_many(failure.before)
            raise
        if chunk:
            await outbox.put_many(chunk)

    async def _run_in_slices(self, chunk: list[Any], outbox: Link[Any]) -> None:
        # An async step may wait on I/O for each item. Taking a whole chunk through it
        # before passing anything on would hold every output back until the slowest item
        # of the chunk is done, so the chunk goes in slices: one item while items take
        # time, doubling while they do not, so steps that never really wait still get
        # whole chunks.
        size = self._slice
        start = 0
        while start < len(chunk):
            began = anyio.current_time()
            await self._run_chunk(chunk[start : start + size], outbox)
            start += size
            if anyio.current_time() - began < SLOW_SLICE:
                size = min(size * 2, MAX_CHUNK)
            else:
                size = 1
        self._slice = size

    def stats(self) -> list[StageStats]:
        return [step.stats for step in self.steps]


class InboxItems:
    """The items of an inbox as an async iterator, for ``process_stream``."""

    def __init__(self, inbox: Link[Any], stats: StageStats) -> None:
        self._inbox = inbox
        self._stats = stats
        self._chunk: list[Any] = []
        self._next = 0
        self.waited = 0.0
        """Seconds spent waiting for input, kept only while the stage is timed."""

    def __aiter__(self) -> InboxItems:
        return self

    async def __anext__(self) -> Any:
        index = self._next
        if index >= len(self._chunk):
            timed = self._stats.timings is not None
            started = perf_counter() if timed else 0.0
            try:
                self._chunk = await self._inbox.get()
            except anyio.EndOfStream:
                raise StopAsyncIteration from None
            finally:
                if timed:
                    self.waited += perf_counter() - started
            self._stats.items_in += len(self._chunk)
            index = 0
        self._next = index + 1
        return self._chunk[index]


@attrs.define(eq=False)
class StreamFunctionStage:
    """A stage running a user's ``process_stream(items) -> async iterator`` function."""

    name: str
    process_stream: Callable[[AsyncIterator[Any]], AsyncIterator[Any]]
    backpressure: BackpressureConfig | None = None
    hooks: tuple[Any, ...] = ()
    _stats: StageStats = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._stats = StageStats(self.name)

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        items = InboxItems(inbox, self._stats)
        outputs = self.process_stream(items)
        if not hasattr(outputs, "__anext__"):
            if inspect.iscoroutine(outputs):
                outputs.close()  # an `async def` with no `yield`: never awaited, so close it
            raise TypeError(
                f"stage {self.name!r}: process_stream() must return an async iterator (write "
                f"it as an async generator with 'yield'), got {type(outputs).__name__}"
            )
        stats = self._stats
        try:
            if stats.timings is None:
                async for output in outputs:
                    stats.items_out += 1
                    await outbox.put(output)
            else:
                await _timed_outputs(outputs, items, stats, outbox)
        finally:
            aclose = getattr(outputs, "aclose", None)
            if aclose is not None:
                await aclose()

    def stats(self) -> list[StageStats]:
        return [self._stats]


async def _timed_outputs(
    outputs: AsyncIterator[Any], items: InboxItems, stats: StageStats, outbox: Link[Any]
) -> None:
    """Forward *outputs*, timing the work between outputs without the waits for input.

    Each stretch of work counts for the inputs taken during it, so the stage's times are
    per input item, like a per-item step's.
    """
    while True:
        taken, items.waited = stats.items_in, 0.0
        started = perf_counter()
        try:
            output = await outputs.__anext__()
        except StopAsyncIteration:
            stats.observe(perf_counter() - started - items.waited, stats.items_in - taken)
            return
        stats.observe(perf_counter() - started - items.waited, stats.items_in - taken)
        stats.items_out += 1
        await outbox.put(output)
