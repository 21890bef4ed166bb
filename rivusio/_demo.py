"""``rivusio demo``: simulated sensor readings filtered, enriched, batched and aggregated.

Everything here is generated in-process from a seed, so the demo needs no files and no
network, and the same seed gives the same numbers on every machine and on both backends.
"""

from __future__ import annotations

import functools
import math
import random
import time
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import attrs

from .aio import AsyncStream
from .core.pipes import SyncBasePipe
from .monitoring import PipelineMonitor
from .streams import BatchStreamPipe, StreamPipe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

SITES = ("airport", "harbour", "north")
"""Where the simulated sensors stand."""
SENSORS_PER_SITE = 4
BASE_CELSIUS = {"airport": 24.0, "harbour": 19.0, "north": 14.0}
HEAT_ALERT_CELSIUS = 30.0
"""Readings at or above this temperature raise a heat alert."""
FAULT_CODE = 85.0
"""What a faulty probe reports (the power-on value of common digital thermometers)."""


@attrs.frozen
class Reading:
    """One raw reading as a sensor sends it.

    Attributes:
        sensor: The sensor's id, e.g. ``"north-2"``.
        site: The site the sensor stands at.
        at: Seconds since the start of the simulation (one reading every 0.5 s).
        celsius: The temperature, or ``None`` when the reading was lost.
        humidity: Relative humidity in percent.
    """

    sensor: str
    site: str
    at: float
    celsius: float | None
    humidity: float


@attrs.frozen
class Enriched:
    """A valid reading with derived values.

    Attributes:
        reading: The raw reading (its ``celsius`` is not ``None``).
        dew_point: Dew point in degrees Celsius (Magnus formula).
        heat_alert: Whether the temperature is at or above :data:`HEAT_ALERT_CELSIUS`.
    """

    reading: Reading
    dew_point: float
    heat_alert: bool


@attrs.define
class SiteSummary:
    """Aggregates of one site's readings.

    Attributes:
        readings: How many readings were aggregated.
        total: Sum of their temperatures.
        low: Lowest temperature.
        high: Highest temperature.
        alerts: Heat alerts among them.
    """

    readings: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    alerts: int = 0

    def add(self, celsius: float, alert: bool) -> None:
        """Aggregate one reading."""
        self.readings += 1
        self.total += celsius
        self.low = min(self.low, celsius)
        self.high = max(self.high, celsius)
        self.alerts += alert

    def merge(self, other: SiteSummary) -> None:
        """Aggregate another summary of the same site into this one."""
        self.readings += other.readings
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        self.alerts += other.alerts

    @property
    def mean(self) -> float:
        """Mean temperature (``nan`` for no readings)."""
        return self.total / self.readings if self.readings else math.nan


def sensor_readings(count: int, *, seed: int = 7) -> Iterator[Reading]:
    """Generate *count* readings from 12 sensors at 3 sites, deterministically from *seed*.

    About 2% of readings are lost (``celsius=None``) and about 1% come from a faulty probe
    (``celsius=85.0``); the rest scatter around each site's base temperature, with rare
    heat spikes.
    """
    rng = random.Random(seed)
    for index in range(count):
        sensor = rng.randrange(len(SITES) * SENSORS_PER_SITE)
        site = SITES[sensor // SENSORS_PER_SITE]
        roll = rng.random()
        celsius: float | None
        if roll < 0.02:
            celsius = None
        elif roll < 0.03:
            celsius = FAULT_CODE
        else:
            spike = 9.0 if rng.random() < 0.01 else 0.0
            celsius = round(BASE_CELSIUS[site] + spike + rng.gauss(0.0, 2.5), 2)
        yield Reading(
            sensor=f"{site}-{sensor % SENSORS_PER_SITE + 1}",
            site=site,
            at=index * 0.5,
            celsius=celsius,
            humidity=round(rng.uniform(30.0, 90.0), 1),
        )


class DropFaulty(StreamPipe[Reading, Reading]):
    """Filter: keep readings with a plausible temperature."""

    async def process_stream(self, stream: AsyncIterator[Reading]) -> AsyncIterator[Reading]:
        """Yield every reading whose temperature is present and not the fault code."""
        async for reading in stream:
            if reading.celsius is not None and reading.celsius != FAULT_CODE:
                yield reading


class Enrich(SyncBasePipe[Reading, Enriched]):
    """Map: add the dew point and the heat alert flag."""

    def process(self, data: Reading) -> Enriched:
        """Derive the dew point and heat alert of one valid reading."""
        assert data.celsius is not None  # DropFaulty runs first
        gamma = math.log(data.humidity / 100.0) + 17.62 * data.celsius / (243.12 + data.celsius)
        return Enriched(
            reading=data,
            dew_point=round(243.12 * gamma / (17.62 - gamma), 2),
            heat_alert=data.celsius >= HEAT_ALERT_CELSIUS,
        )


class Summarize(BatchStreamPipe[Enriched, dict[str, SiteSummary]]):
    """Batch and aggregate: one per-site summary for every *batch_size* readings."""

    def __init__(self, batch_size: int) -> None:
        super().__init__(batch_size, name="summarize")

    async def process_batch(self, batch: list[Enriched]) -> dict[str, SiteSummary]:
        """Aggregate one batch of readings per site."""
        return summarize(batch)


def summarize(batch: list[Enriched]) -> dict[str, SiteSummary]:
    """Aggregate a batch of readings per site."""
    sites: dict[str, SiteSummary] = {}
    for item in batch:
        celsius = item.reading.celsius
        assert celsius is not None
        sites.setdefault(item.reading.site, SiteSummary()).add(celsius, item.heat_alert)
    return sites


@attrs.define
class DemoReport:
    """What one demo run did.

    Attributes:
        readings: Readings generated.
        sites: The merged summary per site, by site name.
        metrics: The run's metrics, from a :class:`~rivusio.monitoring.PipelineMonitor`.
        seconds: Wall-clock time of the run.
        backend: The anyio backend it ran on.
    """

    readings: int
    sites: dict[str, SiteSummary] = attrs.Factory(dict)
    metrics: dict[str, Any] = attrs.Factory(dict)
    seconds: float = 0.0
    backend: str = "asyncio"

    @property
    def stages(self) -> list[tuple[str, int, int]]:
        """``(stage, items in, items out)`` for every stage, in order."""
        return [
            (name, entry["items_in"], entry["items_out"])
            for name, entry in self.metrics["stages"].items()
        ]


async def _run(
    report: DemoReport, monitor: PipelineMonitor, *, seed: int, batch_size: int
) -> None:
    pipeline = DropFaulty(name="drop_faulty") >> Enrich(name="enrich") >> Summarize(batch_size)
    stream = AsyncStream(sensor_readings(report.readings, seed=seed)).through(pipeline)
    stream.set_monitor(monitor)
    async for summary in stream:
        for site, part in summary.items():
            report.sites.setdefault(site, SiteSummary()).merge(part)


def run_demo(
    *, count: int = 10_000, seed: int = 7, batch_size: int = 500, backend: str = "asyncio"
) -> DemoReport:
    """Run the demo pipeline and return what it did.

    Args:
        count: Readings to generate.
        seed: Seed of the generator; the same seed gives the same numbers.
        batch_size: Readings per summarized batch.
        backend: ``"asyncio"`` or ``"trio"``.
    """
    report = DemoReport(readings=count, backend=backend)
    monitor = PipelineMonitor(name="demo")
    started = time.perf_counter()
    anyio.run(
        functools.partial(_run, report, monitor, seed=seed, batch_size=batch_size),
        backend=backend,
    )
    report.seconds = time.perf_counter() - started
    report.metrics = monitor.get_metrics()
    return report


def _title(report: DemoReport, *, seed: int, batch_size: int) -> list[str]:
    sensors = len(SITES) * SENSORS_PER_SITE
    return [
        (
            f"rivusio demo: {report.readings} simulated sensor readings "
            f"({sensors} sensors at {len(SITES)} sites, seed {seed})"
        ),
        f"pipeline: drop_faulty >> enrich >> summarize (batches of {batch_size})",
    ]


def _footer(report: DemoReport) -> list[str]:
    rate = report.readings / report.seconds if report.seconds else 0.0
    times = report.metrics["processing_time"]
    lines = []
    if times["count"]:
        per_item = f"processing time per item and stage: average {times['average'] * 1e6:.1f} µs"
        if times["p99"] is not None:
            per_item += f", p99 {times['p99'] * 1e6:.1f} µs"
        lines.append(per_item)
    lines.append(f"done in {report.seconds:.3f} s on {report.backend} ({rate:,.0f} readings/s)")
    return lines


SITE_HEADINGS = ("site", "readings", "mean C", "min C", "max C", "heat alerts")


def _site_rows(report: DemoReport) -> list[tuple[str, ...]]:
    return [
        (site, str(s.readings), f"{s.mean:.2f}", f"{s.low:.2f}", f"{s.high:.2f}", str(s.alerts))
        for site, s in sorted(report.sites.items())
    ]


def print_report(report: DemoReport, *, seed: int, batch_size: int, out: TextIO) -> None:
    """Write *report* as plain text to *out*."""
    lines = [*_title(report, seed=seed, batch_size=batch_size), ""]
    lines.append(f"{'stage':<12} {'items in':>9} {'items out':>10}")
    lines += [
        f"{name:<12} {items_in:>9} {items_out:>10}" for name, items_in, items_out in report.stages
    ]
    lines.append("")
    widths = (10, 8, 7, 7, 7, 11)
    for row in (SITE_HEADINGS, *_site_rows(report)):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append(" ".join(cells))
    lines += ["", *_footer(report)]
    out.write("\n".join(lines) + "\n")


def print_rich_report(report: DemoReport, *, seed: int, batch_size: int, console: Any) -> None:
    """Show *report* on a ``rich`` console, as tables."""
    from rich.table import Table

    title, pipeline = _title(report, seed=seed, batch_size=batch_size)
    console.print(f"[bold]{title}[/bold]")
    console.print(pipeline)
    stages = Table(title="stages", title_justify="left")
    stages.add_column("stage")
    stages.add_column("items in", justify="right")
    stages.add_column("items out", justify="right")
    for name, items_in, items_out in report.stages:
        stages.add_row(name, str(items_in), str(items_out))
    console.print(stages)
    sites = Table(title="sites", title_justify="left")
    for index, heading in enumerate(SITE_HEADINGS):
        sites.add_column(heading, justify="left" if index == 0 else "right")
    for row in _site_rows(report):
        sites.add_row(*row)
    console.print(sites)
    for line in _footer(report):
        console.print(line)
