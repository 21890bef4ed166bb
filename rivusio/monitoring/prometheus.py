"""Prometheus export of :class:`~rivusio.monitoring.PipelineMonitor` metrics.

Needs ``prometheus_client``: ``pip install rivusio[prometheus]``.

Two ways in:

- :func:`register` adds a :class:`PrometheusCollector` for your monitors to a
  ``prometheus_client`` registry (the default one unless you pass another), so an
  endpoint you already serve (``prometheus_client.start_http_server``, a web framework's
  ``/metrics`` route) shows them.
- :func:`serve` starts a small HTTP server of its own in a daemon thread, on the port you
  choose, bound to the loopback address unless you pass ``host``. It serves only the
  monitors' metrics, from a registry of its own.

The collector reads ``monitor.get_metrics()`` on every scrape, so the figures are live.
Every metric has the label ``pipeline`` (the monitor's ``name`` or ``""``); stage metrics
add ``stage`` (the stage's metric key):

- ``rivusio_items_processed_total``, ``rivusio_runs_total``,
  ``rivusio_run_seconds_total`` (counters): ``items_processed``, ``runs``,
  ``total_time``;
- ``rivusio_throughput_items_per_second``, ``rivusio_error_rate_ratio`` (gauges);
- ``rivusio_processing_seconds`` (summary): ``processing_time``, with quantiles 0.5,
  0.95 and 0.99 when known, ``_sum`` and ``_count``;
- ``rivusio_stage_items_in_total`` and likewise ``items_out``, ``errors``, ``retries``,
  ``skipped``, ``dead_lettered``, ``dropped``, ``late`` (counters);
- ``rivusio_stage_buffer_items``, ``rivusio_stage_buffer_capacity_items`` (gauges): the
  fill and capacity of the stage's input buffer;
- ``rivusio_stage_blocked_seconds_total``, ``rivusio_stage_pressure_episodes_total``
  (counters): time senders waited on that buffer, and how often it reached the throttle
  threshold;
- ``rivusio_stage_processing_seconds`` (summary): the stage's ``processing_time``.

Example::

    from rivusio.monitoring import PipelineMonitor
    from rivusio.monitoring.prometheus import serve

    monitor = PipelineMonitor(name="orders")
    pipe.set_monitor(monitor)
    with serve(monitor, port=9464):   # http://127.0.0.1:9464/metrics
        ...run the stream...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, final

try:
    from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.registry import Collector
except ImportError as exc:
    raise ImportError(
        "rivusio.monitoring.prometheus needs prometheus_client: pip install 'rivusio[prometheus]'"
    ) from exc

from .pipeline_monitor import COUNTS, QUANTILES

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterator
    from types import TracebackType
    from wsgiref.simple_server import WSGIServer

    from .pipeline_monitor import PipelineMonitor

__all__ = ("MetricsServer", "PrometheusCollector", "register", "serve")


def _summary(
    name: str, documentation: str, labels: dict[str, str], times: dict[str, Any]
) -> Metric:
    summary = Metric(name, documentation, "summary")
    for key, q in QUANTILES:
        value = times[key]
        if value is not None:
            summary.add_sample(name, {**labels, "quantile": str(q)}, value)
    count = times["count"]
    average = times["average"]
    summary.add_sample(f"{name}_sum", labels, average * count if count else 0.0)
    summary.add_sample(f"{name}_count", labels, count)
    return summary


class PrometheusCollector(Collector):
    """A ``prometheus_client`` collector reading one or more monitors on every scrape.

    Args:
        *monitors: The monitors to export; their ``name`` becomes the ``pipeline`` label.
        namespace: Prefix of every metric name.
    """

    def __init__(self, *monitors: PipelineMonitor, namespace: str = "rivusio") -> None:
        self.monitors = monitors
        self.namespace = namespace

    def collect(self) -> Iterator[Metric]:
        """Yield the current metrics of every monitor (called by ``prometheus_client``)."""
        ns = self.namespace
        pipeline_labels = ["pipeline"]
        stage_labels = ["pipeline", "stage"]
        processed = CounterMetricFamily(
            f"{ns}_items_processed", "Items the pipeline took in.", labels=pipeline_labels
        )
        runs = CounterMetricFamily(f"{ns}_runs", "Runs watched.", labels=pipeline_labels)
        run_time = CounterMetricFamily(
            f"{ns}_run_seconds", "Seconds the watched runs took.", labels=pipeline_labels
        )
        throughput = GaugeMetricFamily(
            f"{ns}_throughput_items_per_second",
            "Items processed per second of run time.",
            labels=pipeline_labels,
        )
        error_rate = GaugeMetricFamily(
            f"{ns}_error_rate_ratio",
            "Failed calls divided by calls, over every stage.",
            labels=pipeline_labels,
        )
        counts = {
            key: CounterMetricFamily(
                f"{ns}_stage_{key}", f"Stage count {key!r}.", labels=stage_labels
            )
            for key in COUNTS
        }
        buffer = GaugeMetricFamily(
            f"{ns}_stage_buffer_items", "Items in the stage's input buffer.", labels=stage_labels
        )
        capacity = GaugeMetricFamily(
            f"{ns}_stage_buffer_capacity_items",
            "Capacity of the stage's input buffer.",
            labels=stage_labels,
        )
        blocked = CounterMetricFamily(
            f"{ns}_stage_blocked_seconds",
            "Seconds senders waited for room in the stage's input buffer.",
            labels=stage_labels,
        )
        episodes = CounterMetricFamily(
            f"{ns}_stage_pressure_episodes",
            "Times the stage's input buffer reached the throttle threshold.",
            labels=stage_labels,
        )
        summaries: list[Metric] = []
        for monitor in self.monitors:
            metrics = monitor.get_metrics()
            pipeline = monitor.name or ""
            processed.add_metric([pipeline], metrics["items_processed"])
            runs.add_metric([pipeline], metrics["runs"])
            run_time.add_metric([pipeline], metrics["total_time"])
            throughput.add_metric([pipeline], metrics["throughput"])
            error_rate.add_metric([pipeline], metrics["error_rate"])
            summaries.append(
                _summary(
                    f"{ns}_processing_seconds",
                    "Seconds a stage spends per item, over every stage.",
                    {"pipeline": pipeline},
                    metrics["processing_time"],
                )
            )
            for stage, entry in metrics["stages"].items():
                labels = [pipeline, stage]
                for key, family in counts.items():
                    family.add_metric(labels, entry[key])
                buffer.add_metric(labels, entry["buffer_size"])
                capacity.add_metric(labels, entry["capacity"])
                blocked.add_metric(labels, entry["blocked_time"])
                episodes.add_metric(labels, entry["pressure_episodes"])
                summaries.append(
                    _summary(
                        f"{ns}_stage_processing_seconds",
                        "Seconds the stage spends per item.",
                        {"pipeline": pipeline, "stage": stage},
                        entry["processing_time"],
                    )
                )
        yield from (processed, runs, run_time, throughput, error_rate)
        yield from counts.values()
        yield from (buffer, capacity, blocked, episodes)
        yield from _merge_summaries(summaries)


def _merge_summaries(summaries: list[Metric]) -> Iterator[Metric]:
    """One family per summary name, holding the samples of every monitor and stage."""
    merged: dict[str, Metric] = {}
    for summary in summaries:
        family = merged.get(summary.name)
        if family is None:
            merged[summary.name] = summary
        else:
            family.samples.extend(summary.samples)
    yield from merged.values()


def register(
    *monitors: PipelineMonitor,
    registry: CollectorRegistry = REGISTRY,
    namespace: str = "rivusio",
) -> PrometheusCollector:
    """Add a collector for *monitors* to *registry* and return it.

    Remove it again with ``registry.unregister(collector)``.

    Args:
        *monitors: The monitors to export.
        registry: The registry to add to (default: ``prometheus_client``'s global one).
        namespace: Prefix of every metric name.
    """
    collector = PrometheusCollector(*monitors, namespace=namespace)
    registry.register(collector)
    return collector


@final
class MetricsServer:
    """A running ``/metrics`` endpoint; stop it with :meth:`close` or a ``with`` block.

    Attributes:
        host: The address it is bound to.
        port: The port it listens on (the one the system picked when you passed 0).
        registry: The registry it serves.
    """

    def __init__(
        self, server: WSGIServer, thread: threading.Thread, registry: CollectorRegistry
    ) -> None:
        self._server = server
        self._thread = thread
        self.registry = registry
        self.host = str(server.server_address[0])
        self.port = int(server.server_address[1])

    @property
    def url(self) -> str:
        """The address to scrape, e.g. ``http://127.0.0.1:9464/metrics``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and wait for the server thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def serve(
    *monitors: PipelineMonitor,
    port: int,
    host: str = "127.0.0.1",
    namespace: str = "rivusio",
) -> MetricsServer:
    """Serve *monitors*' metrics over HTTP at ``http://HOST:PORT/metrics``, in a daemon thread.

    Args:
        *monitors: The monitors to export.
        port: The port to listen on; 0 lets the system pick a free one (see
            :attr:`MetricsServer.port`).
        host: The address to bind; the loopback address by default, so nothing outside
            this machine can scrape it unless you pass ``"0.0.0.0"`` or another address.
        namespace: Prefix of every metric name.

    Raises:
        OSError: The port is taken or the address cannot be bound.
    """
    registry = CollectorRegistry(auto_describe=True)
    register(*monitors, registry=registry, namespace=namespace)
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(server, thread, registry)
