"""The examples of docs/how-to/batching.md, which includes them from here.

Each test runs on asyncio and on trio, on a virtual clock that starts at 0.0, so the emission
times that ``collect_timed`` records are exact.
"""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from rivusio import AsyncStream, DeadLetter, RetryConfig, StreamError
from rivusio.streams import BatchStreamPipe
from rivusio.testing import ScriptedSource, collect_timed


class Doubler(BatchStreamPipe[int, list[int]]):
    """Doubles each item of a batch with process_items, which calls process_item per item."""

    async def process_item(self, item: int) -> int:
        return item * 2

    async def process_batch(self, batch: list[int]) -> list[int]:
        return await self.process_items(batch)


async def test_process_items_applies_process_item_to_each_item() -> None:
    """A batch of [1, 2] becomes one output, [2, 4]; the partial last batch comes at the end."""
    outputs = [batch async for batch in AsyncStream([1, 2, 3]).through(Doubler(2))]

    assert outputs == [[2, 4], [6]]


async def test_a_full_batch_closes_at_once() -> None:
    """A batch is emitted as soon as it holds batch_size items."""
    source = ScriptedSource([(0, "a"), (0, "b"), (0, "c"), (0.5, "d"), (0.5, "e"), (0.5, "f")])

    outputs = await collect_timed(AsyncStream(source).through(BatchStreamPipe[str, list[str]](3)))

    assert outputs == [(0.0, ["a", "b", "c"]), (1.5, ["d", "e", "f"])]


async def test_the_last_batch_is_processed_at_the_end_of_the_stream() -> None:
    """Without max_wait or idle_timeout, a partial batch waits for the end of the stream."""
    source = ScriptedSource([(0, "a"), (0.5, "b")], end_delay=3.0)  # ends at 3.5

    outputs = await collect_timed(AsyncStream(source).through(BatchStreamPipe[str, list[str]](10)))

    assert outputs == [(3.5, ["a", "b"])]


async def test_max_wait_closes_the_batch_while_the_source_is_idle() -> None:
    """A batch closes max_wait after its first item, though no further item arrives."""
    source = ScriptedSource([(0, "a"), (0.25, "b"), (5.0, "c")], end_delay=10.0)
    pipe = BatchStreamPipe[str, list[str]](10, max_wait=1.0)

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    # "b" came at 0.25 and "c" at 5.25: [a, b] is emitted at 1.0 while the source is idle.
    assert outputs == [(1.0, ["a", "b"]), (6.25, ["c"])]


async def test_max_wait_counts_from_the_first_item() -> None:
    """Items arriving steadily do not hold a batch open past max_wait after its first item."""
    source = ScriptedSource.spaced("abcdefg", 0.375, end_delay=5.0)  # "g" at 2.25
    pipe = BatchStreamPipe[str, list[str]](100, max_wait=timedelta(seconds=1))

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    # "a" came at 0.0 and "d" at 1.125, so their batches close at 1.0 and 2.125.
    assert outputs == [(1.0, ["a", "b", "c"]), (2.125, ["d", "e", "f"]), (3.25, ["g"])]


async def test_idle_timeout_counts_from_the_latest_item() -> None:
    """A batch closes idle_timeout after its latest item: when the burst is over."""
    source = ScriptedSource.spaced("abcdefg", 0.375, end_delay=5.0)  # "g" at 2.25
    pipe = BatchStreamPipe[str, list[str]](100, idle_timeout=0.5)

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    assert outputs == [(2.75, ["a", "b", "c", "d", "e", "f", "g"])]


async def test_max_wait_and_idle_timeout_together() -> None:
    """A burst goes out when it ends; a steady trickle is still cut every max_wait."""
    burst = [(0.0, "a"), (0.125, "b"), (0.125, "c")]  # at 0.0, 0.125 and 0.25
    trickle = [(0.75, "d")] + [(0.375, item) for item in "efghijk"]  # from 1.0, every 0.375 s
    source = ScriptedSource(burst + trickle, end_delay=5.0)
    pipe = BatchStreamPipe[str, list[str]](100, max_wait=2.0, idle_timeout=0.5)

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    assert outputs == [
        (0.75, ["a", "b", "c"]),  # 0.5 s after "c": the burst is over
        (3.0, ["d", "e", "f", "g", "h", "i"]),  # 2 s after "d", though items keep coming
        (4.125, ["j", "k"]),  # 0.5 s after "k", the last item
    ]


class BulkInsert(BatchStreamPipe[int, int]):
    """Stores a batch of amounts and returns how many it stored; refuses negative amounts."""

    async def process_batch(self, batch: list[int]) -> int:
        if any(amount < 0 for amount in batch):
            raise ValueError(f"negative amount in {batch!r}")
        await anyio.sleep(0.25)  # the insert
        return len(batch)


async def test_a_failed_batch_stops_the_stream_after_the_earlier_batches() -> None:
    """on_error="raise" (the default): the StreamError's item is the batch that failed."""
    stored: list[int] = []

    with pytest.raises(StreamError, match=r"stage 'BulkInsert' failed: ValueError") as caught:
        async for count in AsyncStream([10, 20, 30, -5, 40]).through(BulkInsert(2)):
            stored.append(count)

    assert stored == [2]
    assert caught.value.stage == "BulkInsert"
    assert caught.value.item == [30, -5]
    assert str(caught.value.__cause__) == "negative amount in [30, -5]"


async def test_a_failed_batch_goes_to_the_dead_letter_sink() -> None:
    """on_error="dead_letter": after the retries, the failed batch goes aside; the rest go on."""
    failed: list[DeadLetter] = []
    pipe = BulkInsert(
        2,
        retry=RetryConfig(attempts=2, delay=1.0),
        on_error="dead_letter",
        dead_letter=failed,
    )

    outputs = await collect_timed(AsyncStream([10, 20, 30, -5, 40]).through(pipe))

    # The failing batch is tried at 0.25 and again at 1.25, then dead-lettered.
    assert outputs == [(0.25, 2), (1.5, 1)]
    assert [(letter.item, letter.stage) for letter in failed] == [([30, -5], "BulkInsert")]
    assert str(failed[0].error) == "negative amount in [30, -5]"
