"""The streams tutorial as one script: sources, ``through``, both ways to consume a stream,
stream stages and ``SyncStream``.

Run it on either backend::

    python examples/streams_tutorial.py          # asyncio
    python examples/streams_tutorial.py trio
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import anyio

from rivusio import AsyncBasePipe, AsyncStream, SyncBasePipe, SyncStream
from rivusio.streams import BackpressureConfig, StreamPipe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Shout(AsyncBasePipe[str, str]):
    """Upper-case a word, and say when the stream sets the pipe up and tears it down."""

    async def setup(self) -> None:
        """Runs once per run of a stream, before the first word."""
        print("  (setup)")

    async def teardown(self) -> None:
        """Runs once per run of a stream, after the last word, also on error."""
        print("  (teardown)")

    async def process(self, data: str) -> str:
        """Return *data* in upper case."""
        return data.upper()


class Exclaim(SyncBasePipe[str, str]):
    """Add an exclamation mark."""

    def process(self, data: str) -> str:
        """Return *data* with ``!`` appended."""
        return data + "!"


class Length(SyncBasePipe[str, int]):
    """Count the letters of a word."""

    def process(self, data: str) -> int:
        """Return the length of *data*."""
        return len(data)


class RunningTotal(StreamPipe[int, int]):
    """A stream stage: sees the whole stream and yields the total so far after each item."""

    async def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:
        """Yield the running sum of *stream*."""
        total = 0
        async for number in stream:
            total += number
            yield total


async def words() -> AsyncIterator[str]:
    """An async source: yields three words, one every 0.1 seconds."""
    for word in ["ready", "steady", "go"]:
        yield word
        await anyio.sleep(0.1)


async def sources() -> None:
    """The same pipe over a list, an async generator and an anyio memory object stream."""
    print([word async for word in AsyncStream(["a", "list"]).through(Exclaim())])
    print([word async for word in AsyncStream(words()).through(Exclaim())])

    send, receive = anyio.create_memory_object_stream[str](10)
    with send:
        send.send_nowait("a")
        send.send_nowait("channel")
    print([word async for word in AsyncStream(receive).through(Exclaim())])


async def chaining() -> None:
    """``through`` returns a new stream, so calls chain; ``>>`` gives the same result."""
    chained = AsyncStream(["one", "two"]).through(Shout()).through(Exclaim())
    print([word async for word in chained])
    composed = AsyncStream(["one", "two"]).through(Shout() >> Exclaim())
    print([word async for word in composed])


async def structured() -> None:
    """``async with``: every stage is torn down by the time the block exits, even on break."""
    async with AsyncStream(words()).through(Shout()) as results:
        async for word in results:
            print(word)
            if word == "STEADY":
                break
    print("after the block")


async def bare_loop() -> None:
    """A bare ``async for`` that runs to the end returns after teardown, too."""
    async for word in AsyncStream(words()).through(Shout()):
        print(word)
    print("after the loop")


async def stream_stage() -> None:
    """A ``StreamPipe`` runs as a stage of its own, with its own bounded input buffer."""
    print([total async for total in RunningTotal().stream([1, 2, 3, 4])])

    pipeline = Length() >> RunningTotal(config=BackpressureConfig(max_buffer_size=2))
    print(type(pipeline).__name__)
    async for total in pipeline.stream(words()):
        print(total)


def sync_stream(backend: str) -> None:
    """``SyncStream`` in a plain ``for`` loop: inline for sync pipes, a loop thread otherwise."""
    print(list(SyncStream(["no", "event", "loop"]).through(Exclaim())))
    print(list(SyncStream(["in", "a", "thread"], backend=backend).through(Shout() >> Exclaim())))


async def main() -> None:
    """Run the async parts of the tutorial in turn."""
    for part in (sources, chaining, structured, bare_loop, stream_stage):
        print(f"== {part.__name__}")
        await part()


if __name__ == "__main__":
    backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    anyio.run(main, backend=backend)
    print("== sync_stream")
    sync_stream(backend)
