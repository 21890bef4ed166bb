"""Time-windowed measurements you record yourself, as in rivusio 0.2.0.

:class:`MetricsCollector` keeps three sliding windows (processing times, error flags and
item counts) of :class:`MetricValue` measurements and drops those older than its
``window_size`` whenever a new one arrives. Streams do not write into these windows: the
figures of a run are read by :class:`~rivusio.monitoring.PipelineMonitor` from the run
itself. Use the windows for work you time by hand::

    collector = MetricsCollector(window_size=timedelta(minutes=5))
    collector.record_processing_time(0.123)
    collector.record_success()
    collector.get_metrics()["processing_time"].average   # 0.123

Timestamps are wall-clock ``datetime.now()`` values, as in 0.2.0.

.. versionchanged:: 1.0
    attrs classes instead of pydantic models; the behaviour is 0.2.0's.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

import attrs

__all__ = ("MetricValue", "MetricWindow", "MetricsCollector")


@attrs.frozen(kw_only=True)
class MetricValue:
    """One measurement and when it was taken.

    Attributes:
        timestamp: When the measurement was taken (wall clock).
        value: The measured value.
    """

    timestamp: datetime
    value: float


def _timestamp(value: MetricValue) -> datetime:
    return value.timestamp


@attrs.define(kw_only=True)
class MetricWindow:
    """The measurements of the last ``window_size``, with their average, minimum and maximum.

    Attributes:
        values: The measurements in the window, oldest first.
        window_size: How long a measurement stays in the window.

    Example::

        window = MetricWindow(values=[], window_size=timedelta(minutes=5))
        window.add_value(0.25)
        window.average   # 0.25
    """

    values: list[MetricValue] = attrs.field(factory=list)
    window_size: timedelta = timedelta(minutes=5)

    def add_value(self, value: float) -> None:
        """Record *value* now, and drop measurements older than ``window_size``.

        Args:
            value: The measurement.
        """
        now = datetime.now()
        cutoff = now - self.window_size
        values = self.values
        # Values are in time order, so only a prefix can have expired: find where the window
        # starts and cut there, instead of rebuilding the list on every call.
        expired = bisect.bisect_right(values, cutoff, key=_timestamp)
        if expired:
            del values[:expired]
        values.append(MetricValue(timestamp=now, value=float(value)))

    @property
    def average(self) -> float | None:
        """The mean of the measurements in the window, or ``None`` when it is empty."""
        if not self.values:
            return None
        return sum(v.value for v in self.values) / len(self.values)

    @property
    def min(self) -> float | None:
        """The smallest measurement in the window, or ``None`` when it is empty."""
        return min((v.value for v in self.values), default=None)

    @property
    def max(self) -> float | None:
        """The largest measurement in the window, or ``None`` when it is empty."""
        return max((v.value for v in self.values), default=None)


class MetricsCollector:
    """Three windows of hand-recorded measurements: processing time, errors, throughput.

    Args:
        window_size: How long measurements are kept (default 5 minutes).

    Attributes:
        window_size: As given.
        processing_times: Seconds per operation, from :meth:`record_processing_time`.
        error_rates: 1.0 per :meth:`record_error`, 0.0 per :meth:`record_success`; its
            ``average`` is the error rate.
        throughput: Item counts from :meth:`record_throughput`.
    """

    def __init__(self, window_size: timedelta = timedelta(minutes=5)) -> None:
        self.window_size = window_size
        self.processing_times = MetricWindow(window_size=window_size)
        self.error_rates = MetricWindow(window_size=window_size)
        self.throughput = MetricWindow(window_size=window_size)

    def record_processing_time(self, duration: float) -> None:
        """Record that one operation took *duration* seconds."""
        self.processing_times.add_value(duration)

    def record_error(self) -> None:
        """Record a failed operation."""
        self.error_rates.add_value(1.0)

    def record_success(self) -> None:
        """Record a successful operation."""
        self.error_rates.add_value(0.0)

    def record_throughput(self, items: int) -> None:
        """Record that *items* items were processed."""
        self.throughput.add_value(float(items))

    def get_metrics(self) -> dict[str, MetricWindow]:
        """Return the windows: ``processing_time``, ``error_rate`` and ``throughput``."""
        return {
            "processing_time": self.processing_times,
            "error_rate": self.error_rates,
            "throughput": self.throughput,
        }
