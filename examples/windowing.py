"""The guide's "Windowing" example, then keyed event-time windows with late data.

``WindowProcessor`` is the guide's class, as written. It collects readings into 0.4-second
windows of processing time: the readings come in three bursts, and each burst's window is
emitted at the window's end, while the source is quiet, not when the next burst arrives.

The second part windows sensor readings by their own timestamps (event time), per sensor,
and sends a reading that arrives after its window has closed to a list of late items.

Run it on either backend::

    python examples/windowing.py          # asyncio
    python examples/windowing.py trio
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
from rivusio.streams import WindowedStreamPipe, WindowResult

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class WindowProcessor(WindowedStreamPipe[Dict, List]):
    def __init__(self, window_size: timedelta):
        super().__init__(window_size)

    async def process_window(self, window: List[Dict]) -> List:
        return self.aggregate_window(window)


async def bursts() -> AsyncIterator[dict[str, Any]]:
    """Yield three bursts of readings, at 0 s, 1.0 s and 1.8 s."""
    readings = [
        [{"sensor": "a", "value": 1}, {"sensor": "b", "value": 2}],
        [{"sensor": "a", "value": 3}],
        [{"sensor": "b", "value": 4}, {"sensor": "a", "value": 5}],
    ]
    # Each burst lands in the middle of a 0.4 s window: [0, 0.4), [0.8, 1.2), [1.6, 2.0).
    for pause, burst in zip((0.0, 1.0, 0.8), readings, strict=True):
        await anyio.sleep(pause)
        for reading in burst:
            yield reading


Reading = tuple[str, float, float]
"""A sensor's name, the event time in seconds, and the value."""

# The readings arrive out of order, and the last one is so late that its window has already
# been emitted.
READINGS: list[Reading] = [
    ("a", 1.0, 20.0),
    ("b", 3.0, 21.5),
    ("a", 8.0, 22.0),
    ("b", 14.0, 19.0),
    ("a", 12.0, 23.0),
    ("a", 4.0, 99.0),
]


# With with_metadata=True the stage emits a WindowResult around each mean, so its output
# type is left open here.
class MeanPerSensor(WindowedStreamPipe[Reading, Any]):
    """The mean value of each sensor over 10-second windows of event time."""

    def aggregate_window(self, window: list[Reading]) -> float:
        return sum(value for _, _, value in window) / len(window)


async def main() -> None:
    """Print the processing-time windows, then the event-time windows and late items."""
    processor = WindowProcessor(timedelta(seconds=0.4))
    async for window in AsyncStream(bursts()).through(processor):
        print(window)

    late: list[Reading] = []
    per_sensor = MeanPerSensor(
        10.0,
        key=lambda reading: reading[0],
        timestamp=lambda reading: reading[1],
        allowed_lateness=2.0,
        align_to=0.0,
        on_late=late,
        with_metadata=True,
    )
    result: WindowResult[float]
    async for result in AsyncStream(READINGS).through(per_sensor):
        print(f"sensor {result.key} [{result.start:g}, {result.end:g}): mean {result.value}")
    print(f"late: {late}")


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["asyncio"], ["trio"]):
        sys.exit("usage: python examples/windowing.py [asyncio|trio]")
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
