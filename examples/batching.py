"""The guide's "Batching" example, then batches that close on time.

``BatchProcessor`` is the guide's class, as written: ``process_batch`` hands each batch to
``process_items``, which applies ``process_item`` to every item. ``Uppercase`` builds on it
with a ``process_item`` of its own.

The second part batches a source that sends bursts of events: ``max_wait`` bounds how long
the first event of a batch waits, so each burst leaves as one batch, well before the next
burst and without waiting for a full batch.

Run it on either backend::

    python examples/batching.py          # asyncio
    python examples/batching.py trio
"""

# The class below is copied from the user guide unchanged, so these rules (modern spellings
# of typing.Dict and typing.List, type arguments on them) are not applied to it.
# ruff: noqa: UP006, UP035
# mypy: disable-error-code="type-arg"

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Dict, List

import anyio

from rivusio import AsyncStream
from rivusio.streams import BatchStreamPipe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class BatchProcessor(BatchStreamPipe[Dict, List]):
    def __init__(self, batch_size: int):
        super().__init__(batch_size)

    async def process_batch(self, batch: List[Dict]) -> List:
        return await self.process_items(batch)


class Uppercase(BatchProcessor):
    """The guide's processor with a step for each item."""

    # The result type is left open: StreamPipe, the base of every stage, declares
    # process_item as returning the stage's output type, which here is a whole batch.
    async def process_item(self, item: dict[str, Any]) -> Any:
        return {**item, "name": item["name"].upper()}


USERS = [{"name": name} for name in ("ada", "alan", "grace", "edsger", "barbara")]


async def bursts() -> AsyncIterator[dict[str, Any]]:
    """Yield bursts of 3, 2 and 1 events, 0.5 s apart."""
    for burst, size in enumerate((3, 2, 1)):
        if burst:
            await anyio.sleep(0.5)
        for number in range(size):
            yield {"burst": burst, "event": number}


async def main() -> None:
    """Print the guide's batches, then the batches of a bursty source."""
    async for batch in AsyncStream(USERS).through(BatchProcessor(2)):
        print(batch)
    async for batch in AsyncStream(USERS).through(Uppercase(3)):
        print([user["name"] for user in batch])

    # Up to 100 events per batch, but no event waits more than 0.2 s for its batch.
    batches: BatchStreamPipe[dict[str, Any], list[dict[str, Any]]] = BatchStreamPipe(
        100, max_wait=timedelta(seconds=0.2)
    )
    async for batch in AsyncStream(bursts()).through(batches):
        print(f"{len(batch)} events from burst {batch[0]['burst']}")


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["asyncio"], ["trio"]):
        sys.exit("usage: python examples/batching.py [asyncio|trio]")
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
