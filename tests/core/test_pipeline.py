"""SyncPipeline and AsyncPipeline run on single values."""

from __future__ import annotations

import pytest

from rivusio import AsyncPipeline, PipelineError, SyncPipeline
from rivusio.streams import StreamPipe

from ..helpers import Double, FailOn, Inc


def test_sync_pipeline_wraps_failures_in_pipeline_error() -> None:
    """A failing pipe raises PipelineError naming it, with the cause chained."""
    pipeline: SyncPipeline[int, int] = SyncPipeline([Double(), FailOn([4])])
    assert pipeline(1) == 2
    with pytest.raises(PipelineError, match="stage 'FailOn': ValueError: bad item 4") as info:
        pipeline(2)
    assert info.value.stage == "FailOn"
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.error is info.value.__cause__


async def test_async_pipeline_mixes_sync_and_async() -> None:
    """An AsyncPipeline awaits async pipes and calls sync ones."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Double(), Inc(), Double()])
    assert await pipeline(1) == 6
    assert await pipeline.process(2) == 10


async def test_async_pipeline_failure_names_the_innermost_pipe() -> None:
    """A failure in a nested pipeline is reported once, naming the failing pipe."""
    inner: AsyncPipeline[int, int] = AsyncPipeline([Inc(), FailOn([3])], name="inner")
    outer: AsyncPipeline[int, int] = AsyncPipeline([Double(), inner])
    with pytest.raises(PipelineError, match="stage 'FailOn'"):
        await outer(1)


def test_handle_error_replacement_in_a_pipeline() -> None:
    """A pipe's handle_error value replaces the failed output inside a pipeline."""

    class Guarded(FailOn):
        def handle_error(self, error: Exception, data: int) -> int:
            return 0

    pipeline: SyncPipeline[int, int] = SyncPipeline([Guarded([1]), Double()])
    assert pipeline(1) == 0


def test_get_pipe_outputs_is_bounded() -> None:
    """get_pipe_outputs keeps the last `keep_outputs` outputs of each pipe."""
    double, again = Double(), Double()
    pipeline: SyncPipeline[int, int] = SyncPipeline([double, again], keep_outputs=3)
    for i in range(10):
        pipeline(i)
    assert pipeline.get_pipe_outputs(double) == [14, 16, 18]
    assert pipeline.get_pipe_outputs(again) == [28, 32, 36]
    assert SyncPipeline([double], keep_outputs=0).get_pipe_outputs(double) == []


async def test_execute_conditional() -> None:
    """execute_conditional runs only when the condition holds."""
    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Inc()])
    assert await pipeline.execute_conditional(1, lambda x: x > 0) == 2
    assert await pipeline.execute_conditional(-1, lambda x: x > 0) == -1
    doubling: SyncPipeline[int, int] = SyncPipeline([Double()])
    assert doubling.execute_conditional(3, lambda x: False) == 3


def test_empty_pipeline_is_rejected() -> None:
    """A pipeline needs at least one pipe."""
    with pytest.raises(ValueError, match="SyncPipeline: needs at least one pipe"):
        SyncPipeline([])


def test_sync_pipeline_rejects_async_pipes() -> None:
    """SyncPipeline says to use AsyncPipeline for async pipes."""
    with pytest.raises(
        TypeError, match=r"pipes\[1\] \(Inc\) is not a sync pipe; use AsyncPipeline"
    ):
        SyncPipeline([Double(), Inc()])  # type: ignore[list-item]


def test_pipeline_repr_lists_the_chain() -> None:
    """The repr shows the pipes in order."""
    assert repr(Double() >> Inc()) == "AsyncPipeline(Double >> Inc)"


def test_pipeline_rejects_what_is_not_a_pipe() -> None:
    """Every element of a pipeline must be a rivusio pipe; the message gives its index."""
    with pytest.raises(
        TypeError, match=r"^AsyncPipeline: pipes\[1\] must be a rivusio pipe, got int$"
    ):
        AsyncPipeline([Inc(), 3])  # type: ignore[list-item]


def test_sync_pipeline_failure_in_a_nested_pipeline_names_the_innermost_pipe() -> None:
    """A nested SyncPipeline's PipelineError passes through the outer one unchanged."""
    inner: SyncPipeline[int, int] = SyncPipeline([FailOn([4])], name="inner")
    outer: SyncPipeline[int, int] = SyncPipeline([Double(), inner])
    with pytest.raises(PipelineError, match=r"^stage 'FailOn': ValueError: bad item 4$") as info:
        outer(2)
    assert isinstance(info.value.__cause__, ValueError)


def test_async_pipeline_rejects_stream_stages() -> None:
    """A stream stage cannot go in an AsyncPipeline; the message says to compose with >>."""
    with pytest.raises(
        TypeError,
        match=r"^AsyncPipeline: pipes\[1\] \(hop\) is a stream stage; compose with >> to get a "
        r"StreamPipeline and run it with \.stream\(source\)$",
    ):
        AsyncPipeline([Inc(), StreamPipe[int, int](name="hop")])


async def test_async_pipeline_uses_a_sync_pipes_handle_error() -> None:
    """In an AsyncPipeline, a sync pipe's handle_error value replaces its failed output."""

    class Guarded(FailOn):
        def handle_error(self, error: Exception, data: int) -> int:
            return -data

    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Guarded([3]), Inc()])
    assert [await pipeline(x) for x in (2, 3)] == [3, -2]


async def test_async_handle_error_receives_the_failed_input() -> None:
    """In an AsyncPipeline, an async pipe's handle_error gets the item, not a coroutine."""
    received: list[object] = []

    class Divide(Inc):
        async def process(self, data: int) -> int:
            return 10 // data

        async def handle_error(self, error: Exception, data: int) -> int:
            received.append(data)
            return -1

    pipeline: AsyncPipeline[int, int] = AsyncPipeline([Divide()])
    assert await pipeline(0) == -1
    assert received == [0]
