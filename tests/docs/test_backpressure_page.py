"""The examples of docs/explanation/backpressure.md, which includes them from here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import pytest

from rivusio import AsyncStream, StreamConfig, StreamError, SyncBasePipe
from rivusio.streams import BackpressureConfig, StreamPipe
from rivusio.testing import ScriptedSource, collect_timed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from rivusio.config import OverflowPolicy


class SlowStage(StreamPipe[int, int]):
    """A stage of its own that takes one second per item."""

    async def process_item(self, item: int) -> int:
        await anyio.sleep(1)
        return item


class Double(SyncBasePipe[int, int]):
    """A per-item step: x * 2."""

    def process(self, data: int) -> int:
        return data * 2


async def test_a_full_buffer_makes_the_sender_wait() -> None:
    """With room for two items, the source runs at most a few items ahead of a slow stage."""
    produced_at: list[float] = []

    async def readings() -> AsyncIterator[int]:
        for number in range(6):
            produced_at.append(anyio.current_time())
            yield number

    stage = SlowStage(config=BackpressureConfig(max_buffer_size=2))
    outputs = await collect_timed(AsyncStream(readings()).through(stage))

    assert outputs == [(1.0, 0), (2.0, 1), (3.0, 2), (4.0, 3), (5.0, 4), (6.0, 5)]
    # At 0.0: one item in the stage's hands, two in its buffer, one waiting to be sent.
    assert produced_at == [0.0, 0.0, 0.0, 0.0, 1.0, 2.0]


async def test_items_in_flight_stay_within_the_bound() -> None:
    """An endless, instant source and a slow consumer: items in flight stay bounded."""
    produced = consumed = most_in_flight = 0

    async def endless() -> AsyncIterator[int]:
        nonlocal produced
        while True:
            produced += 1
            yield produced

    capacity = 16
    config = StreamConfig(backpressure=BackpressureConfig(max_buffer_size=capacity))
    async with AsyncStream(endless(), config).through(
        Double() >> StreamPipe[int, int]()
    ) as results:
        async for _ in results:
            consumed += 1
            most_in_flight = max(most_in_flight, produced - consumed)
            await anyio.sleep(0.01)
            if consumed == 1000:
                break

    chunk = min(256, max(1, capacity // 4))  # 4 items
    links = 3  # into Double, into the StreamPipe, into the consumer
    bound = links * capacity + links * 2 * chunk
    assert capacity < most_in_flight <= bound == 72


@pytest.mark.parametrize(
    ("overflow", "expected"),
    [
        ("drop_newest", [(1.0, 0), (2.0, 1), (3.0, 2)]),
        ("drop_oldest", [(1.0, 0), (2.0, 8), (3.0, 9)]),
    ],
)
async def test_dropping_overflow_policies(
    overflow: OverflowPolicy, expected: list[tuple[float, int]]
) -> None:
    """A full stage drops the newest or the oldest item instead of making the sender wait."""
    source = ScriptedSource.spaced(range(10), 0.1)  # one item every 0.1 s
    config = BackpressureConfig(max_buffer_size=2, overflow=overflow)

    outputs = await collect_timed(AsyncStream(source).through(SlowStage(config=config)))

    assert outputs == expected


async def test_error_overflow_policy_stops_the_stream() -> None:
    """overflow="error" fails the stream as soon as a send finds the stage's buffer full."""
    config = BackpressureConfig(max_buffer_size=2, overflow="error")
    with pytest.raises(StreamError) as caught:
        async for _ in AsyncStream(range(10)).through(SlowStage(config=config)):
            pass

    assert caught.value.stage == "source"
    assert str(caught.value.__cause__) == (
        "stage 'SlowStage': input buffer is full (2 items) and its overflow policy is 'error'; "
        "raise max_buffer_size or choose 'block', 'drop_oldest' or 'drop_newest'"
    )


async def test_throttling_paces_the_sender_above_the_threshold() -> None:
    """From half full on, each send into the stage waits 0.25 s before it goes."""
    produced_at: list[float] = []

    async def readings() -> AsyncIterator[int]:
        for number in range(8):
            produced_at.append(anyio.current_time())
            yield number

    config = BackpressureConfig(
        max_buffer_size=4, throttle_threshold=0.5, min_processing_time=0.25
    )
    outputs = await collect_timed(AsyncStream(readings()).through(SlowStage(config=config)))

    assert [item for _, item in outputs] == list(range(8))
    assert produced_at == [0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 2.0]
