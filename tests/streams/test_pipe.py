"""StreamPipe and StreamPipeline: per-item defaults, error recovery and single values."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rivusio import AsyncStream
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
