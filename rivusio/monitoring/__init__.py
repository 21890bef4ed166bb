"""Monitoring: metrics of pipes and streams, and the 0.2.0 measurement windows.

- :class:`PipelineMonitor`: attach it with ``pipe.set_monitor(monitor)`` or
  ``stream.set_monitor(monitor)``; ``monitor.get_metrics()`` returns throughput,
  processing times, error rate and per-stage counts and buffer figures as plain numbers.
- :class:`MetricsCollector`, :class:`MetricWindow`, :class:`MetricValue`: time windows of
  measurements you record yourself, as in rivusio 0.2.0.

Exporters are optional extras, in modules of their own:
:mod:`rivusio.monitoring.prometheus` (``pip install rivusio[prometheus]``) and
:mod:`rivusio.monitoring.otel` (``pip install rivusio[otel]``). Log records go to the
``rivusio`` logger with the stage name in ``record.stage``.
"""

from .metrics import MetricsCollector as MetricsCollector
from .metrics import MetricValue as MetricValue
from .metrics import MetricWindow as MetricWindow
from .pipeline_monitor import PipelineMonitor as PipelineMonitor

__all__ = ("PipelineMonitor", "MetricsCollector", "MetricWindow", "MetricValue")

for _name in __all__:
    globals()[_name].__module__ = "rivusio.monitoring"
del _name
