"""Watching runs: what a monitor sees of a run, and when the runtime tells it.

A run is watched by every monitor set on the stream (``stream.set_monitor``) and by every
monitor set on a pipe that takes part in it (``pipe.set_monitor``), at any depth of a
pipeline. A stream's monitor sees every stage; a pipe's monitor sees the stages that pipe
(and the pipes inside it) became. Monitors read the run's live counters whenever they are
asked, so ``get_metrics()`` during a run shows the figures so far.

Clocks: a run's duration is measured on the event loop's clock (``anyio.current_time()``,
virtual in tests), or on ``time.perf_counter()`` for a ``SyncStream`` that runs inline;
while a run is in progress its elapsed time is read from ``time.perf_counter()``, which
any thread may call. Processing times are always ``time.perf_counter()`` wall time.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ._stage import FusedStage
from ._stats import Timings

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ._links import Link
    from ._stage import Stage
    from ._stats import StageStats


class RunObserver(Protocol):
    """What the runtime needs of a monitor (``rivusio.monitoring.PipelineMonitor``)."""

    def _run_started(self, run: RunView) -> None:
        """Start reading *run*'s live figures."""

    def _run_finished(self, run: RunView) -> None:
        """Take *run*'s final figures; the run will not change any more."""


@attrs.define(eq=False)
class StageView:
    """One stage of a watched run.

    Attributes:
        stats: The stage's counters (a pipe of a fused stage has its own).
        link: The input buffer of the task the stage runs in (shared by the pipes of a
            fused stage), or ``None`` for a ``SyncStream`` running inline.
        first_in_task: Whether this stage reads *link* itself: items dropped by the
            buffer's overflow policy are counted on it alone.
    """

    stats: StageStats
    link: Link[Any] | None
    first_in_task: bool


@attrs.define(eq=False)
class RunView:
    """A run as a monitor sees it: its stages in order, and its timing.

    Attributes:
        stages: The watched stages, upstream first.
        output: The buffer after the last watched stage (the consumer's, for a stream's
            monitor), or ``None`` when there is none.
        started: Start time on the run's clock.
        duration: Seconds from start to end on the run's clock, once finished.
    """

    stages: list[StageView]
    output: Link[Any] | None
    started: float
    duration: float | None = None
    _started_real: float = attrs.field(factory=perf_counter)

    def elapsed(self) -> float:
        """Seconds the run took, or has taken so far."""
        if self.duration is not None:
            return self.duration
        return perf_counter() - self._started_real


def pipe_tree(pipe: Any) -> Iterator[Any]:
    """*pipe* and every pipe inside it, depth first."""
    yield pipe
    for inner in getattr(pipe, "pipes", None) or ():
        yield from pipe_tree(inner)


def _task_stages(stages: Sequence[Stage]) -> Iterator[tuple[int, StageStats, Any, bool]]:
    """(task index, counters, owning pipe, first in task) for every stage of a plan."""
    for index, stage in enumerate(stages):
        if isinstance(stage, FusedStage):
            for position, step in enumerate(stage.steps):
                owner = step.hooks[0] if step.hooks else None
                yield index, step.stats, owner, position == 0
            continue
        owner = stage.hooks[0] if stage.hooks else None
        for position, stats in enumerate(stage.stats()):
            yield index, stats, owner, position == 0


def watch(
    pipes: Sequence[Any],
    stages: Sequence[Stage],
    links: Sequence[Link[Any]] | None,
    stream_monitors: Sequence[RunObserver],
    *,
    timed: bool,
    now: float,
) -> list[tuple[RunObserver, RunView]]:
    """Tell every monitor of a run that it starts; return what each one watches.

    Args:
        pipes: The pipes the run was built from (one per ``through``).
        stages: The plan's stages; ``links[i]`` is the input of ``stages[i]``.
        links: The run's links, or ``None`` when it runs inline without buffers.
        stream_monitors: Monitors that watch every stage.
        timed: Measure processing times (``StreamConfig.collect_metrics``).
        now: The start time on the run's clock.
    """
    scopes: dict[int, tuple[RunObserver, set[int] | None]] = {}
    for monitor in stream_monitors:
        scopes[id(monitor)] = (monitor, None)
    for pipe in pipes:
        for inner in pipe_tree(pipe):
            observer: RunObserver | None = getattr(inner, "monitor", None)
            if observer is None:
                continue
            _, owned = scopes.setdefault(id(observer), (observer, set()))
            if owned is not None:
                owned.update(id(p) for p in pipe_tree(inner))
    if not scopes:
        return []
    everything = list(_task_stages(stages))
    watches = []
    for monitor, owned in scopes.values():
        watched = [entry for entry in everything if owned is None or id(entry[2]) in owned]
        views = [
            StageView(stats, links[index] if links is not None else None, first)
            for index, stats, _, first in watched
        ]
        if timed:
            for view in views:
                if view.stats.timings is None:
                    view.stats.timings = Timings()
        output = links[watched[-1][0] + 1] if links is not None and watched else None
        run = RunView(views, output, now)
        monitor._run_started(run)
        watches.append((monitor, run))
    return watches


def finish(watches: list[tuple[RunObserver, RunView]], now: float) -> None:
    """Tell the monitors of a run that it has ended at *now* (on the run's clock)."""
    for monitor, run in watches:
        run.duration = now - run.started
        monitor._run_finished(run)
