"""StreamPipe and StreamPipeline: per-item defaults, error recovery and single values."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rivusio import AsyncStream, StreamError
from rivusio.streams import StreamPipe, StreamPipeline
from tests.helpers import Double, Inc, aiter_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Square(StreamPipe[int, int]):
    """Per-item: x * x."""

    async def process_item(self, item: int) -> int:
        return item * item


async def test_process_runs_process_item_on_one_value() -> None:
    """`process` returns process_item's result; the default process_item is the identity."""
    assert await Square().process(3) == 9
    assert await StreamPipe[int, int]().process(3) == 3


async def test_overridden_process_stream_can_delegate_to_the_default() -> None:
    """The default process_stream applies process_item to every item of its input."""

    class Labelled(Square):
        async def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:
            yield -1
            async for output in super().process_stream(stream):
                yield output

    assert [r async for r in AsyncStream(aiter_of([1, 2, 3])).through(Labelled())] == [
        -1,
        1,
        4,
        9,
    ]


async def test_default_handle_error_reraises() -> None:
    """StreamPipe.handle_error re-raises the error it is given."""
    error = ValueError("bad")
    with pytest.raises(ValueError, match=r"^bad$") as info:
        await StreamPipe[int, int]().handle_error(error, 1)
    assert info.value is error


async def test_handle_error_recovers_each_failed_item() -> None:
    """Without a process_stream override, handle_error's value replaces each failed output."""

    class Invert(StreamPipe[int, float]):
        async def process_item(self, item: int) -> float:
            return 1 / item

        async def handle_error(self, error: Exception, data: int) -> float:
            return float("inf") if isinstance(error, ZeroDivisionError) else -1.0

    stream = AsyncStream([2, 0, 4, 0]).through(Invert())
    assert [r async for r in stream] == [0.5, float("inf"), 0.25, float("inf")]


def test_stream_pipeline_needs_a_pipe() -> None:
    """An empty StreamPipeline is refused."""
    with pytest.raises(
        ValueError, match=r"^StreamPipeline: needs at least one pipe \(got an empty list\)$"
    ):
        StreamPipeline[int, int]([])


def test_stream_pipeline_repr_lists_its_pipes() -> None:
    """The repr of a stream pipeline names its pipes in order."""
    pipeline = Double() >> StreamPipe[int, int](name="hop") >> Inc()
    assert repr(pipeline) == "StreamPipeline(Double >> hop >> Inc)"


async def test_stream_pipeline_refuses_a_single_value() -> None:
    """A stream pipeline cannot process one value and says how to run it."""
    pipeline = Double() >> StreamPipe[int, int](name="hop")
    with pytest.raises(
        TypeError,
        match=r"^StreamPipeline\(Double >> hop\) contains stream stages and cannot run on a "
        r"single value; use pipeline\.stream\(source\) or "
        r"AsyncStream\(source\)\.through\(pipeline\)$",
    ):
        await pipeline.process(1)


class Doubled:
    """A class-based async iterator (no ``aclose``): twice each item of *items*."""

    def __init__(self, items: AsyncIterator[int]) -> None:
        self._items = items

    def __aiter__(self) -> Doubled:
        return self

    async def __anext__(self) -> int:
        return 2 * await self._items.__anext__()


async def test_process_stream_may_return_any_async_iterator() -> None:
    """process_stream may return an async iterator object instead of being a generator."""

    class Twice(StreamPipe[int, int]):
        def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:
            return Doubled(stream)

    assert [r async for r in AsyncStream(range(4)).through(Twice())] == [0, 2, 4, 6]


async def test_process_stream_returning_a_list_fails_the_stream() -> None:
    """A process_stream that returns no async iterator fails the stream and says why."""

    class Listed(StreamPipe[int, int]):
        def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:
            return [1, 2]  # type: ignore[return-value]

    with pytest.raises(
        StreamError,
        match=r"^stage 'Listed' failed: TypeError: stage 'Listed': process_stream\(\) must "
        r"return an async iterator \(write it as an async generator with 'yield'\), got list$",
    ):
        async for _ in AsyncStream(range(3)).through(Listed()):
            pass


async def test_process_stream_without_yield_is_a_clear_error() -> None:
    """An `async def process_stream` that forgot `yield` fails clearly and leaves no warning."""

    class Forgot(StreamPipe[int, int]):
        async def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:  # type: ignore[override]
            return stream

    with pytest.raises(StreamError, match="process_stream\\(\\) must return an async iterator"):
        async for _ in AsyncStream([1]).through(Forgot()):
            pass


def test_error_settings_on_a_whole_stream_pipe_are_refused() -> None:
    """on_error/retry cannot apply inside process_stream, so setting them is an error."""
    from rivusio import ConfigError, SyncStream

    class Whole(StreamPipe[int, int]):
        async def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:
            async for item in stream:
                yield item

    with pytest.raises(ConfigError, match=r"stage 'Whole': on_error apply to one item at a time"):
        list(SyncStream([1]).through(Whole(on_error="skip")))
