"""Serve a monitor's metrics to Prometheus, and scrape them once (``rivusio[prometheus]``).

Runs a small stream with a monitored pipeline, serves ``/metrics`` on a free loopback port,
scrapes it like Prometheus would, and prints the counters (the timings vary, so they are
left out). Then adds the same monitor to a ``prometheus_client`` registry of its own, as an
application that already serves metrics would. Run it on either backend::

    python examples/exporters/prometheus_endpoint.py          # asyncio
    python examples/exporters/prometheus_endpoint.py trio
"""

from __future__ import annotations

import sys
import urllib.request

import anyio
import anyio.to_thread
from prometheus_client import CollectorRegistry, generate_latest

from rivusio import AsyncStream, SyncBasePipe
from rivusio.monitoring import PipelineMonitor
from rivusio.monitoring.prometheus import register, serve


class Parse(SyncBasePipe[str, float]):
    """Turn a reading into a number; refuse what is not one."""

    def process(self, data: str) -> float:
        """Return ``float(data)``."""
        return float(data)


COUNTERS = ("rivusio_items_processed", "rivusio_stage_items", "rivusio_stage_skipped")


def scrape(url: str) -> list[str]:
    """Fetch *url* as Prometheus would; return the lines that hold counts, not times."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode()
    return [line for line in text.splitlines() if line.startswith(COUNTERS)]


async def main() -> None:
    """Run the stream, then scrape its metrics."""
    monitor = PipelineMonitor(name="readings")
    pipe = Parse(on_error="skip")
    pipe.set_monitor(monitor)
    async for _ in AsyncStream(["1.5", "oops", "2.5"]).through(pipe):
        pass

    with serve(monitor, port=0) as server:  # 127.0.0.1 and a free port
        # A blocking HTTP call: run it in a worker thread, off the event loop.
        print("\n".join(await anyio.to_thread.run_sync(scrape, server.url)))

    registry = CollectorRegistry()
    register(monitor, registry=registry, namespace="shop")
    print(generate_latest(registry).decode().splitlines()[2])


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
