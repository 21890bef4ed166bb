"""Consecutive sync map steps, run item by item in one generated loop.

Fused steps normally take a chunk one step at a time. For a run of two or more sync
``map`` steps that costs a loop iteration and a list append per item per step; running the
whole run per item costs only the calls, and gives the order of side effects a plain
``for`` loop would have. The loop for a run of *n* steps is generated once, as attrs
generates ``__init__``: a generic loop over the steps would give the saving back.

Each step's call has a line of its own in the loop, so the line a failure comes from names
the step, and its input is the last value computed; the item goes through that step's
recovery and then, one by one, the steps after it.
"""

from __future__ import annotations

import functools
from operator import length_hint
from typing import TYPE_CHECKING, Any

import attrs

from ._policy import NO_RESULT, StageFailure, drive, drive_blocking

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ._steps import Step, Unit

TIMED_EVERY = 16
"""A monitored chain times its steps on one chunk in this many."""

ChainFailure = tuple[int, Any, Exception]
"""Index of the step that raised, its input, and the exception."""


_FIRST_CALL_LINE = 6
"""Line of the generated loop holding the call to the first step; one call per line follows."""


@functools.cache
def _loop_for(length: int) -> Callable[..., ChainFailure | None]:
    calls = "".join(
        f"            value = f{i}({'item' if i == 0 else 'value'})\n" for i in range(length)
    )
    source = (
        f"def chain_loop(items, out, {', '.join(f'f{i}' for i in range(length))}):\n"
        "    append = out.append\n"
        "    item = value = None\n"
        "    try:\n"
        "        for item in items:\n"
        f"{calls}"
        "            append(value)\n"
        "    except Exception as exc:\n"
        "        # The line of the failed call tells the step; its input is the last value.\n"
        f"        step = exc.__traceback__.tb_lineno - {_FIRST_CALL_LINE}\n"
        "        return step, (item if step == 0 else value), exc\n"
        "    return None\n"
    )
    namespace: dict[str, Any] = {}
    # The source is the fixed template above, with only step numbers filled in.
    exec(compile(source, f"<rivusio chain of {length} steps>", "exec"), namespace)  # noqa: S102
    return namespace["chain_loop"]  # type: ignore[no-any-return]


@attrs.define(eq=False)
class SyncMapChain:
    """Two or more consecutive sync ``map`` steps, run item by item."""

    steps: list[Step]
    _loop: Callable[..., ChainFailure | None] = attrs.field(init=False)
    _fns: tuple[Callable[[Any], Any], ...] = attrs.field(init=False)
    _chunks: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self._loop = _loop_for(len(self.steps))
        self._fns = tuple(step.fn for step in self.steps)

    def _timed(self) -> bool:
        # Per-step processing times need per-step passes, which give up the chained loop's
        # speed; a monitored run times one chunk in TIMED_EVERY (the first, then every
        # TIMED_EVERY-th) and runs the others chained, counted but not timed.
        if not any(step.stats.timings is not None for step in self.steps):
            return False
        self._chunks += 1
        return self._chunks % TIMED_EVERY == 1

    async def apply(self, chunk: list[Any]) -> list[Any]:
        """Run the chain over *chunk* on the event loop; return the outputs in order."""
        from ._steps import apply_all

        if self._timed():
            return await apply_all(list(self.steps), chunk)
        out: list[Any] = []
        items = iter(chunk)
        failed = [0] * len(self.steps)
        try:
            while (failure := self._loop(items, out, *self._fns)) is not None:
                index, value, error = failure
                failed[index] += 1
                step = self.steps[index]
                try:
                    result = await drive(step.recovery(value, error), step.policy.dead_letter)
                    if result is not NO_RESULT:
                        step.stats.items_out += 1
                        out.extend(await apply_all(self.steps[index + 1 :], [result]))
                except StageFailure as given_up:
                    given_up.before = out + given_up.before
                    raise
        finally:
            self._count(len(chunk) - length_hint(items), failed)
        return out

    def apply_blocking(self, chunk: list[Any]) -> list[Any]:
        """Run the chain over *chunk* with no event loop; return the outputs in order."""
        from ._steps import apply_all_blocking

        if self._timed():
            return apply_all_blocking(list(self.steps), chunk)
        out: list[Any] = []
        items: Iterator[Any] = iter(chunk)
        failed = [0] * len(self.steps)
        try:
            while (failure := self._loop(items, out, *self._fns)) is not None:
                index, value, error = failure
                failed[index] += 1
                step = self.steps[index]
                try:
                    result = drive_blocking(step.recovery(value, error), step.policy.dead_letter)
                    if result is not NO_RESULT:
                        step.stats.items_out += 1
                        out.extend(apply_all_blocking(self.steps[index + 1 :], [result]))
                except StageFailure as given_up:
                    given_up.before = out + given_up.before
                    raise
        finally:
            self._count(len(chunk) - length_hint(items), failed)
        return out

    def _count(self, entered: int, failed: list[int]) -> None:
        """Count what the fast loop passed through each step (recoveries count themselves)."""
        reached = entered
        for step, failures in zip(self.steps, failed, strict=True):
            step.stats.items_in += reached
            step.stats.items_out += reached - failures
            reached -= failures


def chain_runs(steps: list[Step]) -> list[Unit]:
    """Group each run of two or more consecutive sync ``map`` steps into a chain."""
    units: list[Unit] = []
    run: list[Step] = []

    def close_run() -> None:
        units.extend([SyncMapChain(list(run))] if len(run) > 1 else run)
        run.clear()

    for step in steps:
        if step.kind == "map" and not step.is_async:
            run.append(step)
        else:
            close_run()
            units.append(step)
    close_run()
    return units
