"""OpenTelemetry export of :class:`~rivusio.monitoring.PipelineMonitor` metrics.

Needs ``opentelemetry-api``: ``pip install rivusio[otel]``; configure the
``opentelemetry-sdk`` (a ``MeterProvider`` with a reader and exporter) in your
application as usual.

:func:`instrument` creates asynchronous (observable) instruments whose callbacks read
``monitor.get_metrics()`` whenever the SDK collects, so nothing is recorded on the hot
path. Instruments follow the OpenTelemetry naming guidelines: lower-case, dot-separated
namespaces, snake_case words, UCUM units. Every observation carries ``rivusio.pipeline``
(the monitor's ``name`` or ``""``); stage instruments add ``rivusio.stage``:

- ``rivusio.pipeline.items`` (counter, ``{item}``): ``items_processed``;
- ``rivusio.pipeline.runs`` (counter, ``{run}``): ``runs``;
- ``rivusio.pipeline.run_time`` (counter, ``s``): ``total_time``;
- ``rivusio.pipeline.throughput`` (gauge, ``{item}/s``): ``throughput``;
- ``rivusio.pipeline.error_rate`` (gauge, ``1``): ``error_rate``;
- ``rivusio.pipeline.processing_time`` (gauge, ``s``): ``processing_time``;
- ``rivusio.stage.items_in``, ``.items_out``, ``.errors``, ``.retries``, ``.skipped``,
  ``.dead_lettered``, ``.dropped``, ``.late`` (counters): the stage's counts;
- ``rivusio.stage.buffer.usage`` and ``rivusio.stage.buffer.limit`` (up-down counters,
  ``{item}``): the fill and capacity of the stage's input buffer;
- ``rivusio.stage.blocked_time`` (counter, ``s``): time senders waited on that buffer;
- ``rivusio.stage.processing_time`` (gauge, ``s``): the stage's ``processing_time``.

The ``processing_time`` gauges report one observation per ``rivusio.statistic``
(``average``, ``min``, ``max``, ``p50``, ``p95``, ``p99``); statistics without a value
(no items timed yet, or percentiles without ``ddsketch``) are left out.

Example::

    from opentelemetry import metrics
    from rivusio.monitoring.otel import instrument

    monitor = PipelineMonitor(name="orders")
    instrument(monitor)                       # uses the global MeterProvider
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

try:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry.metrics import CallbackOptions, Observation
except ImportError as exc:
    raise ImportError(
        "rivusio.monitoring.otel needs opentelemetry-api: pip install 'rivusio[otel]'"
    ) from exc

from .pipeline_monitor import COUNTS, QUANTILES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from opentelemetry.metrics import Meter, MeterProvider

    from .pipeline_monitor import PipelineMonitor

__all__ = ("instrument",)

STATISTICS = ("average", "min", "max", *(name for name, _ in QUANTILES))

_COUNT_UNITS = {"errors": "{error}", "retries": "{retry}"}


def _statistics(times: dict[str, Any], attributes: dict[str, str]) -> Iterable[Observation]:
    for statistic in STATISTICS:
        value = times[statistic]
        if value is not None:
            yield Observation(value, {**attributes, "rivusio.statistic": statistic})


def instrument(
    *monitors: PipelineMonitor,
    meter_provider: MeterProvider | None = None,
    meter_name: str = "rivusio",
) -> Meter:
    """Create observable instruments that report *monitors* to OpenTelemetry.

    Args:
        *monitors: The monitors to export.
        meter_provider: Where the instruments live (default: the global provider set
            with ``opentelemetry.metrics.set_meter_provider``).
        meter_name: The instrumentation scope's name.

    Returns:
        The meter holding the instruments.
    """
    meter = otel_metrics.get_meter(meter_name, meter_provider=meter_provider)

    def pipelines(
        value: Callable[[dict[str, Any]], Any],
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            for monitor in monitors:
                attributes = {"rivusio.pipeline": monitor.name or ""}
                yield Observation(value(monitor.get_metrics()), attributes)

        return callback

    def stages(
        value: Callable[[dict[str, Any]], Any],
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            for monitor in monitors:
                pipeline = monitor.name or ""
                for stage, entry in monitor.get_metrics()["stages"].items():
                    attributes = {"rivusio.pipeline": pipeline, "rivusio.stage": stage}
                    yield Observation(value(entry), attributes)

        return callback

    def pipeline_times(options: CallbackOptions) -> Iterable[Observation]:
        for monitor in monitors:
            times = monitor.get_metrics()["processing_time"]
            yield from _statistics(times, {"rivusio.pipeline": monitor.name or ""})

    def stage_times(options: CallbackOptions) -> Iterable[Observation]:
        for monitor in monitors:
            pipeline = monitor.name or ""
            for stage, entry in monitor.get_metrics()["stages"].items():
                attributes = {"rivusio.pipeline": pipeline, "rivusio.stage": stage}
                yield from _statistics(entry["processing_time"], attributes)

    meter.create_observable_counter(
        "rivusio.pipeline.items",
        [pipelines(lambda m: m["items_processed"])],
        unit="{item}",
        description="Items the pipeline took in.",
    )
    meter.create_observable_counter(
        "rivusio.pipeline.runs",
        [pipelines(lambda m: m["runs"])],
        unit="{run}",
        description="Runs watched.",
    )
    meter.create_observable_counter(
        "rivusio.pipeline.run_time",
        [pipelines(lambda m: m["total_time"])],
        unit="s",
        description="Seconds the watched runs took.",
    )
    meter.create_observable_gauge(
        "rivusio.pipeline.throughput",
        [pipelines(lambda m: m["throughput"])],
        unit="{item}/s",
        description="Items processed per second of run time.",
    )
    meter.create_observable_gauge(
        "rivusio.pipeline.error_rate",
        [pipelines(lambda m: m["error_rate"])],
        unit="1",
        description="Failed calls divided by calls, over every stage.",
    )
    meter.create_observable_gauge(
        "rivusio.pipeline.processing_time",
        [pipeline_times],
        unit="s",
        description="Seconds a stage spends per item, over every stage.",
    )
    for key in COUNTS:
        meter.create_observable_counter(
            f"rivusio.stage.{key}",
            [stages(operator.itemgetter(key))],
            unit=_COUNT_UNITS.get(key, "{item}"),
            description=f"Stage count {key!r}.",
        )
    meter.create_observable_up_down_counter(
        "rivusio.stage.buffer.usage",
        [stages(lambda entry: entry["buffer_size"])],
        unit="{item}",
        description="Items in the stage's input buffer.",
    )
    meter.create_observable_up_down_counter(
        "rivusio.stage.buffer.limit",
        [stages(lambda entry: entry["capacity"])],
        unit="{item}",
        description="Capacity of the stage's input buffer.",
    )
    meter.create_observable_counter(
        "rivusio.stage.blocked_time",
        [stages(lambda entry: entry["blocked_time"])],
        unit="s",
        description="Seconds senders waited for room in the stage's input buffer.",
    )
    meter.create_observable_gauge(
        "rivusio.stage.processing_time",
        [stage_times],
        unit="s",
        description="Seconds the stage spends per item.",
    )
    return meter
