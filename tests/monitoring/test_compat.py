"""The rivusio 0.2.0 measurement API: MetricValue, MetricWindow, MetricsCollector, start/stop."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from rivusio.monitoring import MetricsCollector, MetricValue, MetricWindow, PipelineMonitor
from rivusio.monitoring.metrics import MetricsCollector as MetricsCollectorFromModule
from rivusio.monitoring.pipeline_monitor import PipelineMonitor as PipelineMonitorFromModule


def test_0_2_0_module_paths_still_import() -> None:
    """The classes are importable from 0.2.0's module paths too."""
    assert MetricsCollectorFromModule is MetricsCollector
    assert PipelineMonitorFromModule is PipelineMonitor
    assert PipelineMonitor.__module__ == "rivusio.monitoring"


def test_metric_window_averages_its_values() -> None:
    """A window reports the average, minimum and maximum of its measurements."""
    window = MetricWindow(values=[], window_size=timedelta(minutes=5))
    assert (window.average, window.min, window.max) == (None, None, None)
    for value in (3, 1, 2):
        window.add_value(value)
    assert (window.average, window.min, window.max) == (2.0, 1.0, 3.0)
    assert [v.value for v in window.values] == [3.0, 1.0, 2.0]
    assert all(isinstance(v, MetricValue) for v in window.values)


def test_metric_window_forgets_values_older_than_its_size() -> None:
    """A value older than window_size is dropped when the next one arrives."""
    window = MetricWindow(window_size=timedelta(0))
    window.add_value(5.0)
    window.add_value(7.0)
    assert [v.value for v in window.values] == [7.0]


def test_metric_value_holds_a_time_and_a_value() -> None:
    """MetricValue is a frozen pair of timestamp and value."""
    at = datetime(2024, 1, 1)
    assert MetricValue(timestamp=at, value=1.5) == MetricValue(timestamp=at, value=1.5)


def test_collector_windows() -> None:
    """record_* fill the three windows that get_metrics() returns."""
    collector = MetricsCollector(window_size=timedelta(minutes=1))
    collector.record_processing_time(0.5)
    collector.record_processing_time(1.5)
    collector.record_error()
    collector.record_success()
    collector.record_success()
    collector.record_throughput(100)

    windows = collector.get_metrics()
    assert windows["processing_time"].average == 1.0
    assert windows["error_rate"].average == 1 / 3
    assert windows["throughput"].max == 100.0
    assert collector.window_size == timedelta(minutes=1)


def test_hand_recorded_measurements_count_in_get_metrics() -> None:
    """PipelineMonitor.record_* feed its windows and its metrics."""
    monitor = PipelineMonitor()
    monitor.record_processing_time(0.25)
    monitor.record_processing_time(0.75)
    monitor.record_error()
    monitor.record_success()
    monitor.record_success()
    monitor.record_success()
    monitor.record_throughput(8)

    metrics = monitor.get_metrics()
    assert metrics["processing_time"]["average"] == 0.5
    assert (metrics["processing_time"]["min"], metrics["processing_time"]["max"]) == (0.25, 0.75)
    assert metrics["processing_time"]["count"] == 2
    assert (metrics["errors"], metrics["error_rate"]) == (1, 0.25)
    assert metrics["items_processed"] == 8
    assert monitor.processing_times.average == 0.5
    assert monitor.error_rates.average == 0.25


def test_start_and_stop_time_a_span_by_hand() -> None:
    """start()/stop() set start_time, end_time and total_time, which get_metrics reports."""
    monitor = PipelineMonitor()
    assert (monitor.start_time, monitor.end_time, monitor.total_time) == (None, None, 0.0)
    monitor.start()
    time.sleep(0.01)
    assert monitor.total_time > 0
    monitor.stop()
    assert monitor.start_time is not None
    assert monitor.end_time is not None
    span = (monitor.end_time - monitor.start_time).total_seconds()
    assert monitor.total_time == span
    monitor.record_throughput(10)
    metrics = monitor.get_metrics()
    assert metrics["total_time"] == span
    assert metrics["throughput"] == 10 / span


def test_an_unused_monitor_reports_zeros() -> None:
    """Before any run or measurement every figure is zero or None."""
    metrics = PipelineMonitor(name="idle").get_metrics()
    assert metrics == {
        "name": "idle",
        "throughput": 0.0,
        "processing_time": {
            "average": None, "min": None, "max": None, "p50": None, "p95": None, "p99": None,
            "count": 0,
        },
        "error_rate": 0.0,
        "total_time": 0.0,
        "items_processed": 0,
        "runs": 0,
        "items_in": 0, "items_out": 0, "errors": 0, "retries": 0, "skipped": 0,
        "dead_lettered": 0, "dropped": 0, "late": 0,
        "stages": {},
        "output": {"buffer_size": 0, "capacity": 0, "blocked_time": 0.0},
    }  # fmt: skip
