"""The guide's "Backpressure" example: a ``StreamPipe`` with its own bounded input buffer.

The stage reads from a buffer of at most 1000 items; a sender to a full buffer waits. From
80 % full on, each send into it is paced by 0.1 s per item until the fill drops again. Run
it on either backend::

    python examples/backpressure.py          # asyncio
    python examples/backpressure.py trio
"""

from __future__ import annotations

import sys

import anyio

from rivusio.streams import BackpressureConfig, StreamPipe

config = BackpressureConfig(
    max_buffer_size=1000,
    throttle_threshold=0.8,
    min_processing_time=0.1,
)

pipe: StreamPipe[float, float] = StreamPipe(config=config)


async def main() -> None:
    """Run five readings through the buffered stage and print them."""
    print(
        f"buffer: {config.max_buffer_size} items, paced by {config.min_processing_time} s "
        f"per item from {config.throttle_threshold:.0%} full"
    )
    async for reading in pipe.stream([20.5, 21.0, 21.5, 22.0, 22.5]):
        print(reading)


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
