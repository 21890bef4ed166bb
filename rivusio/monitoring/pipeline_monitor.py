"""``PipelineMonitor``: the figures of every run of a pipe or stream, as plain numbers.

Attach a monitor to a pipe (``pipe.set_monitor(monitor)``) or to a stream
(``stream.set_monitor(monitor)``); every later run of it reports to the monitor, and
:meth:`PipelineMonitor.get_metrics` returns a JSON-serializable dict at any time, during a
run (the figures so far) or after it. See ``docs/reference/metrics.md`` for every key.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..runtime._stats import Timings
from .metrics import MetricsCollector

if TYPE_CHECKING:
    from ..runtime._links import Link
    from ..runtime._watch import RunView, StageView

__all__ = ("COUNTS", "PipelineMonitor")

COUNTS = (
    "items_in",
    "items_out",
    "errors",
    "retries",
    "skipped",
    "dead_lettered",
    "dropped",
    "late",
)
"""The count keys of every stage, also summed at the top of ``get_metrics()``."""

QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


class _StageTotals:
    """What the finished runs of a monitor added up to for one stage name."""

    __slots__ = ("blocked_time", "capacity", "counts", "pressure_episodes", "timings")

    def __init__(self) -> None:
        self.counts = dict.fromkeys(COUNTS, 0)
        self.blocked_time = 0.0
        self.pressure_episodes = 0
        self.capacity = 0
        self.timings = Timings()


def _names(run: RunView) -> list[str]:
    """Metric keys for the stages of *run*: their names, with ``#2``, ``#3``... for repeats."""
    seen: dict[str, int] = {}
    names = []
    for view in run.stages:
        name = view.stats.name
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return names


def _fill(link: Link[Any]) -> int:
    """Items in *link*'s buffer.

    The link's own count includes a chunk its sender is still waiting to put in, which is
    not in the buffer yet: a full buffer shows its capacity.
    """
    return min(link.buffered, link.capacity)


def _counts(view: StageView) -> dict[str, int]:
    stats, link = view.stats, view.link
    counts = {key: getattr(stats, key) for key in COUNTS}
    if link is not None and view.first_in_task:
        counts["dropped"] += link.dropped
    return counts


def _time_summary(timings: Timings) -> dict[str, Any]:
    """The ``processing_time`` dict of one set of measurements."""
    if not timings.items:
        summary: dict[str, Any] = {"average": None, "min": None, "max": None}
        summary.update(dict.fromkeys(name for name, _ in QUANTILES))
        summary["count"] = 0
        return summary
    summary = {
        "average": timings.total / timings.items,
        "min": timings.low,
        "max": timings.high,
    }
    values = timings.quantiles([q for _, q in QUANTILES])
    for index, (name, _) in enumerate(QUANTILES):
        summary[name] = None if values is None else values[index]
    summary["count"] = timings.items
    return summary


class PipelineMonitor(MetricsCollector):
    """Collects the metrics of every run of the pipes and streams it is attached to.

    Attach it with ``pipe.set_monitor(monitor)`` (the runs of that pipe, wherever it
    runs) or ``stream.set_monitor(monitor)`` (every stage of that stream's runs). Any
    number of runs, one after another or at the same time, may report to one monitor:
    counts add up per stage name.

    :meth:`get_metrics` may be called at any time and from any thread, including while a
    run is in progress; it reads the live counters and returns plain numbers, strings and
    dicts, ready for ``json.dumps``.

    What is measured: every stage counts its items and failures at no extra cost. While a
    monitor watches a run, each stage also measures its processing time with
    ``time.perf_counter()``, once per chunk of items (a few percent of the cost of three
    fused sync pipes, see ``benchmarks/README.md``); ``StreamConfig(collect_metrics=False)``
    turns that off. Percentiles (``p50``, ``p95``, ``p99``) come from a DDSketch
    (1% relative accuracy) when ``ddsketch`` is installed (``pip install
    rivusio[metrics]``); without it they are ``None`` and the average, minimum and
    maximum are still exact.

    The 0.2.0 methods still work: :meth:`start`/:meth:`stop` time a span by hand (it then
    replaces the runs' time in ``total_time``), and the ``record_*`` methods add
    hand-made measurements, which count in :meth:`get_metrics` too.

    Args:
        window_size: How long hand-recorded measurements stay in the 0.2.0 windows
            (``processing_times``, ``error_rates``, ``throughput``).
        name: A name for exporters and logs (the ``pipeline`` label in Prometheus).

    Example::

        monitor = PipelineMonitor()
        pipe.set_monitor(monitor)
        async for result in pipe.stream(source):
            ...
        metrics = monitor.get_metrics()
        metrics["throughput"]             # items per second
        metrics["stages"]["parse"]["errors"]

    .. versionchanged:: 1.0
        Fed by the runs of the pipes and streams it is attached to; :meth:`get_metrics`
        returns plain numbers (``throughput`` in items per second, ``processing_time``
        with percentiles, ``error_rate``, counts and per-stage figures) instead of
        0.2.0's windows.
    """

    def __init__(
        self, window_size: timedelta = timedelta(minutes=5), *, name: str | None = None
    ) -> None:
        super().__init__(window_size=window_size)
        self.name = name
        self._start_time: datetime | None = None
        self._end_time: datetime | None = None
        self._lock = threading.Lock()
        self._live: list[RunView] = []
        self._totals: dict[str, _StageTotals] = {}
        self._runs = 0
        self._run_time = 0.0
        self._run_items = 0
        self._output = {"buffer_size": 0, "capacity": 0, "blocked_time": 0.0}
        self._recorded_times = Timings()
        self._recorded_errors = 0
        self._recorded_successes = 0
        self._recorded_items = 0

    # -- 0.2.0: timing by hand -------------------------------------------------------

    @property
    def start_time(self) -> datetime | None:
        """When :meth:`start` was last called, or ``None``."""
        return self._start_time

    @property
    def end_time(self) -> datetime | None:
        """When :meth:`stop` was last called, or ``None``."""
        return self._end_time

    def start(self) -> None:
        """Start timing by hand: ``total_time`` then runs from now (wall clock)."""
        self._start_time = datetime.now()
        self._end_time = None

    def stop(self) -> None:
        """Stop the hand-started timing; call it in a ``finally`` block."""
        self._end_time = datetime.now()

    @property
    def total_time(self) -> float:
        """Seconds of work this monitor has seen.

        From :meth:`start` to :meth:`stop` (or to now) when :meth:`start` was called;
        otherwise the time the runs it watched took, added up (a run in progress counts
        up to now). Run times are measured on the event loop's clock, so they are
        virtual in tests that use a virtual clock.
        """
        if self._start_time is not None:
            end = self._end_time or datetime.now()
            return (end - self._start_time).total_seconds()
        with self._lock:
            return self._run_time + sum(run.elapsed() for run in self._live)

    # -- 0.2.0: measurements by hand ---------------------------------------------------

    def record_processing_time(self, duration: float) -> None:
        """Record that one item took *duration* seconds (window and ``processing_time``)."""
        super().record_processing_time(duration)
        self._recorded_times.add(duration, 1)

    def record_error(self) -> None:
        """Record a failed operation (window, ``errors`` and ``error_rate``)."""
        super().record_error()
        self._recorded_errors += 1

    def record_success(self) -> None:
        """Record a successful operation (window and ``error_rate``)."""
        super().record_success()
        self._recorded_successes += 1

    def record_throughput(self, items: int) -> None:
        """Record that *items* items were processed (window and ``items_processed``)."""
        super().record_throughput(items)
        self._recorded_items += items

    # -- reading -------------------------------------------------------------------

    def get_metrics(self) -> dict[str, Any]:
        """Return every metric as plain numbers and dicts (JSON-serializable).

        Keys: ``throughput`` (items per second: ``items_processed / total_time``),
        ``processing_time`` (seconds per item: ``average``, ``min``, ``max``, ``p50``,
        ``p95``, ``p99``, and ``count``, the items timed), ``error_rate`` (failed calls / calls),
        ``total_time``, ``items_processed``, ``runs``, the counts ``items_in``,
        ``items_out``, ``errors``, ``retries``, ``skipped``, ``dead_lettered``,
        ``dropped``, ``late`` summed over the stages, and ``stages``: per stage name the
        same counts plus ``buffer_size``, ``capacity``, ``blocked_time``,
        ``pressure_episodes`` and ``processing_time``; ``output``: ``buffer_size``,
        ``capacity`` and ``blocked_time`` of the buffer after the last stage (the
        consumer's). ``name`` is the monitor's name.
        """
        with self._lock:
            stages = {name: self._finished_stage(totals) for name, totals in self._totals.items()}
            times = {name: totals.timings.snapshot() for name, totals in self._totals.items()}
            live = list(self._live)
            runs, run_time, items_processed = self._runs, self._run_time, self._run_items
            output = dict(self._output)
        for run in live:
            runs += 1
            run_time += run.elapsed()
            if run.stages:
                items_processed += run.stages[0].stats.items_in
            if run.output is not None:
                output["buffer_size"] += _fill(run.output)
                output["capacity"] = run.output.capacity
                output["blocked_time"] += run.output.blocked_time
            for name, view in zip(_names(run), run.stages, strict=True):
                self._add_live(stages, times, name, view)
        for name, entry in stages.items():
            entry["processing_time"] = _time_summary(times[name])

        totals = {key: sum(entry[key] for entry in stages.values()) for key in COUNTS}
        totals["errors"] += self._recorded_errors
        items_processed += self._recorded_items
        calls = sum(entry["items_in"] for entry in stages.values())
        calls += self._recorded_errors + self._recorded_successes
        total_time = run_time
        if self._start_time is not None:
            total_time = self.total_time
        overall = self._recorded_times.snapshot()
        for timings in times.values():
            overall.merge(timings)
        return {
            "name": self.name,
            "throughput": items_processed / total_time if total_time > 0 else 0.0,
            "processing_time": _time_summary(overall),
            "error_rate": totals["errors"] / calls if calls else 0.0,
            "total_time": total_time,
            "items_processed": items_processed,
            "runs": runs,
            **totals,
            "stages": stages,
            "output": output,
        }

    @staticmethod
    def _finished_stage(totals: _StageTotals) -> dict[str, Any]:
        return {
            **totals.counts,
            "buffer_size": 0,
            "capacity": totals.capacity,
            "blocked_time": totals.blocked_time,
            "pressure_episodes": totals.pressure_episodes,
        }

    @staticmethod
    def _add_live(
        stages: dict[str, dict[str, Any]],
        times: dict[str, Timings],
        name: str,
        view: StageView,
    ) -> None:
        entry = stages.get(name)
        if entry is None:
            entry = stages[name] = {
                **dict.fromkeys(COUNTS, 0),
                "buffer_size": 0,
                "capacity": 0,
                "blocked_time": 0.0,
                "pressure_episodes": 0,
            }
            times[name] = Timings()
        for key, value in _counts(view).items():
            entry[key] += value
        link = view.link
        if link is not None:
            entry["buffer_size"] += _fill(link)
            entry["capacity"] = link.capacity
            entry["blocked_time"] += link.blocked_time
            entry["pressure_episodes"] += link.pressure_episodes
        if view.stats.timings is not None:
            times[name].merge(view.stats.timings.snapshot())

    # -- called by the runtime -------------------------------------------------------

    def _run_started(self, run: RunView) -> None:
        with self._lock:
            self._live.append(run)

    def _run_finished(self, run: RunView) -> None:
        with self._lock:
            self._live.remove(run)
            self._runs += 1
            self._run_time += run.elapsed()
            if run.stages:
                self._run_items += run.stages[0].stats.items_in
            if run.output is not None:
                self._output["capacity"] = run.output.capacity
                self._output["blocked_time"] += run.output.blocked_time
            for name, view in zip(_names(run), run.stages, strict=True):
                totals = self._totals.get(name)
                if totals is None:
                    totals = self._totals[name] = _StageTotals()
                for key, value in _counts(view).items():
                    totals.counts[key] += value
                link = view.link
                if link is not None:
                    totals.capacity = link.capacity
                    totals.blocked_time += link.blocked_time
                    totals.pressure_episodes += link.pressure_episodes
                if view.stats.timings is not None:
                    totals.timings.merge(view.stats.timings.snapshot())
