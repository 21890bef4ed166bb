"""The guide's "Sync Streams" example: a sync pipe over a plain iterable, no event loop.

``BatchSumPipe`` is the guide's class, as written. A chain of sync pipes in a
``SyncStream`` runs inline in the calling thread, so no backend is involved; the script
accepts ``asyncio`` or ``trio`` like the other examples and gives the same output::

    python examples/sync_streams.py
"""

# The class below is copied from the user guide unchanged, so these rules (modern spellings
# of typing.List) are not applied to it.
# ruff: noqa: UP006, UP035

from __future__ import annotations

import sys
from typing import Iterator, List

from rivusio import SyncBasePipe, SyncStream


class BatchSumPipe(SyncBasePipe[List[float], float]):
    def process(self, batch: List[float]) -> float:
        return sum(batch)


def number_generator() -> Iterator[List[float]]:
    """Yield three batches of numbers."""
    batches = [
        [1.0, 2.0, 3.0],
        [4.0, 5.0, 6.0],
        [7.0, 8.0, 9.0],
    ]
    yield from batches


def main() -> None:
    """Sum each batch and print the sums."""
    # Create stream and pipe
    stream = SyncStream(number_generator())
    pipe = BatchSumPipe()

    # Process stream
    for batch_sum in stream.through(pipe):
        print(f"Batch sum: {batch_sum}")


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["asyncio"], ["trio"]):
        sys.exit("usage: python examples/sync_streams.py [asyncio|trio]")
    main()
