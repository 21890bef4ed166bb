"""Report a monitor's metrics through OpenTelemetry (``rivusio[otel]`` and the SDK).

Instruments a monitor on a ``MeterProvider`` whose reader collects on demand, runs a small
stream, collects once, and prints the stage counters as (instrument, stage, value). An
application would give the provider an exporter instead (OTLP, console, Prometheus). Run it
on either backend::

    python examples/exporters/opentelemetry_reader.py          # asyncio
    python examples/exporters/opentelemetry_reader.py trio
"""

from __future__ import annotations

import sys

import anyio
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from rivusio import AsyncStream, SyncBasePipe
from rivusio.monitoring import PipelineMonitor
from rivusio.monitoring.otel import instrument


class Parse(SyncBasePipe[str, float]):
    """Turn a reading into a number; refuse what is not one."""

    def process(self, data: str) -> float:
        """Return ``float(data)``."""
        return float(data)


async def main() -> None:
    """Run the stream, collect once, print the stage counters."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    monitor = PipelineMonitor(name="readings")
    instrument(monitor, meter_provider=provider)

    pipe = Parse(on_error="skip")
    pipe.set_monitor(monitor)
    async for _ in AsyncStream(["1.5", "oops", "2.5"]).through(pipe):
        pass

    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name.startswith("rivusio.stage.items"):
                    for point in metric.data.data_points:
                        attributes = point.attributes or {}
                        value = point.value  # type: ignore[union-attr]
                        print(metric.name, metric.unit, attributes["rivusio.stage"], value)
    provider.shutdown()


if __name__ == "__main__":
    anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
