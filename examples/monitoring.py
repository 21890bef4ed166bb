"""The guide's "Monitoring" example: a ``PipelineMonitor`` on a stream pipe.

The guide's block attaches a monitor to ``pipe`` and reads ``monitor.get_metrics()``. Here
``pipe`` also runs over a few readings first, so that there is something to report: one
reading is negative, fails, and is skipped under ``on_error="skip"``.

Timings (``throughput``, ``processing_time``, ``total_time``) change from run to run, so
this script prints their keys and types and the figures that do not change: counts, the
error rate and the stage's buffer capacity. Run it on either backend::

    python examples/monitoring.py          # asyncio
    python examples/monitoring.py trio
"""

from __future__ import annotations

import sys

import anyio

from rivusio.monitoring import PipelineMonitor
from rivusio.streams import StreamPipe


class Celsius(StreamPipe[float, float]):
    """A stage of its own converting kelvin to degrees Celsius; refuses negative kelvin."""

    async def process_item(self, item: float) -> float:
        """Return ``item - 273.15``; raise ``ValueError`` below absolute zero."""
        if item < 0:
            raise ValueError(f"{item} K is below absolute zero")
        return round(item - 273.15, 2)


pipe = Celsius(on_error="skip")
source_data = [293.15, 300.0, -5.0, 273.15, 310.5]


async def main() -> None:
    """Attach a monitor as the guide does, run the stream, and print what it measured."""
    monitor = PipelineMonitor()
    pipe.set_monitor(monitor)

    async for result in pipe.stream(source_data):
        print(f"result: {result}")

    # Get stream metrics
    metrics = monitor.get_metrics()
    print(f"Throughput: {type(metrics['throughput']).__name__} (items/s)")
    print(f"Processing time: {', '.join(metrics['processing_time'])}")
    print(f"keys: {', '.join(sorted(metrics))}")
    print(
        f"items_processed={metrics['items_processed']} errors={metrics['errors']} "
        f"skipped={metrics['skipped']} error_rate={metrics['error_rate']:.2f} "
        f"runs={metrics['runs']}"
    )
    stage = metrics["stages"]["Celsius"]
    print(
        f"stage Celsius: items_in={stage['items_in']} items_out={stage['items_out']} "
        f"errors={stage['errors']} skipped={stage['skipped']} capacity={stage['capacity']} "
        f"timed items={stage['processing_time']['count']}"
    )


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
