"""The examples of docs/explanation/async-with.md, which includes them from here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import pytest

from rivusio import AsyncBasePipe, AsyncStream, StreamError
from rivusio.testing import assert_no_leaked_tasks

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Lookup(AsyncBasePipe[int, int]):
    """A pipe that holds a connection while the stream runs; records open and close."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    async def setup(self) -> None:
        self.log.append("open")

    async def teardown(self) -> None:
        self.log.append("close")

    async def process(self, data: int) -> int:
        if data < 0:
            raise ValueError(f"no record for {data}")
        return data * 10


async def sensor() -> AsyncIterator[int]:
    """An endless source: 0, 1, 2, ... one every 0.1 seconds."""
    number = 0
    while True:
        yield number
        number += 1
        await anyio.sleep(0.1)


async def test_async_with_has_torn_down_when_the_block_exits() -> None:
    """However the block ends, every stage is stopped and torn down when it exits."""
    lookup = Lookup()
    with assert_no_leaked_tasks():
        async with AsyncStream(sensor()).through(lookup) as results:
            async for value in results:
                if value == 20:
                    break
        assert lookup.log == ["open", "close"]


async def test_async_with_lets_the_bodys_exception_out_unchanged() -> None:
    """An exception raised in the block comes out as it is, after teardown."""
    lookup = Lookup()
    with assert_no_leaked_tasks(), pytest.raises(KeyError, match="'missing'"):
        async with AsyncStream(sensor()).through(lookup) as results:
            async for _ in results:
                raise KeyError("missing")
    assert lookup.log == ["open", "close"]


async def test_bare_loop_that_runs_to_the_end_has_torn_down() -> None:
    """A bare loop over a stream that ends exits only after teardown."""
    lookup = Lookup()
    with assert_no_leaked_tasks():
        values = [value async for value in AsyncStream([1, 2, 3]).through(lookup)]
        assert (values, lookup.log) == ([10, 20, 30], ["open", "close"])


async def test_bare_loop_stopped_by_a_stream_error_has_torn_down() -> None:
    """A bare loop that ends with a StreamError raises it only after teardown."""
    lookup = Lookup()
    with assert_no_leaked_tasks(), pytest.raises(StreamError, match="no record for -1"):
        async for _ in AsyncStream([1, -1, 2]).through(lookup):
            pass
    assert lookup.log == ["open", "close"]


async def test_bare_loop_cancelled_from_outside_has_torn_down() -> None:
    """A bare loop cancelled by move_on_after exits only after the teardown."""
    lookup = Lookup()
    with assert_no_leaked_tasks(), anyio.move_on_after(0.5):
        async for _ in AsyncStream(sensor()).through(lookup):
            pass
    assert lookup.log == ["open", "close"]


async def test_bare_loop_left_early_tears_down_in_the_background() -> None:
    """After a break, the stages are cancelled at once and teardown follows a few ticks later."""
    lookup = Lookup()
    with assert_no_leaked_tasks():
        async for value in AsyncStream(sensor()).through(lookup):
            if value == 20:
                break
        assert lookup.log == ["open"]  # cancelled, but not torn down yet

        started = anyio.current_time()
        for _ in range(6):
            await anyio.lowlevel.checkpoint()
        assert lookup.log == ["open", "close"]
        assert anyio.current_time() == started
