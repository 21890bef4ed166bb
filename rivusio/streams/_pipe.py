"""``StreamPipe``: a stage that sees the whole stream, and ``StreamPipeline``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

import attrs

from ..aio import AsyncStream
from ..core._types import InT, OutT, R
from ..core.exceptions import ConfigError
from ..core.pipes import BasePipe
from ..runtime._plan import Unit, step_for, units_for
from ..runtime._stage import FusedStage, StreamFunctionStage

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence

    from ..config import BackpressureConfig, StreamConfig
    from ..runtime._policy import Policy

__all__ = ("StreamPipe", "StreamPipeline")


@attrs.define(eq=False)
class StreamPipe(BasePipe[InT, OutT]):
    """A stage with its own task and its own bounded input buffer.

    Override :meth:`process_item` for a per-item step that should run in a stage of its
    own (for instance to give a slow step its own buffer), or :meth:`process_stream` to see
    the whole stream: emit fewer or more outputs than inputs, keep state across items.

    Args:
        config: Settings of this stage's input buffer (``None``: the stream's defaults).

    Example::

        class Dedupe(StreamPipe[str, str]):
            async def process_stream(self, stream):
                seen = set()
                async for item in stream:
                    if item not in seen:
                        seen.add(item)
                        yield item

    When a stage blocks: it waits for input when its buffer is empty, and its
    ``process_stream`` waits when the next stage's buffer is full (backpressure). At end
    of stream, ``process_stream``'s loop ends and whatever it yields afterwards is still
    delivered. On error or cancellation its generator is closed.
    """

    config: BackpressureConfig | None = attrs.field(default=None)

    is_stream_stage: ClassVar[bool] = True

    async def process_stream(self, stream: AsyncIterator[InT]) -> AsyncIterator[OutT]:
        """Turn the stream of inputs into a stream of outputs.

        The default yields ``await self.process_item(item)`` for each item.

        Args:
            stream: The stage's inputs, ending when the upstream ends.
        """
        async for item in stream:
            yield await self.process_item(item)

    async def process_item(self, item: InT) -> Any:
        """Transform one item; the default returns it unchanged.

        Typed ``Any``: batch and window stages apply it inside a batch or window, where it
        need not produce the stage's output type.
        """
        return item

    async def process(self, data: InT) -> OutT:
        """Run :meth:`process_item` on one value."""
        return cast("OutT", await self.process_item(data))

    async def setup(self) -> None:
        """Acquire resources; runs once per run of a stream, before the first item."""

    async def teardown(self) -> None:
        """Release resources; runs once per run of a stream, also on error and cancellation."""

    async def handle_error(self, error: Exception, data: Any) -> OutT:
        """Recover from a failed :meth:`process_item` call (default: re-raise).

        Only used when :meth:`process_stream` is not overridden: the stage then applies
        retries, this method and the error policy to each item, like a per-item pipe.
        """
        raise error

    def plan_units(self, policy: Policy) -> list[Unit]:
        """Describe this pipe to the planner: one stage of its own."""
        if type(self).process_stream is StreamPipe.process_stream:
            step = step_for(self, policy, fn=self.process_item, is_async=True, base=StreamPipe)
            return [FusedStage([step], backpressure=self.config)]
        own = [name for name in ("on_error", "dead_letter", "retry") if getattr(self, name)]
        if own:
            raise ConfigError(
                f"stage {self.name!r}: {', '.join(own)} apply to one item at a time, but "
                f"{type(self).__name__} overrides process_stream(), which sees the whole "
                f"stream; handle errors inside process_stream(), or override process_item() "
                f"instead"
            )
        return [
            StreamFunctionStage(
                self.name, self.process_stream, backpressure=self.config, hooks=(self,)
            )
        ]

    def stream(
        self, source: AsyncIterable[InT] | Iterable[InT], config: StreamConfig | None = None
    ) -> AsyncStream[OutT]:
        """Run this pipe over *source*; iterate the result with ``async for``.

        Args:
            source: An async iterable, a sync iterable or an anyio receive stream.
            config: Stream-wide settings.
        """
        return AsyncStream(source, config).through(self)

    def __rshift__(self, other: BasePipe[OutT, R]) -> StreamPipeline[InT, R]:
        """Compose; any chain with a stream stage is a :class:`StreamPipeline`."""
        return cast("StreamPipeline[InT, R]", super().__rshift__(other))


@attrs.define(eq=False, init=False, repr=False)
class StreamPipeline(StreamPipe[InT, OutT]):
    """A chain of pipes with at least one stream stage; run it with :meth:`stream`.

    Per-item pipes next to each other are fused into one stage; every stream stage runs in
    a task of its own.
    """

    pipes: list[BasePipe[Any, Any]] = attrs.field(init=False)

    def __init__(
        self, pipes: Sequence[BasePipe[Any, Any]], name: str | None = None, **settings: Any
    ) -> None:
        self.__attrs_init__(name=name or type(self).__name__, **settings)
        if not pipes:
            raise ValueError("StreamPipeline: needs at least one pipe (got an empty list)")
        self.pipes = list(pipes)

    def __repr__(self) -> str:
        return f"StreamPipeline({' >> '.join(p.name for p in self.pipes)})"

    def plan_units(self, policy: Policy) -> list[Unit]:
        """Expand into the units of every pipe inside."""
        return [unit for pipe in self.pipes for unit in units_for(pipe, policy)]

    async def process(self, data: InT) -> OutT:
        """Not available: a stream pipeline needs a stream."""
        raise TypeError(
            f"{self!r} contains stream stages and cannot run on a single value; use "
            f"pipeline.stream(source) or AsyncStream(source).through(pipeline)"
        )
