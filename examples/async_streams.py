"""The guide's "Async Streams" example: an async pipe over an async source.

``AsyncNumberFilterPipe`` is the guide's class, as written: it keeps the numeric fields of
each record and returns ``None`` when there are none. ``None`` results are delivered like
any other value, and the loop skips them with ``if result:``. Run it on either backend::

    python examples/async_streams.py          # asyncio
    python examples/async_streams.py trio
"""

# The class below is copied from the user guide unchanged, so these rules (modern spellings
# of typing.Dict and typing.Optional, type arguments on Dict) are not applied to it.
# ruff: noqa: UP006, UP035, UP045
# mypy: disable-error-code="type-arg"

from __future__ import annotations

import sys
from typing import AsyncIterator, Dict, Optional

import anyio

from rivusio import AsyncBasePipe, AsyncStream


class AsyncNumberFilterPipe(AsyncBasePipe[Dict, Optional[Dict]]):
    async def process(self, data: Dict) -> Optional[Dict]:
        filtered = {k: v for k, v in data.items() if isinstance(v, (int, float))}
        return filtered if filtered else None


async def data_generator() -> AsyncIterator[Dict]:
    """Yield three records, 0.1 s apart, like a slow upstream."""
    data: list[Dict] = [
        {"a": 1, "b": "text", "c": 2.5},
        {"x": "skip", "y": "ignore"},
        {"d": 10, "e": 20.0, "f": 30},
    ]
    for item in data:
        yield item
        await anyio.sleep(0.1)  # Simulate async data source


async def main() -> None:
    """Filter the records and print the ones with numbers in them."""
    # Create stream and pipe
    stream = AsyncStream(data_generator())
    pipe = AsyncNumberFilterPipe()

    # Process stream
    async for result in stream.through(pipe):
        if result:  # Handle None results from filter
            print(f"Processed: {result}")


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
