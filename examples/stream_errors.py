"""The guide's "Error Handling" example: catching the ``StreamError`` of a failing stream.

The stage divides 1 by each item and fails on ``0.0``. Under the default error policy
(``"raise"``) the consumer first receives every result that precedes the failing item, in
order; then the ``async for`` line itself raises :class:`~rivusio.streams.StreamError`,
which the outer ``except`` of the guide's block catches. The inner ``except StreamError``
guards ``process_result`` only. Run it on either backend::

    python examples/stream_errors.py          # asyncio
    python examples/stream_errors.py trio
"""

from __future__ import annotations

import sys

import anyio

from rivusio.streams import StreamError, StreamPipe


class Reciprocal(StreamPipe[float, float]):
    """A stage of its own that turns each number into its reciprocal."""

    async def process_item(self, item: float) -> float:
        """Return ``1 / item``; raises ``ZeroDivisionError`` for ``0.0``."""
        return 1 / item


pipe = Reciprocal()
data = [4.0, 2.0, 0.0, 1.0]


def process_result(result: float) -> None:
    """Print one result."""
    print(f"result: {result}")


def handle_stream_error(e: StreamError) -> None:
    """Report a ``StreamError`` raised while handling one result."""
    print(f"stream error while handling a result: {e}")


def handle_fatal_error(e: Exception) -> None:
    """Report the error that stopped the stream."""
    print(f"stream stopped: {type(e).__name__}: {e}")
    if isinstance(e, StreamError):
        print(f"stage={e.stage!r} item={e.item!r} cause={e.__cause__!r}")


async def main() -> None:
    """Run the guide's try/except block over a stream that fails on its third item."""
    try:
        async for result in pipe.stream(data):
            try:
                process_result(result)
            except StreamError as e:
                handle_stream_error(e)
    except Exception as e:
        handle_fatal_error(e)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
