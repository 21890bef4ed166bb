"""Prometheus and OpenTelemetry export: a real scrape over loopback, a real OTel reader."""

from __future__ import annotations

import importlib
import sys
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from rivusio import SyncStream
from rivusio.monitoring import PipelineMonitor
from rivusio.monitoring.otel import instrument
from rivusio.monitoring.prometheus import register, serve
from tests.helpers import Double, FailOn

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricsData


def monitored_run() -> PipelineMonitor:
    """A monitor named 'numbers' after one run of 10 items, 2 of them skipped."""
    monitor = PipelineMonitor(name="numbers")
    stream = SyncStream(range(10)).through(Double() >> FailOn({4, 8}, on_error="skip"))
    stream.set_monitor(monitor)
    assert list(stream) == [0, 2, 6, 10, 12, 14, 16, 18]
    return monitor


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_scrape_the_endpoint_over_loopback() -> None:
    """serve() binds 127.0.0.1 by default and serves live counts in the text format."""
    monitor = monitored_run()
    with serve(monitor, port=0) as server:
        assert server.host == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(server.url, timeout=10) as response:
            assert response.status == 200
            text = response.read().decode()
    found = samples(text)
    pipeline = (("pipeline", "numbers"),)
    fail_on = (("pipeline", "numbers"), ("stage", "FailOn"))
    assert found[("rivusio_items_processed_total", pipeline)] == 10
    assert found[("rivusio_runs_total", pipeline)] == 1
    assert found[("rivusio_error_rate_ratio", pipeline)] == 2 / 20
    assert found[("rivusio_stage_items_in_total", fail_on)] == 10
    assert found[("rivusio_stage_items_out_total", fail_on)] == 8
    assert found[("rivusio_stage_errors_total", fail_on)] == 2
    assert found[("rivusio_stage_skipped_total", fail_on)] == 2
    assert found[("rivusio_stage_buffer_capacity_items", fail_on)] == 0
    assert found[("rivusio_stage_blocked_seconds_total", fail_on)] == 0
    assert found[("rivusio_stage_processing_seconds_count", fail_on)] == 10
    assert found[("rivusio_processing_seconds_count", pipeline)] == 20
    assert ("rivusio_processing_seconds", (*pipeline, ("quantile", "0.99"))) in found


def test_the_endpoint_binds_the_address_given() -> None:
    """host= picks the address; an IPv6 address is bracketed in the URL."""
    with serve(PipelineMonitor(), port=0, host="::1") as server:
        assert server.url == f"http://[::1]:{server.port}/metrics"
        with urllib.request.urlopen(server.url, timeout=10) as response:
            assert response.status == 200


def test_the_endpoint_stops_on_close() -> None:
    """After close() the port no longer answers."""
    server = serve(PipelineMonitor(), port=0)
    url = server.url
    server.close()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)


def test_register_adds_a_collector_to_a_registry() -> None:
    """register() exports the monitors through a registry of the caller's choosing."""
    registry = CollectorRegistry()
    collector = register(monitored_run(), PipelineMonitor(), registry=registry, namespace="app")
    found = samples(generate_latest(registry).decode())
    assert found[("app_items_processed_total", (("pipeline", "numbers"),))] == 10
    assert found[("app_items_processed_total", (("pipeline", ""),))] == 0
    assert found[("app_processing_seconds_count", (("pipeline", ""),))] == 0
    registry.unregister(collector)
    assert generate_latest(registry) == b""


def otel_points(data: MetricsData) -> dict[tuple[str, tuple[tuple[str, Any], ...]], Any]:
    """Every data point read by an OTel reader, by instrument name and sorted attributes."""
    points = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    key = tuple(sorted((point.attributes or {}).items()))
                    points[(metric.name, key)] = point.value  # type: ignore[union-attr]
    return points


def test_opentelemetry_reader_sees_the_instruments() -> None:
    """instrument() reports counts, buffers and times to a real in-memory OTel reader."""
    monitor = monitored_run()
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrument(monitor, meter_provider=provider)
    data = reader.get_metrics_data()
    assert data is not None
    points = otel_points(data)
    provider.shutdown()

    pipeline = (("rivusio.pipeline", "numbers"),)
    fail_on = (("rivusio.pipeline", "numbers"), ("rivusio.stage", "FailOn"))
    assert points[("rivusio.pipeline.items", pipeline)] == 10
    assert points[("rivusio.pipeline.runs", pipeline)] == 1
    assert points[("rivusio.pipeline.error_rate", pipeline)] == 0.1
    assert points[("rivusio.stage.items_in", fail_on)] == 10
    assert points[("rivusio.stage.items_out", fail_on)] == 8
    assert points[("rivusio.stage.skipped", fail_on)] == 2
    assert points[("rivusio.stage.buffer.usage", fail_on)] == 0
    assert points[("rivusio.stage.buffer.limit", fail_on)] == 0
    assert points[("rivusio.stage.blocked_time", fail_on)] == 0.0
    statistics = {
        dict(key)["rivusio.statistic"]
        for name, key in points
        if name == "rivusio.stage.processing_time" and ("rivusio.stage", "FailOn") in key
    }
    assert statistics == {"average", "min", "max", "p50", "p95", "p99"}
    assert points[("rivusio.pipeline.run_time", pipeline)] == monitor.total_time


def test_opentelemetry_leaves_out_statistics_without_values() -> None:
    """Before anything was timed, no processing-time statistic is observed."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrument(PipelineMonitor(name="idle"), meter_provider=provider)
    data = reader.get_metrics_data()
    assert data is not None
    points = otel_points(data)
    provider.shutdown()
    assert not [name for name, _ in points if name.endswith("processing_time")]
    assert points[("rivusio.pipeline.items", (("rivusio.pipeline", "idle"),))] == 0


@pytest.mark.parametrize(
    ("module", "missing", "message"),
    [
        ("rivusio.monitoring.prometheus", "prometheus_client", "rivusio\\[prometheus\\]"),
        ("rivusio.monitoring.otel", "opentelemetry", "rivusio\\[otel\\]"),
    ],
)
def test_a_missing_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, module: str, missing: str, message: str
) -> None:
    """Importing an exporter without its library says which extra to install."""
    monkeypatch.setitem(sys.modules, missing, None)
    monkeypatch.delitem(sys.modules, module)
    with pytest.raises(ImportError, match=f"needs .*pip install '{message}'"):
        importlib.import_module(module)
