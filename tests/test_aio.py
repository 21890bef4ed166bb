"""AsyncStream: consumption styles, ordering, errors, teardown and cancellation."""

from __future__ import annotations

import gc
import itertools
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import pytest

from rivusio import AsyncStream, DeadLetter, RetryConfig, StreamConfig, StreamError
from rivusio.streams import StreamPipe
from rivusio.testing import assert_no_leaked_tasks

from .helpers import Double, FailOn, Hooks, Inc, aiter_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator


async def test_through_runs_sync_and_async_pipes_in_order() -> None:
    """A chain of sync and async pipes over a sync source yields every output in order."""
    results = [r async for r in AsyncStream(range(1000)).through(Double() >> Inc())]
    assert results == [x * 2 + 1 for x in range(1000)]


async def test_through_is_chainable_and_accepts_async_sources() -> None:
    """`.through(a).through(b)` equals `.through(a >> b)` over an async source."""
    stream = AsyncStream(aiter_of(range(10))).through(Double()).through(Inc())
    assert [r async for r in stream] == [x * 2 + 1 for x in range(10)]


async def test_receive_stream_source() -> None:
    """An anyio memory object receive stream is a source."""
    send, receive = anyio.create_memory_object_stream[int](5)
    async with anyio.create_task_group() as tg:

        async def produce() -> None:
            async with send:
                for i in range(5):
                    await send.send(i)

        tg.start_soon(produce)
        assert [r async for r in AsyncStream(receive).through(Inc())] == [1, 2, 3, 4, 5]


async def test_none_results_are_delivered() -> None:
    """`None` is a value like any other unless `skip_none` is set."""

    class Nothing(Double):
        def process(self, data: int) -> Any:
            return None if data % 2 else data

    assert [r async for r in AsyncStream(range(4)).through(Nothing())] == [0, None, 2, None]
    skipping = AsyncStream(range(4), StreamConfig(skip_none=True)).through(Nothing())
    assert [r async for r in skipping] == [0, 2]


async def test_async_with_tears_down_before_exit() -> None:
    """With `async with`, teardown has run when the block exits, even after `break`."""
    hooks = Hooks()
    async with AsyncStream(aiter_of(range(100))).through(hooks) as results:
        async for item in results:
            if item == 3:
                break
    assert hooks.events == ["setup", "teardown"]


async def test_bare_loop_to_the_end_tears_down_before_exit() -> None:
    """A bare `async for` that runs to the end returns only after teardown."""
    hooks = Hooks()
    assert [r async for r in AsyncStream(range(5)).through(hooks)] == list(range(5))
    assert hooks.events == ["setup", "teardown"]


async def test_bare_loop_break_stops_the_stages() -> None:
    """`break` out of a bare `async for` cancels the stages and runs teardown promptly."""
    hooks = Hooks()

    async def endless() -> AsyncIterator[int]:
        i = 0
        while True:
            yield i
            i += 1
            await anyio.sleep(0.01)

    async for item in AsyncStream(endless()).through(hooks):
        if item == 5:
            break
    gc.collect()
    with anyio.fail_after(1):
        while hooks.events != ["setup", "teardown"]:
            await anyio.lowlevel.checkpoint()
    assert anyio.current_time() < 0.1


async def test_bare_loop_consumer_exception_comes_out_unchanged() -> None:
    """An exception raised in the loop body propagates as is and the stages stop."""
    hooks = Hooks()
    with assert_no_leaked_tasks():
        with pytest.raises(KeyError, match="boom"):
            async for _ in AsyncStream(aiter_of(range(100), 0.01)).through(hooks):
                raise KeyError("boom")
        # The stages are cancelled at once; their teardown finishes a few ticks later.
        started = anyio.current_time()
        for _ in range(6):
            await anyio.lowlevel.checkpoint()
        assert hooks.events == ["setup", "teardown"]
        assert anyio.current_time() == started


async def test_async_with_consumer_exception_comes_out_unchanged() -> None:
    """With `async with`, the body's exception is not wrapped and teardown has run."""
    hooks = Hooks()
    with assert_no_leaked_tasks(), pytest.raises(KeyError, match="boom"):
        async with AsyncStream(aiter_of(range(100))).through(hooks) as results:
            async for _ in results:
                raise KeyError("boom")
    assert hooks.events == ["setup", "teardown"]


@pytest.mark.parametrize("style", ["async_with", "bare"])
async def test_outside_cancellation_stops_every_stage(style: str) -> None:
    """`move_on_after` around the loop stops the stream at the deadline and tears down."""
    hooks = Hooks()
    seen: list[int] = []

    async def endless() -> AsyncIterator[int]:
        i = 0
        while True:
            yield i
            i += 1
            await anyio.sleep(0.1)

    stream = AsyncStream(endless()).through(hooks)
    with anyio.move_on_after(0.45):
        if style == "async_with":
            async with stream as results:
                async for item in results:
                    seen.append(item)
        else:
            async for item in stream:
                seen.append(item)
    assert anyio.current_time() == 0.45
    assert seen == [0, 1, 2, 3, 4]
    # Both forms have finished the teardown by the time the cancelled loop exits.
    assert hooks.events == ["setup", "teardown"]


async def test_stage_failure_raises_stream_error_naming_the_pipe() -> None:
    """Under the default policy a failing pipe stops the stream with a StreamError."""
    hooks = Hooks()
    seen: list[int] = []
    with pytest.raises(StreamError, match="stage 'FailOn' failed: ValueError: bad item 3") as info:
        async for item in AsyncStream(aiter_of(range(10))).through(hooks >> FailOn([3])):
            seen.append(item)
    assert info.value.stage == "FailOn"
    assert info.value.item == 3
    assert isinstance(info.value.__cause__, ValueError)
    assert seen == [0, 1, 2]
    assert hooks.events == ["setup", "teardown"]


async def test_source_failure_is_a_stream_error() -> None:
    """A source that raises stops the stream with a StreamError for stage 'source'."""

    async def broken() -> AsyncIterator[int]:
        yield 1
        raise OSError("disk gone")

    with pytest.raises(StreamError, match="stage 'source' failed: OSError: disk gone") as info:
        async for _ in AsyncStream(broken()).through(Inc()):
            pass
    assert info.value.stage == "source"


async def test_simultaneous_failures_are_one_stream_error() -> None:
    """Two stages failing at once give one StreamError with the other attached."""

    class Explode(StreamPipe[int, int]):
        async def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:
            async for item in stream:
                yield item
            raise RuntimeError(self.name)

    with pytest.raises(StreamError) as info:
        async for _ in AsyncStream([1]).through(Explode(name="first") >> Explode(name="second")):
            pass
    error = info.value
    assert (error.stage, [o.stage for o in error.others]) == ("first", ["second"])
    assert str(error) == (
        "stage 'first' failed: RuntimeError: first (and 1 more failure(s): 'second')"
    )


async def test_skip_policy_counts_and_drops() -> None:
    """`on_error="skip"` drops failing items and keeps the rest in order."""
    stream = AsyncStream(range(10)).through(FailOn([2, 5]), on_error="skip")
    assert [r async for r in stream] == [0, 1, 3, 4, 6, 7, 8, 9]


async def test_dead_letter_policy_to_a_list() -> None:
    """`on_error="dead_letter"` sends a DeadLetter(item, error, stage) per failed item."""
    letters: list[DeadLetter] = []
    stream = AsyncStream(range(6)).through(
        Double() >> FailOn([4, 8]), on_error="dead_letter", dead_letter=letters
    )
    assert [r async for r in stream] == [0, 2, 6, 10]
    assert [(d.item, d.stage, str(d.error)) for d in letters] == [
        (4, "FailOn", "bad item 4"),
        (8, "FailOn", "bad item 8"),
    ]


async def test_dead_letter_to_a_send_stream_and_a_callable() -> None:
    """Dead letters can go to an anyio send stream or an (async) callable."""
    send, receive = anyio.create_memory_object_stream[DeadLetter](10)
    called: list[Any] = []

    async def record(letter: DeadLetter) -> None:
        called.append(letter.item)

    async with send:
        results = [
            r
            async for r in AsyncStream(range(4)).through(
                FailOn([1], on_error="dead_letter", dead_letter=send)
                >> FailOn([2], on_error="dead_letter", dead_letter=record)
            )
        ]
    assert results == [0, 3]
    async with receive:
        assert [d.item async for d in receive] == [1]
    assert called == [2]


async def test_innermost_setting_wins() -> None:
    """A pipe's own on_error beats the stream's, which beats the config's."""
    letters: list[DeadLetter] = []
    config = StreamConfig(on_error="dead_letter", dead_letter=letters)
    stream = AsyncStream(range(4), config).through(FailOn([1], on_error="skip") >> FailOn([2]))
    assert [r async for r in stream] == [0, 3]
    assert [d.item for d in letters] == [2]


async def test_handle_error_value_replaces_the_failed_output() -> None:
    """What `handle_error` returns is emitted in place of the failed item."""

    class Guarded(FailOn):
        def handle_error(self, error: Exception, data: int) -> int:
            return -data

    assert [r async for r in AsyncStream(range(4)).through(Guarded([2]))] == [0, 1, -2, 3]


async def test_retry_with_backoff_on_virtual_time() -> None:
    """Retries wait delay * backoff**(n-1) between tries and emit once they succeed."""
    tries: list[float] = []

    class Flaky(Inc):
        async def process(self, data: int) -> int:
            tries.append(anyio.current_time())
            if len(tries) < 3:
                raise TimeoutError("not yet")
            return data

    retry = RetryConfig(attempts=3, delay=0.5, backoff=2.0)
    assert [r async for r in AsyncStream([7]).through(Flaky(), retry=retry)] == [7]
    assert tries == [0.0, 0.5, 1.5]


async def test_retry_gives_up_after_attempts_then_applies_policy() -> None:
    """After `attempts` tries the error policy applies to the last error."""
    letters: list[DeadLetter] = []
    retry = RetryConfig(attempts=2, delay=0.1, retry_on=(ValueError,))
    stream = AsyncStream(range(3)).through(
        FailOn([1]), retry=retry, on_error="dead_letter", dead_letter=letters
    )
    assert [r async for r in stream] == [0, 2]
    assert [d.item for d in letters] == [1]
    assert anyio.current_time() == 0.1


async def test_retry_on_filters_exception_types() -> None:
    """Exceptions outside `retry_on` are not retried."""
    retry = RetryConfig(attempts=5, delay=1.0, retry_on=(TimeoutError,))
    with pytest.raises(StreamError, match="bad item 1"):
        async for _ in AsyncStream(range(3)).through(FailOn([1]), retry=retry):
            pass
    assert anyio.current_time() == 0.0


async def test_dead_letter_without_sink_is_a_config_error() -> None:
    """Choosing dead_letter with no sink fails before anything runs."""
    from rivusio import ConfigError

    with pytest.raises(ConfigError, match="on_error='dead_letter' needs a sink"):
        async for _ in AsyncStream(range(3)).through(FailOn([1]), on_error="dead_letter"):
            pass


async def test_cancellation_is_never_swallowed_by_policies() -> None:
    """A skip policy does not catch the cancellation of a slow step."""

    class Slow(Inc):
        async def process(self, data: int) -> int:
            await anyio.sleep(10)
            return data

    with anyio.move_on_after(1) as scope:
        async for _ in AsyncStream(range(3)).through(Slow(), on_error="skip"):
            pass
    assert scope.cancelled_caught
    assert anyio.current_time() == 1.0


async def test_teardown_runs_once_per_setup_when_setup_fails() -> None:
    """If a later setup fails, earlier pipes are torn down and the error names the pipe."""
    first = Hooks("first")

    class BadSetup(Hooks):
        async def setup(self) -> None:
            raise ConnectionError("no db")

    second = BadSetup("second")
    with pytest.raises(StreamError, match="stage 'second' failed: ConnectionError"):
        async for _ in AsyncStream(range(3)).through(first >> second):
            pass
    assert first.events == ["setup", "teardown"]
    assert second.events == []


def test_plain_for_over_async_stream_says_what_to_use() -> None:
    """Iterating an AsyncStream with `for` explains the fix."""
    with pytest.raises(TypeError, match=r"use 'async for', or rivusio\.SyncStream"):
        for _ in AsyncStream([1]):  # type: ignore[attr-defined]
            pass


class Halt(BaseException):
    """A BaseException that is not an error: like KeyboardInterrupt, but safe in a test."""


@pytest.mark.parametrize("style", ["async_with", "bare"])
async def test_base_exceptions_from_a_pipe_reach_the_consumer_bare(style: str) -> None:
    """A non-Exception BaseException raised by a pipe is neither wrapped nor swallowed."""

    class Interrupt(Inc):
        async def process(self, data: int) -> int:
            raise Halt

    stream = AsyncStream(range(3)).through(Interrupt())
    with pytest.raises(Halt):
        if style == "async_with":
            async with stream as results:
                async for _ in results:
                    pass
        else:
            async for _ in stream:
                pass


async def test_anext_on_results_reads_one_output_at_a_time() -> None:
    """`anext(results)` returns each output in order, then raises StopAsyncIteration."""
    async with AsyncStream(range(3)).through(Double()) as results:
        assert [await anext(results) for _ in range(3)] == [0, 2, 4]
        with pytest.raises(StopAsyncIteration):
            await anext(results)


async def test_next_chunk_after_anext_returns_the_rest_of_the_chunk() -> None:
    """`next_chunk()` after `anext()` returns the outputs not yet read, then None."""
    async with AsyncStream(range(4)).through(Double()) as results:
        assert await anext(results) == 0
        assert await results.next_chunk() == [2, 4, 6]
        assert await results.next_chunk() is None


async def test_aclose_stops_an_endless_stream_after_teardown() -> None:
    """`results.aclose()` stops the stages and returns once their teardown has run."""
    hooks = Hooks()
    async with AsyncStream(aiter_of(itertools.count(), delay=1)).through(hooks) as results:
        assert await anext(results) == 0
        await results.aclose()
        assert hooks.events == ["setup", "teardown"]
    assert anyio.current_time() == 0


async def test_entering_a_running_stream_again_is_refused() -> None:
    """A second `async with` on a stream already running says how to get a second run."""
    stream = AsyncStream(range(3)).through(Double())
    async with stream as results:
        with pytest.raises(
            RuntimeError,
            match=r"AsyncStream Double is already running; call \.through\(\) again for a "
            r"second, independent run",
        ):
            async with stream:
                pass
        assert [r async for r in results] == [0, 2, 4]


async def test_slow_async_pipe_passes_each_output_on_when_it_is_ready() -> None:
    """A slow async pipe over a list emits its first output after one item, not one chunk."""
    from rivusio.testing import collect_timed

    class Fetch(Inc):
        async def process(self, data: int) -> int:
            await anyio.sleep(1)
            return data

    timed = await collect_timed(AsyncStream(range(4)).through(Fetch() >> Double()))
    assert timed == [(1.0, 0), (2.0, 2), (3.0, 4), (4.0, 6)]


async def test_sync_source_failure_keeps_the_items_before_it() -> None:
    """A sync iterable source that raises: the items it gave first are still delivered."""

    def broken() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("gone")

    seen: list[int] = []
    with pytest.raises(StreamError, match="stage 'source' failed: OSError: gone"):
        async for item in AsyncStream(broken()).through(Double()):
            seen.append(item)
    assert seen == [2, 4]
