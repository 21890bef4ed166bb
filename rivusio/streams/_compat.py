"""rivusio 0.2.0's stream helpers, built on the batch and window stages.

``AsyncStream`` and ``SyncStream`` keep 0.2.0's ``tumbling_window``, ``sliding_window``,
``time_window``, ``process``, ``metrics_dict``, ``close``, ``is_closed`` and ``buffer``. Both
fronts build them from the functions here, so the windows they produce are exactly those of
:class:`~rivusio.streams.WindowedStreamPipe` and :class:`~rivusio.streams.BatchStreamPipe`.
"""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ..core._types import T
from ..core.exceptions import ConfigError
from ..core.pipes import AsyncBasePipe, BasePipe, SyncBasePipe
from ._batch import BatchStreamPipe, _BatchStage
from ._window import WindowedStreamPipe, _WindowStage
from ._windowing import _seconds

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import RetryConfig, StreamConfig
    from ..runtime._plan import Plan, Unit
    from ..runtime._policy import Policy
    from ..runtime._runner import Runner

__all__ = (
    "COUNTS",
    "RunLog",
    "process_pipes",
    "sliding_window",
    "time_window",
    "tumbling_window",
)

COUNTS = ("items_in", "items_out", "errors", "skipped", "dead_lettered", "dropped", "late")
"""The count metrics reported per stage and summed at the top."""


def _count(name: str, value: object, problems: list[str]) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        problems.append(f"{name}: must be an int number of items (got {value!r})")
        return 1
    if value < 1:
        problems.append(f"{name}: must be >= 1 (got {value!r})")
        return 1
    return value


def tumbling_window(window_size: int) -> WindowedStreamPipe[T, list[T]]:
    """Windows of ``window_size`` items, back to back; the partial last one is flushed.

    Raises:
        ConfigError: ``window_size`` is not an int ``>= 1``.
    """
    problems: list[str] = []
    _count("window_size", window_size, problems)
    if problems:
        raise ConfigError(problems)
    return WindowedStreamPipe(window_size, name="tumbling_window")


@attrs.define(eq=False, init=False)
class _FullWindows(WindowedStreamPipe[T, list[T]]):
    """Count windows of which only the full ones are emitted."""

    def plan_units(self, policy: Policy) -> list[Unit]:
        (stage,) = units = super().plan_units(policy)
        assert isinstance(stage, _WindowStage)
        assert isinstance(self.window_size, int)
        stage.drop_short = self.window_size
        return units


def sliding_window(
    window_size: int, step_size: int, *, emit_partial: bool = False
) -> WindowedStreamPipe[T, list[T]]:
    """The last ``window_size`` items, every ``step_size`` items: every full window, in order.

    Raises:
        ConfigError: A size is not an int ``>= 1``, or ``step_size`` exceeds ``window_size``.
    """
    problems: list[str] = []
    size = _count("window_size", window_size, problems)
    step = _count("step_size", step_size, problems)
    if not problems and step > size:
        problems.append(
            f"step_size: must be <= window_size (got step_size={step_size!r}, "
            f"window_size={window_size!r}); a larger step would leave out the items between "
            f"windows. Use tumbling_window({window_size!r}) for windows that do not overlap"
        )
    if not isinstance(emit_partial, bool):
        problems.append(f"emit_partial: must be True or False (got {emit_partial!r})")
    if problems:
        raise ConfigError(problems)
    if step == size:
        if emit_partial:
            return WindowedStreamPipe(size, name="sliding_window")
        return _FullWindows(size, name="sliding_window")
    return WindowedStreamPipe(size, slide=step, emit_partial=emit_partial, name="sliding_window")


def time_window(duration: float | timedelta) -> WindowedStreamPipe[T, list[T]]:
    """Back-to-back windows of ``duration``, closed on a timer; the open one is flushed.

    Raises:
        ConfigError: ``duration`` is not a positive number of seconds or ``timedelta``.
    """
    problems: list[str] = []
    # 0.2.0 took a timedelta; a number here is seconds (an int is not a count of items).
    seconds = _seconds("duration", duration, problems)
    if seconds is None:
        raise ConfigError(problems)
    return WindowedStreamPipe(seconds, name="time_window")


@attrs.define(eq=False)
class _AsyncFunction(AsyncBasePipe[Any, Any]):
    """An async function (or an object with an async ``__call__``) used as a pipe."""

    fn: Callable[[Any], Any] = attrs.field(kw_only=True)

    async def process(self, data: Any) -> Any:
        return await self.fn(data)


@attrs.define(eq=False)
class _SyncFunction(SyncBasePipe[Any, Any]):
    """A plain function used as a pipe."""

    fn: Callable[[Any], Any] = attrs.field(kw_only=True)

    def process(self, data: Any) -> Any:
        return self.fn(data)


def _as_pipe(pipe: object) -> BasePipe[Any, Any]:
    if isinstance(pipe, BasePipe):
        return pipe
    if not callable(pipe):
        raise TypeError(
            f"process(): expected a pipe or a function of one item (got {pipe!r}); pass an "
            f"AsyncBasePipe, a SyncBasePipe or a function"
        )
    name = getattr(pipe, "__name__", type(pipe).__name__)
    if inspect.iscoroutinefunction(pipe) or inspect.iscoroutinefunction(
        getattr(pipe, "__call__", None)  # noqa: B004 - an object with an async __call__
    ):
        return _AsyncFunction(fn=pipe, name=name)
    return _SyncFunction(fn=pipe, name=name)


def process_pipes(
    config: StreamConfig | None, pipe: object
) -> list[tuple[BasePipe[Any, Any], RetryConfig | None]]:
    """The pipes that 0.2.0's ``process(pipe)`` runs under *config*, with their retries.

    *config* ``None`` means 0.2.0's default ``StreamConfig()``. With ``batch_size > 1``, a
    :class:`BatchStreamPipe` feeds *pipe* lists of up to ``batch_size`` items; otherwise,
    with ``window_size`` above zero, a time-tumbling :class:`WindowedStreamPipe` feeds it
    each window's list; otherwise *pipe* gets each item and is retried as
    ``retry_attempts``/``retry_delay`` say (0.2.0 retried only items, not batches or
    windows). A plain function is accepted in place of a pipe.

    Raises:
        TypeError: *pipe* is neither a pipe nor callable.
    """
    from ..config import StreamConfig

    if config is None:
        config = StreamConfig()
    target = _as_pipe(pipe)
    if config.batch_size > 1:
        return [(BatchStreamPipe(config.batch_size, name="batch"), None), (target, None)]
    if config.window_size > timedelta(0):
        return [(WindowedStreamPipe(config.window_size, name="window"), None), (target, None)]
    return [(target, config.effective_retry())]


@attrs.define(eq=False)
class RunLog:
    """The latest run of a stream and of the streams derived from it with ``through``.

    0.2.0 code asks the stream it created for ``metrics_dict()`` after iterating
    ``stream.process(pipe)``, a derived stream; so every stream derived from one shares one
    log.
    """

    plan: Plan | None = None
    runner: Runner[Any] | None = None
    closed: bool = False

    def started(self, plan: Plan, runner: Runner[Any] | None = None) -> None:
        """Record a new run (*runner* is ``None`` for a ``SyncStream`` run inline)."""
        self.plan = plan
        self.runner = runner

    def running(self) -> Runner[Any] | None:
        """The runner of a run still in progress, if any."""
        runner = self.runner
        if runner is None or runner.done.is_set():
            return None
        return runner

    def buffer(self) -> list[Any]:
        """A snapshot of the items in the open batches of the latest run."""
        if self.plan is None:
            return []
        return [
            item
            for stage in self.plan.stages
            if isinstance(stage, _BatchStage)
            for item in list(stage.batch)
        ]

    def buffer_size(self) -> int:
        """Items held by the open batches and windows of the latest run."""
        if self.plan is None:
            return 0
        held = 0
        for stage in self.plan.stages:
            if isinstance(stage, _BatchStage):
                held += len(stage.batch)
            elif isinstance(stage, _WindowStage):
                held += stage.statistics().buffered_items
        return held

    def metrics_dict(self) -> dict[str, Any]:
        """0.2.0's shape: ``{"buffer_size": ..., "metrics": {...}}`` with the run's counts."""
        stages: dict[str, dict[str, int]] = {}
        if self.plan is not None:
            for stage in self.plan.stages:
                for stats in stage.stats():
                    name = stats.name
                    number = 2
                    while name in stages:
                        name = f"{stats.name}#{number}"
                        number += 1
                    stages[name] = {count: getattr(stats, count) for count in COUNTS}
        totals: dict[str, Any] = {
            count: sum(row[count] for row in stages.values()) for count in COUNTS
        }
        totals["stages"] = stages
        return {"buffer_size": self.buffer_size(), "metrics": totals}
