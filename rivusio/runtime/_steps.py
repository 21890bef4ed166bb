"""Per-item steps and how a chunk of items goes through them.

A step wraps one per-item pipe (or a ``map``/``filter``/``flat_map`` operator). Steps that
follow each other with no stage boundary are *fused*: a chunk of items goes through step 1,
then the resulting chunk through step 2, and so on, with one plain loop per step and no
task switch between steps (runs of sync ``map`` steps go item by item instead: see
:mod:`._chain`). An item that fails leaves the fast loop for the error policy
(:mod:`._policy`) and the loop resumes at the next item.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from ._policy import NO_RESULT, Policy, StageFailure, drive, drive_blocking, recover
from ._stats import StageStats

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

StepKind = Literal["map", "filter", "flat_map"]

Failure = tuple[Any, Exception]
"""The item a fast loop was processing when its function raised, and the exception."""

DROP: Any = object()
"""What a filter's function returns for an item that does not pass."""


def _map_loop(fn: Callable[[Any], Any], items: Iterator[Any], out: list[Any]) -> Failure | None:
    append = out.append
    item = None
    try:
        for item in items:
            append(fn(item))
    except Exception as exc:
        return item, exc
    return None


async def _amap_loop(
    fn: Callable[[Any], Any], items: Iterator[Any], out: list[Any]
) -> Failure | None:
    append = out.append
    item = None
    try:
        for item in items:
            append(await fn(item))
    except Exception as exc:
        return item, exc
    return None


def _as_filter(pred: Callable[[Any], Any], is_async: bool) -> Callable[[Any], Any]:
    if is_async:

        async def keep_async(item: Any) -> Any:
            return item if await pred(item) else DROP

        return keep_async
    return lambda item: item if pred(item) else DROP


def _finish(kind: StepKind, out: list[Any]) -> list[Any]:
    if kind == "map":
        return out
    if kind == "filter":
        return [x for x in out if x is not DROP]
    return [y for ys in out for y in ys]


@attrs.define(eq=False)
class Step:
    """One per-item step of a fused stage.

    Args:
        name: The pipe's name: shown in ``StreamError.stage`` and metrics.
        fn: ``process`` (or the operator's function), sync or async.
        is_async: Whether *fn* must be awaited.
        kind: How *fn*'s result becomes output: one output (``map``), keep the item when
            true (``filter``), or every element of an iterable (``flat_map``).
        handler: The pipe's own ``handle_error``, or ``None`` when it only re-raises.
        policy: Retries, error policy and dead-letter sink.
        hooks: Objects whose ``setup``/``teardown`` run around the stage.
    """

    name: str
    fn: Callable[[Any], Any]
    is_async: bool
    kind: StepKind = "map"
    handler: Callable[[Exception, Any], Any] | None = None
    policy: Policy = attrs.field(factory=Policy)
    hooks: tuple[Any, ...] = ()
    stats: StageStats = attrs.field(init=False)
    _call: Callable[[Any], Any] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.stats = StageStats(self.name)
        self._call = _as_filter(self.fn, self.is_async) if self.kind == "filter" else self.fn

    async def apply(self, chunk: list[Any]) -> list[Any]:
        """Run the step over *chunk* on the event loop; return the outputs in order."""
        started = perf_counter() if self.stats.timings is not None else 0.0
        out: list[Any] = []
        items = iter(chunk)
        call = self._call
        while True:
            if self.is_async:
                failure = await _amap_loop(call, items, out)
            else:
                failure = _map_loop(call, items, out)
            if failure is None:
                break
            item, error = failure
            try:
                result = await drive(self.recovery(item, error), self.policy.dead_letter)
            except StageFailure as given_up:
                given_up.before = _finish(self.kind, out)
                # The items up to the failing one were taken in; the rest never will be.
                self.stats.items_in += len(chunk) - sum(1 for _ in items)
                self.stats.items_out += len(given_up.before)
                raise
            if result is not NO_RESULT:
                out.append(result)
        return self._count(chunk, _finish(self.kind, out), started)

    def apply_blocking(self, chunk: list[Any]) -> list[Any]:
        """Run a sync step over *chunk* with no event loop; return the outputs in order."""
        started = perf_counter() if self.stats.timings is not None else 0.0
        out: list[Any] = []
        items = iter(chunk)
        while True:
            failure = _map_loop(self._call, items, out)
            if failure is None:
                break
            item, error = failure
            try:
                result = drive_blocking(self.recovery(item, error), self.policy.dead_letter)
            except StageFailure as given_up:
                given_up.before = _finish(self.kind, out)
                # The items up to the failing one were taken in; the rest never will be.
                self.stats.items_in += len(chunk) - sum(1 for _ in items)
                self.stats.items_out += len(given_up.before)
                raise
            if result is not NO_RESULT:
                out.append(result)
        return self._count(chunk, _finish(self.kind, out), started)

    def recovery(self, item: Any, error: Exception) -> Any:
        """The error policy's recovery for *item*, to run with ``drive``/``drive_blocking``."""
        return recover(
            stage=self.name,
            fn=self._call,
            handler=self.handler,
            policy=self.policy,
            stats=self.stats,
            item=item,
            error=error,
        )

    def _count(self, chunk: list[Any], out: list[Any], started: float) -> list[Any]:
        stats = self.stats
        stats.items_in += len(chunk)
        stats.items_out += len(out)
        if stats.timings is not None:
            stats.observe(perf_counter() - started, len(chunk))
        return out


class Unit(Protocol):
    """A step or a chain of steps: turns a chunk into the outputs for it."""

    async def apply(self, chunk: list[Any]) -> list[Any]: ...

    def apply_blocking(self, chunk: list[Any]) -> list[Any]: ...


async def apply_all(steps: Sequence[Unit], chunk: list[Any]) -> list[Any]:
    """Run *chunk* through *steps* in order.

    Raises:
        StageFailure: A step gave up on an item; its ``before`` holds the outputs of the
            whole chain for the items that precede it.
    """
    for index, step in enumerate(steps):
        try:
            chunk = await step.apply(chunk)
        except StageFailure as failure:
            failure.before = await apply_all(steps[index + 1 :], failure.before)
            raise
        if not chunk:
            break
    return chunk


def apply_all_blocking(steps: Sequence[Unit], chunk: list[Any]) -> list[Any]:
    """Like :func:`apply_all`, with no event loop."""
    for index, step in enumerate(steps):
        try:
            chunk = step.apply_blocking(chunk)
        except StageFailure as failure:
            failure.before = apply_all_blocking(steps[index + 1 :], failure.before)
            raise
        if not chunk:
            break
    return chunk
