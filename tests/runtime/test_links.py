"""Links: chunking, stealing pending items, overflow policies, throttling and statistics."""

from __future__ import annotations

import anyio
import pytest

from rivusio.runtime._links import MAX_CHUNK, Link, chunk_size_for


@pytest.mark.parametrize(
    ("capacity", "chunk"), [(0, 1), (1, 1), (7, 1), (8, 2), (1000, 250), (10_000, MAX_CHUNK)]
)
def test_chunk_size_keeps_a_full_channel_within_capacity(capacity: int, chunk: int) -> None:
    """A chunk is a quarter of the capacity, at least 1 and at most MAX_CHUNK items."""
    assert chunk_size_for(capacity) == chunk
    assert (capacity // chunk) * chunk <= max(capacity, chunk)


async def test_items_arrive_in_order_in_chunks() -> None:
    """Items put one by one arrive in order, grouped in chunks of `chunk` items."""
    link: Link[int] = Link("s", 16)
    for i in range(10):
        await link.put(i)
    await link.aclose_sender()
    chunks = []
    while True:
        try:
            chunks.append(await link.get())
        except anyio.EndOfStream:
            break
    link.close_receiver()
    assert chunks == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_idle_receiver_takes_the_pending_items() -> None:
    """A receiver finding the channel empty takes the sender's half-filled chunk."""
    link: Link[int] = Link("s", 16)
    await link.put(1)
    await link.put(2)
    assert await link.get() == [1, 2]
    assert link.pending == []
    link.close_receiver()
    link.close_sender()


async def test_waiting_receiver_gets_each_item_at_once() -> None:
    """While the receiver waits, every put is delivered immediately (no half chunks held)."""
    link: Link[int] = Link("s", 1000)
    got: list[tuple[float, list[int]]] = []

    async def receive() -> None:
        for _ in range(2):
            chunk = await link.get()
            got.append((anyio.current_time(), chunk))

    async with anyio.create_task_group() as tg:
        tg.start_soon(receive)
        await anyio.wait_all_tasks_blocked()
        assert link.receiver_waiting
        start = anyio.current_time()
        await link.put(1)
        await anyio.sleep(1)
        await link.put(2)
    link.close_receiver()
    link.close_sender()
    assert [(t - start, chunk) for t, chunk in got] == [(0.0, [1]), (1.0, [2])]


async def test_full_link_blocks_the_sender_and_counts_blocked_time() -> None:
    """A sender to a full link waits until the receiver makes room; the wait is measured."""
    link: Link[int] = Link("s", 4)  # chunks of 1, 4 slots
    for i in range(4):
        await link.put(i)
    assert link.buffered == 4

    async def drain_later() -> None:
        await anyio.sleep(2.5)
        assert await link.get() == [0]

    async with anyio.create_task_group() as tg:
        tg.start_soon(drain_later)
        await link.put(4)
    assert anyio.current_time() == 2.5
    assert link.statistics().blocked_time == 2.5
    assert link.statistics().buffered == 4
    link.close_receiver()
    link.close_sender()


async def test_drop_newest_drops_and_counts() -> None:
    """overflow='drop_newest' discards the new item when full and counts it."""
    link: Link[int] = Link("s", 2, overflow="drop_newest")
    for i in range(5):
        await link.put(i)
    assert [await link.get(), await link.get()] == [[0], [1]]
    assert link.statistics().dropped == 3
    link.close_receiver()
    link.close_sender()


async def test_drop_oldest_keeps_the_newest() -> None:
    """overflow='drop_oldest' evicts the oldest buffered item to make room."""
    link: Link[int] = Link("s", 2, overflow="drop_oldest")
    for i in range(5):
        await link.put(i)
    assert [await link.get(), await link.get()] == [[3], [4]]
    assert link.statistics().dropped == 3
    link.close_receiver()
    link.close_sender()


async def test_error_overflow_raises_naming_the_stage() -> None:
    """overflow='error' raises a clear error instead of waiting."""
    link: Link[int] = Link("enrich", 1, overflow="error")
    await link.put(0)
    with pytest.raises(BufferError, match=r"stage 'enrich': input buffer is full \(1 items\)"):
        await link.put(1)
    link.close_receiver()
    link.close_sender()


async def test_throttle_paces_sends_above_the_threshold() -> None:
    """Above the threshold each item waits min_processing_time; one pressure episode."""
    link: Link[int] = Link("s", 4, throttle_threshold=0.5, min_processing_time=0.25)
    for i in range(4):
        await link.put(i)
    # items 0 and 1 go out unpaced; items 2 and 3 find the link half full
    assert anyio.current_time() == 0.5
    stats = link.statistics()
    assert stats.pressure_episodes == 1
    assert stats.buffered == 4
    link.close_receiver()
    link.close_sender()


async def test_closed_receiver_breaks_the_sender() -> None:
    """Once the receiver stops, a send raises BrokenResourceError and pending is dropped."""
    link: Link[int] = Link("s", 1)
    link.close_receiver()
    assert link.receiver_closed
    with pytest.raises(anyio.BrokenResourceError):
        await link.put(1)
    link.close_sender()


async def test_pressure_episodes_are_counted_without_pacing() -> None:
    """Reaching the threshold counts an episode even when no pacing is configured."""
    link: Link[int] = Link("s", 4, throttle_threshold=0.5)
    for i in range(4):
        await link.put(i)
    assert anyio.current_time() == 0.0
    assert link.statistics().pressure_episodes == 1
    link.close_receiver()
    link.close_sender()


async def test_drop_oldest_without_room_drops_the_new_item() -> None:
    """Capacity 0 buffers nothing to drop, so drop_oldest drops the item nobody waits for."""
    link: Link[int] = Link("s", 0, overflow="drop_oldest")
    await link.put(1)
    stats = link.statistics()
    assert (stats.dropped, stats.items_sent, stats.buffered) == (1, 0, 0)
    got: list[list[int]] = []

    async def receive() -> None:
        got.append(await link.get())

    async with anyio.create_task_group() as tg:
        tg.start_soon(receive)
        await anyio.wait_all_tasks_blocked()
        await link.put(2)
    assert got == [[2]]
    assert (link.statistics().dropped, link.statistics().items_sent) == (1, 1)
    link.close_receiver()
    link.close_sender()


async def test_paced_sends_keep_order_when_the_receiver_takes_pending_items() -> None:
    """A receiver taking pending items while the sender sleeps for pacing keeps order."""
    link: Link[int] = Link("s", 8, throttle_threshold=0.5, min_processing_time=0.01)
    received: list[int] = []

    async def receive() -> None:
        while True:
            try:
                chunk = await link.get()
            except anyio.EndOfStream:
                return
            received.extend(chunk)
            await anyio.sleep(0.005)

    async with anyio.create_task_group() as tg:
        tg.start_soon(receive)
        for i in range(40):
            await link.put(i)
        await link.aclose_sender()
    link.close_receiver()
    assert received == list(range(40))


async def test_a_served_receiver_does_not_make_the_sender_send_single_items() -> None:
    """After a waiting receiver gets an item, later puts fill chunks again."""
    link: Link[int] = Link("s", 1000)  # chunks of 250 items, 4 slots

    async def take_one() -> None:
        await link.get()

    async with anyio.create_task_group() as tg:
        tg.start_soon(take_one)
        await anyio.wait_all_tasks_blocked()
        for i in range(100):
            await link.put(i)
    assert link.statistics().buffered == 0
    assert link.pending == list(range(1, 100))
    link.close_receiver()
    link.close_sender()
