"""Concurrency inside one stage: a bounded pool of workers, and offload to threads/processes.

The runner gives every stage one task. A stage that must do several things at once (run up
to N items concurrently, read several sources, feed several branches) opens a
:class:`Crew`: a task group, owned by the stage's task, whose first failure cancels the
others and comes out of the stage as that one exception, not as an ``ExceptionGroup``, so
the runner reports it like any other stage failure. Cancelling the stage's task (the runner
does that on errors and early exits) cancels every task of its crew.
"""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Any, Literal, final

import anyio
import anyio.to_process
import anyio.to_thread
import attrs
from anyio import WouldBlock

from ..core.exceptions import ConfigError
from ._policy import StageFailure
from ._stage import FusedStage
from ._steps import Step, apply_all

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from types import TracebackType

    from anyio.abc import TaskGroup
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from ..config import BackpressureConfig
    from ._links import Link
    from ._stats import StageStats

Offload = Literal["thread", "process"]
"""Where a sync function runs when it must not block the event loop."""

OFFLOADS: tuple[Offload, ...] = ("thread", "process")


@final
class Crew:
    """The tasks of one stage; the first failure stops them all and is re-raised.

    Use as ``async with Crew() as crew: crew.start_soon(fn, *args)``. The block exits when
    every task has finished. If a task raised an ``Exception``, the others are cancelled and
    that exception (the first one) is raised from the ``async with``; later failures are
    consequences of the first and are dropped. Cancellation and ``BaseException``\\s pass
    through untouched.
    """

    def __init__(self) -> None:
        self._group: TaskGroup | None = None
        self._failure: Exception | None = None

    async def __aenter__(self) -> Crew:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._group is not None
        await self._group.__aexit__(exc_type, exc, tb)
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def start_soon(self, fn: Callable[..., Awaitable[Any]], *args: Any, name: str) -> None:
        """Start ``fn(*args)`` as a task of this crew."""
        assert self._group is not None
        self._group.start_soon(self._guard, fn, args, name=name)

    def cancel(self) -> None:
        """Cancel every task of the crew; the ``async with`` then exits without error."""
        assert self._group is not None
        self._group.cancel_scope.cancel()

    async def _guard(self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> None:
        try:
            await fn(*args)
        except Exception as exc:
            # Recorded rather than raised: a task group would wrap it in an ExceptionGroup.
            if self._failure is None:
                self._failure = exc
            self.cancel()


# -- offload ------------------------------------------------------------------------------


class Offloaded:
    """A sync function run in a worker thread or process, at most *tokens* at a time.

    The limiter is created on the first call, inside the running event loop, so one plan
    (and so one limiter) serves one run.
    """

    def __init__(self, fn: Callable[[Any], Any], where: Offload, tokens: int) -> None:
        self.fn = fn
        self.where = where
        self.tokens = tokens
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, item: Any) -> Any:
        limiter = self._limiter
        if limiter is None:
            limiter = self._limiter = anyio.CapacityLimiter(self.tokens)
        if self.where == "thread":
            # A thread cannot be interrupted: on cancellation the stage stops waiting for
            # it at once and the thread runs to completion in the background, its result
            # discarded.
            return await anyio.to_thread.run_sync(
                self.fn, item, limiter=limiter, abandon_on_cancel=True
            )
        # A worker process can be: on cancellation it is killed.
        return await anyio.to_process.run_sync(self.fn, item, limiter=limiter, cancellable=True)


def check_offload(where: str, offload: object, concurrency: object) -> None:
    """Raise ``ConfigError`` for a bad ``offload`` or ``concurrency`` value of *where*."""
    problems = []
    if offload is not None and offload not in OFFLOADS:
        problems.append(f"{where}: offload must be None, 'thread' or 'process' (got {offload!r})")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        problems.append(f"{where}: concurrency must be an int >= 1 (got {concurrency!r})")
    if problems:
        raise ConfigError(problems)


def offload_step(step: Step, where: Offload, tokens: int) -> Step:
    """Return *step* with its function run in a thread or a process.

    Raises:
        TypeError: The step's function is async, or (for processes) cannot be pickled.
    """
    if step.is_async:
        raise TypeError(
            f"stage {step.name!r}: offload={where!r} runs sync functions outside the event "
            f"loop, but this one is async; drop offload= (async functions do not block)"
        )
    if where == "process":
        try:
            pickle.dumps(step.fn)
        except Exception as exc:
            raise TypeError(
                f"stage {step.name!r}: offload='process' sends the function to a worker "
                f"process, so it must be picklable, got {step.fn!r} ({type(exc).__name__}: "
                f"{exc}); use a function defined at module level or a picklable pipe"
            ) from exc
    return attrs.evolve(step, fn=Offloaded(step.fn, where, tokens), is_async=True)


def steps_of(name: str, units: Sequence[Any]) -> list[Step]:
    """The per-item steps of *units*, which must all be steps (or fused stages of steps).

    Raises:
        TypeError: A unit processes the whole stream and cannot run one item at a time.
    """
    steps: list[Step] = []
    for unit in units:
        if isinstance(unit, Step):
            steps.append(unit)
        elif isinstance(unit, FusedStage):
            steps.extend(unit.steps)
        else:
            raise TypeError(
                f"stage {name!r}: concurrency and offload apply to per-item pipes, but "
                f"{unit.name!r} is a stream stage ({type(unit).__name__}) that sees the whole "
                f"stream; run it in a .through() of its own"
            )
    return steps


# -- the concurrent stage -------------------------------------------------------------------


class _Slot:
    """One item on its way through a concurrent stage."""

    __slots__ = ("done", "failure", "item", "outputs")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.done = anyio.Event()
        self.outputs: list[Any] = []
        self.failure: Exception | None = None


@attrs.define(eq=False)
class ConcurrentStage:
    """Per-item steps applied to up to *concurrency* items at once.

    Each item goes through every step in order (as in a fused stage) in one of at most
    *concurrency* worker tasks, which are started as needed. With *ordered* the outputs
    leave in input order: at most ``2 * concurrency`` items are admitted and not yet
    delivered, so a slow item lets up to ``2 * concurrency - 1`` later items finish while it
    runs, and then holds further input back. Without *ordered* outputs leave as items
    finish, and a finished item waits (holding its worker) only for room downstream.
    """

    name: str
    steps: list[Step]
    concurrency: int
    ordered: bool = True
    backpressure: BackpressureConfig | None = None
    hooks: tuple[Any, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.hooks = tuple(hook for step in self.steps for hook in step.hooks)

    def stats(self) -> list[StageStats]:
        return [step.stats for step in self.steps]

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        # Admitted slots go to the emitter in input order (ordered) or as they finish.
        window = 2 * self.concurrency - 1 if self.ordered else 0
        order_send, order_recv = anyio.create_memory_object_stream[_Slot](window)
        work_send, work_recv = anyio.create_memory_object_stream[_Slot](0)
        with order_send, order_recv, work_send, work_recv:
            async with Crew() as crew:
                crew.start_soon(
                    self._admit, inbox, crew, order_send, work_send, work_recv, name=self.name
                )
                crew.start_soon(self._emit, order_recv, outbox, name=self.name)

    async def _admit(
        self,
        inbox: Link[Any],
        crew: Crew,
        order_send: MemoryObjectSendStream[_Slot],
        work_send: MemoryObjectSendStream[_Slot],
        work_recv: MemoryObjectReceiveStream[_Slot],
    ) -> None:
        workers = 0
        ordered = self.ordered
        with order_send, work_send:
            while True:
                try:
                    chunk = await inbox.get()
                except anyio.EndOfStream:
                    return
                for item in chunk:
                    slot = _Slot(item)
                    if ordered:
                        # Waits while the reorder window is full.
                        await _send(order_send, slot)
                    try:
                        work_send.send_nowait(slot)  # succeeds if a worker is idle
                    except WouldBlock:
                        if workers < self.concurrency:
                            workers += 1
                            done = None if ordered else order_send.clone()
                            crew.start_soon(self._work, slot, work_recv, done, name=self.name)
                        else:
                            await work_send.send(slot)

    async def _work(
        self,
        slot: _Slot,
        work_recv: MemoryObjectReceiveStream[_Slot],
        done: MemoryObjectSendStream[_Slot] | None,
    ) -> None:
        steps = self.steps
        if done is None:
            while True:
                await _process(steps, slot)
                try:
                    slot = await _receive(work_recv)
                except anyio.EndOfStream:
                    return
        with done:
            while True:
                await _process(steps, slot)
                # Unordered: the worker hands its result over before taking more work, so a
                # full downstream holds workers back instead of piling up results.
                await _send(done, slot)
                try:
                    slot = await _receive(work_recv)
                except anyio.EndOfStream:
                    return

    async def _emit(self, order_recv: MemoryObjectReceiveStream[_Slot], outbox: Link[Any]) -> None:
        while True:
            try:
                slot = await _receive(order_recv)
            except anyio.EndOfStream:
                return
            if not slot.done.is_set():
                await slot.done.wait()
            failure = slot.failure
            if failure is not None:
                if isinstance(failure, StageFailure):
                    await outbox.put_many(failure.before)
                raise failure
            if slot.outputs:
                await outbox.put_many(slot.outputs)


# The stage's channels are used with a non-waiting attempt first: anyio's `send` and
# `receive` always yield to the scheduler, even when they could complete at once, and that
# cost per item is most of what the stage adds to a fast step. Whenever the stage must wait
# it still does so in `send`/`receive`, and the steps themselves yield as they await.


async def _send(stream: MemoryObjectSendStream[_Slot], slot: _Slot) -> None:
    try:
        stream.send_nowait(slot)
    except WouldBlock:
        await stream.send(slot)


async def _receive(stream: MemoryObjectReceiveStream[_Slot]) -> _Slot:
    try:
        return stream.receive_nowait()
    except WouldBlock:
        return await stream.receive()


async def _process(steps: list[Step], slot: _Slot) -> None:
    try:
        slot.outputs = await apply_all(steps, [slot.item])
    except Exception as exc:
        # Raised later, by the emitter, in the item's turn: outputs that precede it in
        # stream order are delivered first.
        slot.failure = exc
    slot.done.set()
