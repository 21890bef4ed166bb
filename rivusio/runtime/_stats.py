"""Per-stage counters, cheap enough to be always on, and processing-time measurements.

Counters are always kept. Processing times are measured only while a monitor watches the
run (see :mod:`._watch`): a stage then finds a :class:`Timings` in ``stats.timings`` and
reports each chunk it processed with :meth:`StageStats.observe`.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Sequence

SKETCH_ACCURACY = 0.01
"""Relative accuracy of the processing-time quantiles (1%)."""


@functools.cache
def sketch_mapping() -> Any:
    """DDSketch's logarithmic bucket mapping, or ``None`` when ``ddsketch`` is not installed."""
    try:
        from ddsketch.mapping import LogarithmicMapping
    except ImportError:
        return None
    return LogarithmicMapping(SKETCH_ACCURACY)


class Timings:
    """Seconds per item of one stage, one measurement per processed chunk.

    A chunk of ``n`` items that took ``s`` seconds counts as ``n`` items of ``s / n`` seconds
    each, so ``total`` is exact while ``low``/``high`` and the quantiles describe chunk
    averages. For the quantiles, each measurement goes into the bucket DDSketch's
    logarithmic mapping gives it (1% relative accuracy); :meth:`quantile` rebuilds a
    ``DDSketch`` from the buckets. That is all the hot path does: one bucket lookup and a
    dict update per chunk, no lock. One task writes; other threads read a
    :meth:`snapshot` (``dict.copy`` is atomic).
    """

    __slots__ = ("_key", "buckets", "high", "items", "low", "total", "zeros")

    def __init__(self) -> None:
        self.items = 0
        self.total = 0.0
        self.low = math.inf
        self.high = 0.0
        self.buckets: dict[int, int] = {}
        self.zeros = 0
        mapping = sketch_mapping()
        self._key = None if mapping is None else mapping.key

    def add(self, seconds: float, items: int) -> None:
        """Record that *items* items took *seconds* seconds in all."""
        per_item = seconds / items
        self.items += items
        self.total += seconds
        self.low = min(self.low, per_item)
        self.high = max(self.high, per_item)
        key = self._key
        if key is not None:
            if per_item > 0.0:
                bucket = key(per_item)
                buckets = self.buckets
                buckets[bucket] = buckets.get(bucket, 0) + items
            else:
                self.zeros += items

    def merge(self, other: Timings) -> None:
        """Add every measurement of *other* (a snapshot no one writes to) to this one."""
        self.items += other.items
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        self.zeros += other.zeros
        buckets = self.buckets
        for bucket, count in other.buckets.items():
            buckets[bucket] = buckets.get(bucket, 0) + count

    def snapshot(self) -> Timings:
        """A copy that later :meth:`add` calls do not change."""
        copy = Timings()
        copy.buckets = self.buckets.copy()
        copy.items, copy.total, copy.low, copy.high, copy.zeros = (
            self.items,
            self.total,
            self.low,
            self.high,
            self.zeros,
        )
        return copy

    def quantiles(self, qs: Sequence[float]) -> list[float] | None:
        """The values at quantiles *qs* (1% relative accuracy), or ``None`` without ddsketch."""
        mapping = sketch_mapping()
        if mapping is None or not self.items:
            return None
        from ddsketch import DDSketch

        sketch = DDSketch(relative_accuracy=SKETCH_ACCURACY)
        if self.zeros:
            sketch.add(0.0, self.zeros)
        for bucket, count in self.buckets.items():
            sketch.add(mapping.value(bucket), count)
        # Never None: the sketch holds at least one value.
        return [float(sketch.get_quantile_value(q) or 0.0) for q in qs]


@attrs.define(eq=False)
class StageStats:
    """Counters of one stage (or of one pipe inside a fused stage).

    ``items_in == items_out + skipped + dead_lettered + dropped + late`` for a per-item
    step once it has finished; batches and windows change the count on purpose.
    """

    name: str
    items_in: int = 0
    items_out: int = 0
    errors: int = 0
    retries: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    dropped: int = 0
    late: int = 0
    busy_time: float = 0.0
    timings: Timings | None = attrs.field(default=None, repr=False)
    """Set while a monitor watches the run; ``None`` means "do not measure"."""

    def observe(self, seconds: float, items: int) -> None:
        """Record that processing *items* items took *seconds* (wall time, ``perf_counter``).

        Stages call it once per chunk or batch they processed, and only when
        :attr:`timings` is set.
        """
        self.busy_time += seconds
        if self.timings is not None and items:
            self.timings.add(seconds, items)
