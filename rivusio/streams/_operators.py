"""Operators: the stream functions users expect, each returning a pipe for ``.through`` or ``>>``.

Three kinds, by what they cost at run time:

- per-item operators (``map``, ``filter``, ``flat_map``, ``scan``, ``skip``, ``skip_while``,
  ``distinct``, ``key_by``) become *steps*: they run fused with the per-item pipes around
  them, one function call per item, with no task or channel of their own;
- ``map(..., concurrency=N)`` or with ``offload=`` is a stage of its own that runs up to N
  items at once (:mod:`rivusio.runtime._concurrent`);
- every other operator is a stage of its own (one task, one bounded input buffer): those
  that stop early, keep state across the end of the stream, wait on timers, or combine or
  split streams.

Sync and async functions are both accepted wherever a function is; async ones are recognised
with :func:`inspect.iscoroutinefunction` (a ``def`` that returns an awaitable is not).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import inspect
import itertools
import math
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Sequence,
)
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

import anyio
import attrs
from anyio.abc import ObjectSendStream

from ..aio import AsyncStream
from ..config import BackpressureConfig, StreamConfig
from ..core._types import InT, OutT
from ..core.exceptions import ConfigError, StreamError
from ..core.pipes import BasePipe
from ..runtime._concurrent import ConcurrentStage, Crew, Offload, check_offload, offload_step
from ..runtime._concurrent import steps_of as _steps_of
from ..runtime._links import Link
from ..runtime._plan import Unit, units_for
from ..runtime._policy import NO_RESULT, Policy, StageFailure, drive, recover
from ..runtime._stage import InboxItems
from ..runtime._stats import StageStats
from ..runtime._steps import Step, StepKind
from ._pipe import StreamPipe

if TYPE_CHECKING:
    from typing import TypeGuard

    from ..config import RetryConfig
    from ..config.backpressure import OverflowPolicy
    from ..core._types import DeadLetterSink, ErrorPolicy

__all__ = (
    "branch",
    "broadcast",
    "buffer",
    "debounce",
    "delay",
    "distinct",
    "filter",
    "flat_map",
    "group_by",
    "key_by",
    "map",
    "merge",
    "partition",
    "rate_limit",
    "reduce",
    "scan",
    "skip",
    "skip_while",
    "take",
    "take_while",
    "tee",
    "throttle",
    "zip",
    "zip_latest",
)

K = TypeVar("K", bound=Hashable)
"""A key computed from an item."""
AccT = TypeVar("AccT")
"""An accumulator: the state of ``scan`` and ``reduce``."""
T1 = TypeVar("T1")
"""The items of a second stream."""
T2 = TypeVar("T2")
"""The items of a third stream."""
T3 = TypeVar("T3")
"""The items of a fourth stream."""

Source = AsyncIterable[Any] | Iterable[Any]
"""What ``merge``, ``zip`` and ``zip_latest`` read besides the stream: an async iterable, an
iterable, an anyio receive stream, or an :class:`~rivusio.AsyncStream`."""

Sink = Callable[[Any], Any] | list[Any] | ObjectSendStream[Any]
"""Where ``tee`` and ``branch`` send items: a callable (sync or async), a list to append to,
or an anyio send stream (which waits while it is full, and is closed when the stream ends)."""

DISTINCT_MAX_KEYS = 100_000
"""How many keys ``distinct`` remembers by default."""
GROUP_BY_MAX_GROUPS = 1_000
"""How many groups ``group_by`` keeps open by default."""

_MISSING: Any = object()


# -- helpers --------------------------------------------------------------------------------


def _is_async(fn: Callable[..., Any]) -> bool:
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _fn_name(fn: Any) -> str:
    if isinstance(fn, BasePipe):
        return fn.name
    inner = fn.func if isinstance(fn, functools.partial) else fn
    return str(getattr(inner, "__name__", type(inner).__name__))


def _seconds(where: str, field: str, value: object, *, positive: bool) -> float:
    # `value` is checked as the object it is at run time, whatever its annotation said.
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not math.isfinite(seconds)
        or seconds < 0
        or (positive and seconds == 0)
    ):
        bound = "> 0" if positive else ">= 0"
        raise ConfigError(
            f"{where}: {field} must be a finite number of seconds {bound} or a timedelta "
            f"(got {value!r})"
        )
    return float(seconds)


def _count(where: str, field: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {field} must be an int >= {minimum} (got {value!r})")
    return value


def _then(
    fn: Callable[[Any], Any], is_async: bool, then: Callable[[Any, Any], Any]
) -> Callable[[Any], Any]:
    """``item -> then(item, fn(item))``, awaiting *fn* when it is async."""
    if is_async:

        async def call_async(item: Any) -> Any:
            return then(item, await fn(item))

        return call_async
    return lambda item: then(item, fn(item))


@attrs.define(eq=False)
class _Calls:
    """A user function called once per item inside a stage, under the stage's error policy.

    ``await calls(item)`` returns the function's result, or ``NO_RESULT`` when the call
    failed and the policy skipped or dead-lettered the item; under ``"raise"`` it raises
    ``StageFailure``.
    """

    stage: str
    fn: Callable[[Any], Any]
    policy: Policy
    stats: StageStats
    is_async: bool = attrs.field(
        default=attrs.Factory(lambda self: _is_async(self.fn), takes_self=True)
    )

    async def __call__(self, item: Any) -> Any:
        try:
            result = self.fn(item)
            if self.is_async:
                result = await result
        except Exception as exc:
            recovery = recover(
                stage=self.stage,
                fn=self.fn,
                handler=None,
                policy=self.policy,
                stats=self.stats,
                item=item,
                error=exc,
            )
            return await drive(recovery, self.policy.dead_letter)
        return result


async def _deliver(sink: Sink, item: Any) -> None:
    if isinstance(sink, list):
        sink.append(item)
    elif isinstance(sink, ObjectSendStream):
        await sink.send(item)
    else:
        result = sink(item)
        if inspect.isawaitable(result):
            await result


async def _close_sinks(sinks: Sequence[Sink]) -> None:
    # Closing is part of ending the stream, even when it ends by cancellation.
    with anyio.CancelScope(shield=True):
        for sink in sinks:
            if isinstance(sink, ObjectSendStream):
                await sink.aclose()


async def _pump(source: Any, link: Link[Any], where: str, tag: int | None = None) -> None:
    """Send every item of *source* into *link* (as ``(tag, item)`` if *tag* is given).

    *where* is the stage reading *source*, for the error message.
    """
    if isinstance(source, AsyncStream):
        async with source as results:
            while (chunk := await results.next_chunk()) is not None:
                await link.put_many(chunk if tag is None else [(tag, x) for x in chunk])
    elif hasattr(source, "__aiter__"):
        iterator = source.__aiter__()
        try:
            async for item in iterator:
                await link.put(item if tag is None else (tag, item))
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
    elif isinstance(source, Iterable):
        items = iter(source)
        while chunk := list(itertools.islice(items, link.chunk)):
            await link.put_many(chunk if tag is None else [(tag, x) for x in chunk])
    else:
        raise TypeError(
            f"stage {where!r}: a source must be an async iterable, an iterable, an anyio "
            f"receive stream or an AsyncStream, got {type(source).__name__}"
        )
    await link.flush()


async def _forward(inbox: Link[Any], outbox: Link[Any], tag: int | None = None) -> None:
    while True:
        try:
            chunk = await inbox.get()
        except anyio.EndOfStream:
            return
        await outbox.put_many(chunk if tag is None else [(tag, x) for x in chunk])


# -- operator pipes -------------------------------------------------------------------------


@attrs.define(eq=False, kw_only=True, repr=False)
class Operator(StreamPipe[InT, OutT]):
    """The pipe an operator function returns; compose it with ``>>`` or pass it to ``through``.

    ``config`` sets the input buffer of operators that run as stages of their own; per-item
    operators have no buffer of their own and ignore it.
    """

    def per_item(self) -> bool:
        """Whether the operator keeps no state between items (so it may run concurrently)."""
        return False

    def __repr__(self) -> str:
        return f"<operator {self.name}>"

    async def process(self, data: InT) -> OutT:
        """Not available: the operator works on a stream, not on one value."""
        raise TypeError(
            f"operator {self.name!r} works on a stream and cannot run on a single value; use "
            f"AsyncStream(source).through(op) or op.stream(source)"
        )


@attrs.define(eq=False, kw_only=True, repr=False)
class _StepOperator(Operator[InT, OutT]):
    """A per-item operator: a fusable step, built afresh (with fresh state) for every run."""

    kind: StepKind
    make: Callable[[], tuple[Callable[[Any], Any], bool]]
    stateless: bool = True

    def per_item(self) -> bool:
        """Whether the step keeps no state between items."""
        return self.stateless

    def plan_units(self, policy: Policy) -> list[Unit]:
        """Describe this operator to the planner: one fusable step."""
        policy.check(self.name)
        fn, is_async = self.make()
        return [Step(self.name, fn, is_async, kind=self.kind, policy=policy)]


@attrs.define(eq=False, kw_only=True, repr=False)
class _Map(Operator[InT, OutT]):
    fn: BasePipe[Any, Any] | Callable[[Any], Any]
    concurrency: int
    ordered: bool
    offload: Offload | None

    def per_item(self) -> bool:
        """A map keeps no state between items."""
        return True

    def plan_units(self, policy: Policy) -> list[Unit]:
        """A fusable step, or a concurrent stage with ``concurrency > 1`` or ``offload``."""
        units: list[Unit]
        if isinstance(self.fn, BasePipe):
            units = units_for(self.fn, policy)
        else:
            policy.check(self.name)
            units = [Step(self.name, self.fn, _is_async(self.fn), policy=policy)]
        if self.concurrency == 1 and self.offload is None:
            return units
        steps = _steps_of(self.name, units)
        if self.offload is not None:
            steps = [offload_step(step, self.offload, self.concurrency) for step in steps]
        if self.concurrency == 1:
            return [*steps]
        return [
            ConcurrentStage(
                self.name, steps, self.concurrency, self.ordered, backpressure=self.config
            )
        ]

    async def process(self, data: InT) -> OutT:
        """Apply the function (or pipe) to one value."""
        fn = self.fn
        result = fn.process(data) if isinstance(fn, BasePipe) else fn(data)  # type: ignore[attr-defined]
        if inspect.isawaitable(result):
            result = await result
        return result  # type: ignore[no-any-return]


@attrs.define(eq=False, kw_only=True, repr=False)
class _StageOperator(Operator[InT, OutT]):
    """An operator with a task of its own; ``make(policy)`` builds its stage for one run."""

    make: Callable[[_StageOperator[Any, Any], Policy], Any]

    def plan_units(self, policy: Policy) -> list[Unit]:
        """Describe this operator to the planner: one stage of its own."""
        policy.check(self.name)
        return [self.make(self, policy)]


def _check_per_item(where: str, pipe: BasePipe[Any, Any]) -> None:
    for inner in getattr(pipe, "pipes", None) or ():
        _check_per_item(where, inner)
    if isinstance(pipe, Operator) and not pipe.per_item():
        raise TypeError(
            f"{where}: {pipe.name!r} keeps state across items or has a task of its own, so it "
            f"cannot run on several items at once; put it in a .through() of its own"
        )


# -- stages ---------------------------------------------------------------------------------


@attrs.define(eq=False, kw_only=True)
class _Stage:
    """Fields and stats shared by the operator stages."""

    name: str
    backpressure: BackpressureConfig | None = None
    hooks: tuple[Any, ...] = ()
    _stats: StageStats = attrs.field(init=False)

    uses_timers: ClassVar[bool] = False

    def __attrs_post_init__(self) -> None:
        self._stats = StageStats(self.name)

    def stats(self) -> list[StageStats]:
        return [self._stats]


@attrs.define(eq=False, kw_only=True)
class _Take(_Stage):
    count: int

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        remaining = self.count
        stats = self._stats
        while remaining:
            try:
                chunk = await inbox.get()
            except anyio.EndOfStream:
                return
            # The items of the chunk beyond the n-th are never taken in.
            if len(chunk) > remaining:
                chunk = chunk[:remaining]
            remaining -= len(chunk)
            stats.items_in += len(chunk)
            stats.items_out += len(chunk)
            await outbox.put_many(chunk)
        # Satisfied: stop reading, so that upstream stops at its next send.
        inbox.close_receiver()


@attrs.define(eq=False, kw_only=True)
class _TakeWhile(_Stage):
    pred: Callable[[Any], Any]
    policy: Policy

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        stats = self._stats
        calls = _Calls(self.name, self.pred, self.policy, stats)
        while True:
            try:
                chunk = await inbox.get()
            except anyio.EndOfStream:
                return
            for item in chunk:
                # Counted one by one: the items after the one that ends the stream are
                # never taken in.
                stats.items_in += 1
                keep = await calls(item)
                if keep is NO_RESULT:
                    continue
                if not keep:
                    inbox.close_receiver()
                    return
                stats.items_out += 1
                await outbox.put(item)


@attrs.define(eq=False, kw_only=True)
class _Reduce(_Stage):
    fn: Callable[[Any, Any], Any]
    initial: Any
    policy: Policy

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        stats = self._stats
        fn = self.fn
        acc = self.initial
        calls = _Calls(
            self.name, lambda item: fn(acc, item), self.policy, stats, is_async=_is_async(fn)
        )
        while True:
            try:
                chunk = await inbox.get()
            except anyio.EndOfStream:
                break
            stats.items_in += len(chunk)
            for item in chunk:
                value = await calls(item)
                if value is not NO_RESULT:
                    acc = value
        stats.items_out += 1
        await outbox.put(acc)


@attrs.define(eq=False, kw_only=True)
class _Pace(_Stage):
    """``throttle`` (waits) and ``rate_limit`` (drops) on one generic cell rate algorithm."""

    interval: float
    burst: int
    drop: bool

    uses_timers: ClassVar[bool] = True

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        stats = self._stats
        # `due` is when the next item would be due at exactly the sustained rate; an item
        # may go up to `slack` seconds before that (the burst).
        slack = (self.burst - 1) * self.interval
        due = -math.inf
        while True:
            try:
                chunk = await inbox.get()
            except anyio.EndOfStream:
                return
            stats.items_in += len(chunk)
            for item in chunk:
                now = anyio.current_time()
                due = max(due, now)
                earliest = due - slack
                if earliest > now:
                    if self.drop:
                        stats.dropped += 1
                        continue
                    await anyio.sleep_until(earliest)
                due += self.interval
                stats.items_out += 1
                await outbox.put(item)


@attrs.define(eq=False, kw_only=True)
class _Debounce(_Stage):
    quiet: float

    uses_timers: ClassVar[bool] = True

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        stats = self._stats
        latest: Any = _MISSING
        deadline = math.inf
        while True:
            ended = False
            # A receive cut short by the deadline loses nothing (links are cancel-safe).
            with anyio.CancelScope(deadline=deadline) as scope:
                try:
                    chunk = await inbox.get()
                except anyio.EndOfStream:
                    ended = True
            if scope.cancelled_caught or ended:
                if latest is not _MISSING:
                    stats.items_out += 1
                    await outbox.put(latest)
                    latest, deadline = _MISSING, math.inf
                if ended:
                    return
                continue
            stats.items_in += len(chunk)
            # Every item but the last of the chunk is replaced at once, and so is the one
            # that was waiting.
            stats.dropped += len(chunk) - 1 + (latest is not _MISSING)
            latest = chunk[-1]
            deadline = anyio.current_time() + self.quiet


@attrs.define(eq=False, kw_only=True)
class _Delay(_Stage):
    seconds: float

    uses_timers: ClassVar[bool] = True

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        stats = self._stats
        held: collections.deque[tuple[float, Any]] = collections.deque()
        limit = max(1, inbox.capacity)
        ended = False
        while held or not ended:
            now = anyio.current_time()
            while held and held[0][0] <= now:
                stats.items_out += 1
                await outbox.put(held.popleft()[1])
            if held and (ended or len(held) >= limit):
                # Holding as many items as the input buffer does: stop reading until the
                # oldest is due, so that memory stays bounded.
                await anyio.sleep_until(held[0][0])
                continue
            with anyio.CancelScope(deadline=held[0][0] if held else math.inf):
                try:
                    chunk = await inbox.get()
                except anyio.EndOfStream:
                    ended = True
                    continue
                stats.items_in += len(chunk)
                due = anyio.current_time() + self.seconds
                held.extend((due, item) for item in chunk)


@attrs.define(eq=False, kw_only=True)
class _Buffer(_Stage):
    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        stats = self._stats
        while True:
            try:
                chunk = await inbox.get()
            except anyio.EndOfStream:
                return
            stats.items_in += len(chunk)
            stats.items_out += len(chunk)
            await outbox.put_many(chunk)


@attrs.define(eq=False, kw_only=True)
class _Merge(_Stage):
    sources: tuple[Any, ...]

    own_inputs: ClassVar[bool] = True

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        # Every input writes straight into the outbox. A link may have several senders: each
        # send takes the oldest pending items, and a full channel serves waiting senders in
        # the order they came, so every input's items stay in order.
        async with Crew() as crew:
            crew.start_soon(_forward, inbox, outbox, name=f"{self.name}: stream")
            for index, source in enumerate(self.sources, start=1):
                crew.start_soon(
                    _pump, source, outbox, self.name, name=f"{self.name}: source {index}"
                )


@attrs.define(eq=False, kw_only=True)
class _Zip(_Stage):
    others: tuple[Any, ...]

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        capacity = inbox.capacity
        links: list[Link[Any]] = [
            Link(f"{self.name}[{i}]", capacity) for i in range(1, len(self.others) + 1)
        ]
        try:
            await self._run(inbox, outbox, links)
        finally:
            _close_links(links)

    async def _run(self, inbox: Link[Any], outbox: Link[Any], links: list[Link[Any]]) -> None:
        async with Crew() as crew:
            for index, link in enumerate(links):
                crew.start_soon(
                    _pump_and_close, self.others[index], link, self.name, name=link.name
                )
            crew.start_soon(self._combine, inbox, outbox, links, crew, name=self.name)

    async def _combine(
        self, inbox: Link[Any], outbox: Link[Any], links: list[Link[Any]], crew: Crew
    ) -> None:
        stats = self._stats
        others = [InboxItems(link, StageStats(link.name)) for link in links]
        try:
            while True:
                try:
                    chunk = await inbox.get()
                except anyio.EndOfStream:
                    return
                stats.items_in += len(chunk)
                for item in chunk:
                    row = [item]
                    for other in others:
                        try:
                            row.append(await other.__anext__())
                        except StopAsyncIteration:
                            # The shortest input ended: stop reading the stream too.
                            inbox.close_receiver()
                            return
                    stats.items_out += 1
                    await outbox.put(tuple(row))
        finally:
            crew.cancel()


@attrs.define(eq=False, kw_only=True)
class _ZipLatest(_Stage):
    others: tuple[Any, ...]
    partial: bool
    default: Any

    own_inputs: ClassVar[bool] = True

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        arrivals: Link[tuple[int, Any]] = Link(f"{self.name}: arrivals", inbox.capacity)
        try:
            async with Crew() as crew:
                crew.start_soon(self._feed, inbox, arrivals, name=f"{self.name}: inputs")
                crew.start_soon(self._combine, arrivals, outbox, name=self.name)
        finally:
            _close_links([arrivals])

    async def _feed(self, inbox: Link[Any], arrivals: Link[tuple[int, Any]]) -> None:
        async with Crew() as crew:
            crew.start_soon(_forward, inbox, arrivals, 0, name=f"{self.name}: stream")
            for index, source in enumerate(self.others, start=1):
                crew.start_soon(
                    _pump, source, arrivals, self.name, index, name=f"{self.name}: {index}"
                )
        await arrivals.aclose_sender()

    async def _combine(self, arrivals: Link[tuple[int, Any]], outbox: Link[Any]) -> None:
        stats = self._stats
        latest = [_MISSING] * (len(self.others) + 1)
        missing = len(latest)
        default = self.default
        while True:
            try:
                chunk = await arrivals.get()
            except anyio.EndOfStream:
                return
            stats.items_in += len(chunk)
            for index, item in chunk:
                if latest[index] is _MISSING:
                    missing -= 1
                latest[index] = item
                if not missing:
                    stats.items_out += 1
                    await outbox.put(tuple(latest))
                elif self.partial:
                    stats.items_out += 1
                    await outbox.put(tuple(default if x is _MISSING else x for x in latest))


def _close_links(links: Iterable[Link[Any]]) -> None:
    """Close both ends of links a stage made for itself (the runner closes its own)."""
    for link in links:
        link.close_sender()
        link.close_receiver()


async def _pump_and_close(source: Any, link: Link[Any], where: str) -> None:
    try:
        await _pump(source, link, where)
    finally:
        link.close_sender()


@attrs.define(eq=False, kw_only=True)
class _Tee(_Stage):
    sinks: tuple[Sink, ...]
    pred: Callable[[Any], Any] | None
    policy: Policy

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        stats = self._stats
        sinks = self.sinks
        pred = None if self.pred is None else _Calls(self.name, self.pred, self.policy, stats)
        # How many sinks have taken the current item: a retry resumes at the sink that
        # failed, so the sinks before it never get the item twice.
        taken = 0

        async def send(item: Any) -> None:
            nonlocal taken
            for sink in sinks[taken:]:
                await _deliver(sink, item)
                taken += 1

        deliver = _Calls(self.name, send, self.policy, stats)
        try:
            while True:
                try:
                    chunk = await inbox.get()
                except anyio.EndOfStream:
                    return
                stats.items_in += len(chunk)
                for item in chunk:
                    taken = 0
                    if pred is not None:
                        diverted = await pred(item)
                        if diverted is NO_RESULT:
                            continue
                        if diverted:
                            await deliver(item)
                            continue
                    elif await deliver(item) is NO_RESULT:
                        continue
                    stats.items_out += 1
                    await outbox.put(item)
        finally:
            await _close_sinks(sinks)


@attrs.define(eq=False, kw_only=True)
class _Route(_Stage):
    """Fan-out: every item goes to the branches it is keyed to; their outputs are merged.

    Each branch is a pipe run as a stream of its own, fed through a bounded link; a branch
    that is full holds the router back, and so the source (backpressure). ``make(key)``
    builds the branch for a key (``None``: items of that key pass through unchanged).
    Without *key* every item goes to every branch in *fixed*; with it, to the branch of
    ``to_key(key(item))``. With *max_routes*, opening one branch too many closes (and so
    flushes) the least recently used.
    """

    key: Callable[[Any], Any] | None
    to_key: Callable[[Any], Any]
    make: Callable[[Any], BasePipe[Any, Any] | None]
    policy: Policy
    fixed: tuple[Any, ...] = ()
    max_routes: int = 0

    async def run(self, inbox: Link[Any], outbox: Link[Any]) -> None:
        # The links of the branches still running, each with the event its branch sets when
        # it has finished (and removed its entry): memory follows the open groups, not every
        # key ever seen.
        opened: dict[Link[Any], anyio.Event] = {}
        try:
            async with Crew() as crew:
                crew.start_soon(self._route, inbox, outbox, crew, opened, name=self.name)
        finally:
            _close_links(opened)

    async def _route(
        self,
        inbox: Link[Any],
        outbox: Link[Any],
        crew: Crew,
        opened: dict[Link[Any], anyio.Event],
    ) -> None:
        stats = self._stats
        calls = None if self.key is None else _Calls(self.name, self.key, self.policy, stats)
        routes: collections.OrderedDict[Any, Link[Any] | None] = collections.OrderedDict()
        for key in self.fixed:
            routes[key] = self._open(key, inbox.capacity, outbox, crew, opened)
        try:
            while True:
                try:
                    chunk = await inbox.get()
                except anyio.EndOfStream:
                    break
                stats.items_in += len(chunk)
                for item in chunk:
                    if calls is None:
                        keys: Iterable[Any] = self.fixed
                    else:
                        result = await calls(item)
                        if result is NO_RESULT:
                            continue
                        keys = (self.to_key(result),)
                    for key in keys:
                        link = routes.get(key, _MISSING)
                        if link is _MISSING:
                            if len(routes) == self.max_routes:
                                closed = routes.popitem(last=False)[1]
                                await _end_route(closed)
                                # Let the closed group drain before opening another, so
                                # that at most max_routes branches exist at once.
                                finished = None if closed is None else opened.get(closed)
                                if finished is not None:
                                    await finished.wait()
                            link = routes[key] = self._open(
                                key, inbox.capacity, outbox, crew, opened
                            )
                        elif self.max_routes:
                            routes.move_to_end(key)
                        if link is None:
                            await outbox.put(item)
                        elif not link.receiver_closed:
                            # A branch that stopped reading (e.g. a take) wants no more.
                            with contextlib.suppress(anyio.BrokenResourceError):
                                await link.put(item)
            # End of stream: every branch gets what is pending, then its end, and drains.
            for link in routes.values():
                await _end_route(link)
        finally:
            # On errors and cancellation the crew cancels the branches; closing is enough.
            for link in routes.values():
                if link is not None:
                    link.close_sender()

    def _open(
        self,
        key: Any,
        capacity: int,
        outbox: Link[Any],
        crew: Crew,
        opened: dict[Link[Any], anyio.Event],
    ) -> Link[Any] | None:
        pipe = self.make(key)
        if pipe is None:
            return None
        link: Link[Any] = Link(f"{self.name}[{key!r}]", capacity)
        opened[link] = anyio.Event()
        crew.start_soon(self._branch, link, pipe, outbox, opened, name=link.name)
        return link

    async def _branch(
        self,
        link: Link[Any],
        pipe: BasePipe[Any, Any],
        outbox: Link[Any],
        opened: dict[Link[Any], anyio.Event],
    ) -> None:
        policy = self.policy
        # The branch's own buffers are as large as its feed, so that a slow branch holds
        # the router back after a few buffers' worth, not after the default 1000 items each.
        config = StreamConfig(
            backpressure=BackpressureConfig(max_buffer_size=link.capacity), retry_attempts=0
        )
        stream = AsyncStream(InboxItems(link, StageStats(link.name)), config).through(
            pipe,
            on_error=policy.on_error,  # type: ignore[arg-type]
            dead_letter=policy.dead_letter,
            retry=policy.retry,
        )
        try:
            async with stream as results:
                while (chunk := await results.next_chunk()) is not None:
                    await outbox.put_many(chunk)
        except StreamError as failed:
            # Report the branch's failing pipe, not this stage.
            raise StageFailure(failed.stage, failed.item, failed.error or failed) from None
        finally:
            link.close_receiver()
            opened.pop(link).set()


def _same(key: Any) -> Any:
    return key


async def _end_route(link: Link[Any] | None) -> None:
    if link is not None:
        # A branch that had stopped reading wants nothing more.
        with contextlib.suppress(anyio.BrokenResourceError):
            await link.aclose_sender()


# -- transform ------------------------------------------------------------------------------


@overload
def map(
    fn: BasePipe[InT, OutT],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    offload: Offload | None = None,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, OutT]: ...
@overload
def map(
    fn: Callable[[InT], Awaitable[OutT]],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    offload: Offload | None = None,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, OutT]: ...
@overload
def map(
    fn: Callable[[InT], OutT],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    offload: Offload | None = None,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, OutT]: ...
def map(
    fn: BasePipe[InT, Any] | Callable[[InT], Any],
    *,
    concurrency: int = 1,
    ordered: bool = True,
    offload: Offload | None = None,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, Any]:
    """Apply *fn* to every item; optionally to several items at once, or off the event loop.

    With the defaults, ``map`` is a per-item step fused with the pipes around it: no task
    and no buffer of its own. With ``concurrency=N`` it becomes a stage that runs *fn* on
    up to N items at once; with ``offload`` a sync *fn* runs in worker threads or
    processes, so that it does not block the event loop.

    *fn* may also be a pipe or a pipeline of per-item pipes, whose own ``handle_error``,
    ``setup``/``teardown`` and error settings apply as usual: ``map(pipe, concurrency=N)``
    is the same as ``.through(pipe, concurrency=N)``.

    When it blocks: fused, only while *fn* runs or awaits. Concurrent, it stops taking
    input while N items are running (and, with ``ordered=True``, while ``2 * N`` items are
    admitted but not yet delivered: a slow item lets later ones finish, then holds the
    input back), and it waits while the next stage is full.

    At end of stream the items in flight finish and are delivered, then the stage ends.

    On error, *fn*'s exception goes through ``retry``, then the error policy: ``"skip"``
    and ``"dead_letter"`` drop the item and go on; ``"raise"`` fails the stream with a
    ``StreamError`` after every output that precedes the failed item in stream order (in
    completion order with ``ordered=False``).

    On cancellation, running calls are cancelled. A thread cannot be interrupted: it runs
    to completion in the background and its result is discarded. A worker process is
    killed.

    Args:
        fn: A function of one item, sync or async, or a per-item pipe or pipeline.
        concurrency: How many items may be processed at once, ``>= 1``.
        ordered: Deliver outputs in input order (default); ``False`` delivers them as they
            finish.
        offload: ``"thread"`` to run a sync *fn* in worker threads (blocking I/O, code that
            releases the GIL), ``"process"`` for worker processes (CPU-bound work; *fn* and
            the items must be picklable). At most *concurrency* run at once.
        name: Shown in errors and metrics; defaults to ``map(<fn name>)`` (a pipe's name
            for pipes).
        config: The input buffer, when ``map`` is a stage of its own.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of the results.

    Raises:
        ConfigError: ``concurrency`` is not an int >= 1, or ``offload`` is not ``None``,
            ``"thread"`` or ``"process"``.
        TypeError: *fn* is not callable, or (when the stream starts) ``offload`` is given
            for an async function, ``offload="process"`` for a function that cannot be
            pickled, or concurrency for a pipe that sees the whole stream.

    Example::

        async def fetch(url: str) -> bytes: ...

        pages = AsyncStream(urls).through(map(fetch, concurrency=20))
    """
    where = name or f"map({_fn_name(fn)})"
    check_offload(where, offload, concurrency)
    if not callable(fn) and not isinstance(fn, BasePipe):
        raise TypeError(f"{where}: fn must be callable or a pipe, got {type(fn).__name__}")
    if isinstance(fn, BasePipe) and (concurrency > 1 or offload is not None):
        _check_per_item(where, fn)
    return _Map(
        name=where,
        fn=fn,
        concurrency=concurrency,
        ordered=ordered,
        offload=offload,
        config=config,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
    )


def _step_operator(
    kind: StepKind,
    name: str,
    make: Callable[[], tuple[Callable[[Any], Any], bool]],
    *,
    stateless: bool,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> Any:
    return _StepOperator(
        name=name,
        kind=kind,
        make=make,
        stateless=stateless,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
    )


@overload
def flat_map(
    fn: Callable[[InT], AsyncIterator[OutT]],
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, OutT]: ...
@overload
def flat_map(
    fn: Callable[[InT], Awaitable[Iterable[OutT]]],
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, OutT]: ...
@overload
def flat_map(
    fn: Callable[[InT], Iterable[OutT]],
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, OutT]: ...
def flat_map(
    fn: Callable[[InT], Any],
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, Any]:
    """Replace every item by the items *fn* returns for it (none, one or many).

    *fn* returns an iterable (a list, a generator, ...), is an ``async def`` returning
    one, or is an async generator function. A per-item step, fused with the pipes around
    it. An async generator's outputs are collected before they are passed on, so a
    single item should not produce an unbounded number of them.

    When it blocks: only while *fn* runs or awaits. At end of stream there is nothing to
    flush. On error (in *fn* or while iterating its result) the item goes through retries
    and the error policy; none of its outputs is delivered. On cancellation the current
    call is cancelled.

    Args:
        fn: A function from one item to an iterable of outputs.
        name: Shown in errors and metrics; defaults to ``flat_map(<fn name>)``.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of the outputs, flattened.

    Example::

        words = AsyncStream(lines).through(flat_map(str.split))
    """
    if inspect.isasyncgenfunction(fn):

        async def collect(item: Any) -> list[Any]:
            return [x async for x in fn(item)]

        made: tuple[Callable[[Any], Any], bool] = (collect, True)
    elif _is_async(fn):

        async def listed(item: Any) -> list[Any]:
            return list(await fn(item))

        made = (listed, True)
    else:
        made = (lambda item: list(fn(item)), False)
    return _step_operator(  # type: ignore[no-any-return]
        "flat_map",
        name or f"flat_map({_fn_name(fn)})",
        lambda: made,
        stateless=True,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
    )


def scan(
    fn: Callable[[AccT, InT], AccT] | Callable[[AccT, InT], Awaitable[AccT]],
    initial: AccT,
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, AccT]:
    """Emit the running accumulation: ``acc = fn(acc, item)`` for every item, then ``acc``.

    A per-item step fused with the pipes around it; the accumulator starts again at
    *initial* on every run of the stream.

    When it blocks: only while *fn* runs or awaits. At end of stream nothing is left to
    flush (every accumulation was already emitted). On error the item goes through retries
    and the error policy; a skipped or dead-lettered item leaves the accumulator unchanged
    and emits nothing. On cancellation the current call is cancelled.

    Args:
        fn: ``fn(acc, item) -> acc``, sync or async.
        initial: The accumulator before the first item.
        name: Shown in errors and metrics; defaults to ``scan(<fn name>)``.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of accumulator values, one per item.

    Example::

        totals = AsyncStream([1, 2, 3]).through(scan(operator.add, 0))   # 1, 3, 6
    """
    is_async = _is_async(fn)

    def make() -> tuple[Callable[[Any], Any], bool]:
        acc: Any = initial
        if is_async:

            async def step_async(item: Any) -> Any:
                nonlocal acc
                acc = await fn(acc, item)  # type: ignore[misc]
                return acc

            return step_async, True

        def step(item: Any) -> Any:
            nonlocal acc
            acc = fn(acc, item)
            return acc

        return step, False

    return _step_operator(  # type: ignore[no-any-return]
        "map",
        name or f"scan({_fn_name(fn)})",
        make,
        stateless=False,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
    )


def key_by(
    key: Callable[[InT], K] | Callable[[InT], Awaitable[K]],
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, tuple[K, InT]]:
    """Pair every item with its key: emit ``(key(item), item)``.

    Keyed stages downstream read the key from the pair, e.g. ``scan`` per key, or a window
    with ``key=operator.itemgetter(0)``. A per-item step fused with the pipes around it.

    When it blocks: only while *key* runs or awaits. At end of stream there is nothing to
    flush. On error the item goes through retries and the error policy. On cancellation
    the current call is cancelled.

    Args:
        key: A function of one item, sync or async.
        name: Shown in errors and metrics; defaults to ``key_by(<key name>)``.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of ``(key, item)`` pairs.

    Example::

        pairs = AsyncStream(orders).through(key_by(lambda order: order["customer"]))
    """
    fn = _then(key, _is_async(key), lambda item, k: (k, item))
    return _step_operator(  # type: ignore[no-any-return]
        "map",
        name or f"key_by({_fn_name(key)})",
        lambda: (fn, _is_async(key)),
        stateless=True,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
    )


# -- filter ---------------------------------------------------------------------------------


@overload
def filter(
    pred: Callable[[InT], TypeGuard[OutT]],
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, OutT]: ...
@overload
def filter(
    pred: Callable[[InT], Awaitable[object]] | Callable[[InT], object],
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, InT]: ...
def filter(
    pred: Callable[[InT], Any],
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, Any]:
    """Keep the items for which *pred* is true; drop the others.

    A per-item step fused with the pipes around it. A predicate declared as a
    ``TypeGuard`` narrows the item type: ``filter(is_str)`` over ``int | str`` items is a
    ``StreamPipe[int | str, str]``.

    When it blocks: only while *pred* runs or awaits. At end of stream there is nothing to
    flush. On error the item goes through retries and the error policy (``"skip"`` drops
    it, as a false predicate would, but counts it). On cancellation the current call is
    cancelled.

    Args:
        pred: A function of one item, sync or async; its result is tested for truth.
        name: Shown in errors and metrics; defaults to ``filter(<pred name>)``.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of the items that passed.

    Example::

        evens = AsyncStream(range(10)).through(filter(lambda x: x % 2 == 0))
    """
    is_async = _is_async(pred)
    return _step_operator(  # type: ignore[no-any-return]
        "filter",
        name or f"filter({_fn_name(pred)})",
        lambda: (pred, is_async),
        stateless=True,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
    )


def skip(n: int, *, name: str | None = None) -> StreamPipe[InT, InT]:
    """Drop the first *n* items, pass the rest.

    A per-item step fused with the pipes around it; the count starts again on every run.
    It never blocks, has nothing to flush at end of stream, and cannot fail.

    Args:
        n: How many items to drop, ``>= 0``.
        name: Shown in errors and metrics; defaults to ``skip(<n>)``.

    Returns:
        A stream pipe of the items after the first *n*.

    Raises:
        ConfigError: *n* is not an int >= 0.

    Example::

        body = AsyncStream(csv_lines).through(skip(1))   # drop the header
    """
    where = name or f"skip({n!r})"
    _count(where, "n", n, minimum=0)

    def make() -> tuple[Callable[[Any], Any], bool]:
        seen = 0

        def keep(_item: Any) -> bool:
            nonlocal seen
            seen += 1
            return seen > n

        return keep, False

    return _step_operator("filter", where, make, stateless=False)  # type: ignore[no-any-return]


def skip_while(
    pred: Callable[[InT], Any],
    *,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, InT]:
    """Drop items while *pred* is true; from the first item for which it is false, pass all.

    A per-item step fused with the pipes around it. *pred* is not called again once it has
    been false.

    When it blocks: only while *pred* runs or awaits. At end of stream there is nothing to
    flush. On error the item goes through retries and the error policy (a skipped item
    does not end the dropping). On cancellation the current call is cancelled.

    Args:
        pred: A function of one item, sync or async.
        name: Shown in errors and metrics; defaults to ``skip_while(<pred name>)``.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of the items from the first one that fails *pred*.

    Example::

        after_warmup = AsyncStream(readings).through(skip_while(lambda r: r.warming_up))
    """
    is_async = _is_async(pred)

    def make() -> tuple[Callable[[Any], Any], bool]:
        dropping = True

        def decide(_item: Any, drop: Any) -> bool:
            nonlocal dropping
            dropping = bool(drop)
            return not dropping

        checked = _then(pred, is_async, decide)
        if is_async:

            async def keep_async(item: Any) -> Any:
                return True if not dropping else await checked(item)

            return keep_async, True
        return (lambda item: True if not dropping else checked(item)), False

    return _step_operator(  # type: ignore[no-any-return]
        "filter",
        name or f"skip_while({_fn_name(pred)})",
        make,
        stateless=False,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
    )


def distinct(
    key: Callable[[InT], Hashable] | Callable[[InT], Awaitable[Hashable]] | None = None,
    *,
    max_keys: int = DISTINCT_MAX_KEYS,
    name: str | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, InT]:
    """Pass only the first item of each key (the item itself when *key* is ``None``).

    Memory is bounded: at most *max_keys* keys are remembered. When a new key would exceed
    that, the least recently seen key is forgotten (seeing a key again, even in a dropped
    duplicate, makes it recent), and an item with a forgotten key passes again. Choose
    *max_keys* above the number of keys a duplicate can arrive after. A per-item step fused
    with the pipes around it; the memory starts empty on every run.

    When it blocks: only while *key* runs or awaits. At end of stream there is nothing to
    flush. On error the item goes through retries and the error policy. On cancellation the
    current call is cancelled.

    Args:
        key: A function of one item, sync or async, returning a hashable key.
        max_keys: How many keys to remember, ``>= 1``.
        name: Shown in errors and metrics; defaults to ``distinct`` or ``distinct(<key>)``.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of the first item of each key.

    Raises:
        ConfigError: *max_keys* is not an int >= 1.

    Example::

        first_visits = AsyncStream(events).through(distinct(lambda e: e.user_id))
    """
    where = name or ("distinct" if key is None else f"distinct({_fn_name(key)})")
    _count(where, "max_keys", max_keys, minimum=1)
    is_async = key is not None and _is_async(key)

    def make() -> tuple[Callable[[Any], Any], bool]:
        seen: collections.OrderedDict[Hashable, None] = collections.OrderedDict()

        def first(_item: Any, k: Hashable) -> bool:
            if k in seen:
                seen.move_to_end(k)
                return False
            seen[k] = None
            if len(seen) > max_keys:
                seen.popitem(last=False)
            return True

        if key is None:
            return (lambda item: first(item, item)), False
        return _then(key, is_async, first), is_async

    return _step_operator(  # type: ignore[no-any-return]
        "filter",
        where,
        make,
        stateless=False,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
    )


def take(n: int, *, name: str | None = None) -> StreamPipe[InT, InT]:
    """Pass the first *n* items, then end the stream.

    A stage of its own. Once *n* items have passed it stops reading: the stages upstream
    stop at their next send and are torn down, and the stream ends after the *n* items
    have been delivered. Anything upstream still holds is discarded.

    When it blocks: while its input is empty or the next stage is full. At end of stream
    (fewer than *n* items) it passes what there was. It cannot fail. On cancellation it
    stops.

    Args:
        n: How many items to pass, ``>= 0``.
        name: Shown in errors and metrics; defaults to ``take(<n>)``.

    Returns:
        A stream pipe of at most *n* items.

    Raises:
        ConfigError: *n* is not an int >= 0.

    Example::

        first_ten = AsyncStream(endless_feed()).through(take(10))
    """
    where = name or f"take({n!r})"
    _count(where, "n", n, minimum=0)
    return _StageOperator(
        name=where,
        make=lambda op, _policy: _Take(name=op.name, backpressure=op.config, count=n),
    )


def take_while(
    pred: Callable[[InT], Any],
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, InT]:
    """Pass items while *pred* is true; at the first item for which it is false, end.

    A stage of its own. The first failing item is not passed; from there on it stops
    reading, so the stages upstream stop at their next send, and the stream ends.

    When it blocks: while its input is empty, *pred* awaits, or the next stage is full. At
    end of stream it ends too. On error the item goes through retries and the error policy
    (a skipped item neither passes nor ends the stream). On cancellation the current call
    is cancelled.

    Args:
        pred: A function of one item, sync or async.
        name: Shown in errors and metrics; defaults to ``take_while(<pred name>)``.
        config: The input buffer.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of the items before the first one that fails *pred*.

    Example::

        until_eof = AsyncStream(frames).through(take_while(lambda f: f.kind != "eof"))
    """
    return _StageOperator(
        name=name or f"take_while({_fn_name(pred)})",
        config=config,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
        make=lambda op, policy: _TakeWhile(
            name=op.name, backpressure=op.config, pred=pred, policy=policy
        ),
    )


# -- aggregate ------------------------------------------------------------------------------


def reduce(
    fn: Callable[[AccT, InT], AccT] | Callable[[AccT, InT], Awaitable[AccT]],
    initial: AccT,
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, AccT]:
    """Fold the whole stream into one value, emitted when the stream ends.

    ``acc = fn(acc, item)`` for every item, starting from *initial*; at end of stream
    ``acc`` is the one output (*initial* for an empty stream). A stage of its own.

    When it blocks: while its input is empty or *fn* awaits, and once at the end while the
    next stage is full. On error the item goes through retries and the error policy; a
    skipped or dead-lettered item leaves ``acc`` unchanged. When a stage upstream fails,
    the stream's end reaches this stage too, so the fold of the items before the failure is
    delivered before the ``StreamError``. On cancellation nothing is emitted.

    Args:
        fn: ``fn(acc, item) -> acc``, sync or async.
        initial: The accumulator before the first item.
        name: Shown in errors and metrics; defaults to ``reduce(<fn name>)``.
        config: The input buffer.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe with one output.

    Example::

        total = [t async for t in AsyncStream(amounts).through(reduce(operator.add, 0))]
    """
    return _StageOperator(
        name=name or f"reduce({_fn_name(fn)})",
        config=config,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
        make=lambda op, policy: _Reduce(
            name=op.name, backpressure=op.config, fn=fn, initial=initial, policy=policy
        ),
    )


# -- combine --------------------------------------------------------------------------------


def merge(
    *sources: Source, name: str | None = None, config: BackpressureConfig | None = None
) -> StreamPipe[Any, Any]:
    """Merge other sources into the stream: emit items from all of them as they arrive.

    ``AsyncStream(a).through(merge(b, c))`` yields every item of ``a``, ``b`` and ``c``
    (an empty first source is fine: ``AsyncStream([]).through(merge(b, c))``). A source is
    anything ``AsyncStream`` accepts, or an ``AsyncStream`` with pipes of its own, which
    runs inside this stage. Every input keeps its own order; between inputs the order is
    the order of arrival. A stage of its own with one task per input.

    When it blocks: each input waits while the next stage is full, so a slow consumer slows
    every source down. At end of stream (the stream and every source ended) the stage ends.
    If a source raises, the stream fails with a ``StreamError`` naming this stage, with the
    source's exception as cause. On cancellation every input is cancelled.

    A source is iterated once per run of the stream: give fresh iterators to each run.

    Args:
        sources: The other inputs.
        name: Shown in errors and metrics; defaults to ``merge``.
        config: The input buffer of the stream's own items.

    Returns:
        A stream pipe of the items of all inputs.

    Example::

        events = AsyncStream(clicks()).through(merge(purchases(), refunds()))
    """
    return _StageOperator(
        name=name or "merge",
        config=config,
        make=lambda op, _policy: _Merge(name=op.name, backpressure=op.config, sources=sources),
    )


@overload
def zip(
    other: AsyncIterable[T1] | Iterable[T1],
    /,
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
) -> StreamPipe[InT, tuple[InT, T1]]: ...
@overload
def zip(
    other: AsyncIterable[T1] | Iterable[T1],
    other2: AsyncIterable[T2] | Iterable[T2],
    /,
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
) -> StreamPipe[InT, tuple[InT, T1, T2]]: ...
@overload
def zip(
    other: AsyncIterable[T1] | Iterable[T1],
    other2: AsyncIterable[T2] | Iterable[T2],
    other3: AsyncIterable[T3] | Iterable[T3],
    /,
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
) -> StreamPipe[InT, tuple[InT, T1, T2, T3]]: ...
@overload
def zip(
    *others: Source, name: str | None = None, config: BackpressureConfig | None = None
) -> StreamPipe[InT, tuple[Any, ...]]: ...
def zip(
    *others: Source, name: str | None = None, config: BackpressureConfig | None = None
) -> StreamPipe[InT, tuple[Any, ...]]:
    """Pair each item with the item at the same position in every other source.

    Emits ``(item, other_item, ...)`` tuples, like the builtin ``zip``; the stream ends
    with the shortest input. If the stream ends first, the other sources are stopped; if
    another source ends first, this stage stops reading, so the stages upstream stop at
    their next send. A stage of its own; each other source is read ahead into a buffer as
    large as this stage's input buffer.

    When it blocks: while the stream's next item or another source's next item is not
    there, or the next stage is full. If a source raises, the stream fails with a
    ``StreamError`` naming this stage. On cancellation every input is cancelled.

    Args:
        others: The other inputs (anything ``merge`` accepts).
        name: Shown in errors and metrics; defaults to ``zip``.
        config: The input buffer (and read-ahead of each other source).

    Returns:
        A stream pipe of tuples.

    Example::

        numbered = AsyncStream(lines).through(zip(itertools.count(1)))
    """
    if not others:
        raise TypeError("zip: needs at least one other source to pair the stream's items with")
    return _StageOperator(
        name=name or "zip",
        config=config,
        make=lambda op, _policy: _Zip(name=op.name, backpressure=op.config, others=others),
    )


def zip_latest(
    *others: Source,
    partial: bool = False,
    default: Any = None,
    name: str | None = None,
    config: BackpressureConfig | None = None,
) -> StreamPipe[Any, tuple[Any, ...]]:
    """Emit the latest item of every input each time any of them produces one.

    Emits ``(latest_of_stream, latest_of_other, ...)`` whenever the stream or another
    source produces an item. Until every input has produced one, nothing is emitted; with
    ``partial=True`` tuples are emitted from the first item on, with *default* for inputs
    that have produced nothing yet. A stage of its own.

    When it blocks: while no input has a new item, or the next stage is full (which holds
    every input back). At end of stream (every input ended) the stage ends. If a source
    raises, the stream fails with a ``StreamError`` naming this stage. On cancellation
    every input is cancelled.

    Args:
        others: The other inputs (anything ``merge`` accepts).
        partial: Emit before every input has produced an item.
        default: The value of inputs without an item yet, with ``partial=True``.
        name: Shown in errors and metrics; defaults to ``zip_latest``.
        config: The input buffer.

    Returns:
        A stream pipe of tuples.

    Example::

        priced = AsyncStream(orders()).through(zip_latest(exchange_rates()))
    """
    if not others:
        raise TypeError("zip_latest: needs at least one other source to combine with")
    return _StageOperator(
        name=name or "zip_latest",
        config=config,
        make=lambda op, _policy: _ZipLatest(
            name=op.name, backpressure=op.config, others=others, partial=partial, default=default
        ),
    )


# -- fan-out --------------------------------------------------------------------------------


def broadcast(
    *branches: BasePipe[InT, OutT],
    name: str | None = None,
    config: BackpressureConfig | None = None,
) -> StreamPipe[InT, OutT]:
    """Send every item through every branch; emit the outputs of all branches.

    Each branch is a pipe (or pipeline, with stream stages if you like) that runs as a
    stream of its own inside this stage, fed through a buffer as large as this stage's
    input buffer. Items are shared between branches, not copied. Outputs of one branch
    keep their order; between branches the order is the order of arrival.

    When it blocks: an item is handed to the branches in turn, and a branch whose buffer is
    full makes it wait, so the slowest branch sets the pace of the whole stream
    (backpressure reaches the source; nothing is dropped). A branch that stops reading (a
    ``take``) gets no more items while the others go on. At end of stream every branch
    drains and flushes, then the stage ends. If a branch fails under ``on_error="raise"``,
    the stream fails with the ``StreamError`` of the branch's failing pipe (its name and
    item). On cancellation every branch is cancelled and torn down.

    Args:
        branches: The pipes every item goes through.
        name: Shown in errors and metrics; defaults to ``broadcast``.
        config: The input buffer (and each branch's).

    Returns:
        A stream pipe of the branches' outputs.

    Example::

        results = AsyncStream(events).through(broadcast(store_in_db, update_metrics))
    """
    if not branches:
        raise TypeError("broadcast: needs at least one branch pipe")
    keys = tuple(range(len(branches)))
    return _StageOperator(
        name=name or "broadcast",
        config=config,
        make=lambda op, policy: _Route(
            name=op.name,
            backpressure=op.config,
            key=None,
            to_key=int,
            make=lambda key: branches[key],
            policy=policy,
            fixed=keys,
        ),
    )


def tee(
    *sinks: Sink,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, InT]:
    """Copy every item to each sink, and pass it on.

    A sink is a list (appended to), a callable (sync or async; called with the item), or
    an anyio send stream, whose receive side another stream may read
    (``AsyncStream(receive_stream)``). Send streams are closed when this stream ends, on
    every path, so their readers see the end. A stage of its own.

    When it blocks: an item is passed on only after every sink has taken it, so a full
    send stream or a slow callable holds the whole stream back (backpressure reaches the
    source; nothing is dropped). At end of stream the send streams are closed. On error (a
    sink raised) the item goes through retries, which resume at the sink that failed (the
    sinks before it are not given the item twice), and the error policy; a skipped item is
    not passed on. On cancellation the send streams are closed.

    Args:
        sinks: Where copies go.
        name: Shown in errors and metrics; defaults to ``tee``.
        config: The input buffer.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed deliveries before the error policy applies.

    Returns:
        A stream pipe of the same items.

    Example::

        audit: list[Event] = []
        async for event in AsyncStream(events).through(tee(audit) >> enrich):
            ...
    """
    return _StageOperator(
        name=name or "tee",
        config=config,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
        make=lambda op, policy: _Tee(
            name=op.name, backpressure=op.config, sinks=sinks, pred=None, policy=policy
        ),
    )


def branch(
    pred: Callable[[InT], Any],
    sink: Sink,
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, InT]:
    """Divert the items for which *pred* is true to *sink*; pass the others on.

    Splits one stream into two: ``branch(is_error, errors_send)`` sends matching items to
    an anyio send stream that another ``AsyncStream`` reads, and the rest continue. *sink*
    is as for :func:`tee`; a send stream is closed when this stream ends.

    When it blocks: while *pred* awaits, the sink is full or slow, or the next stage is
    full; either side holds the whole stream back. At end of stream the send stream is
    closed. On error (in *pred* or the sink) the item goes through retries and the error
    policy. On cancellation the send stream is closed.

    Args:
        pred: A function of one item, sync or async.
        sink: Where matching items go.
        name: Shown in errors and metrics; defaults to ``branch(<pred name>)``.
        config: The input buffer.
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of the items that were not diverted.

    Example::

        send, receive = anyio.create_memory_object_stream[Event](100)
        valid = AsyncStream(events).through(branch(is_invalid, send))
    """
    return _StageOperator(
        name=name or f"branch({_fn_name(pred)})",
        config=config,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
        make=lambda op, policy: _Tee(
            name=op.name, backpressure=op.config, sinks=(sink,), pred=pred, policy=policy
        ),
    )


@overload
def partition(
    pred: Callable[[InT], Any],
    if_true: BasePipe[InT, OutT],
    if_false: BasePipe[InT, OutT],
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, OutT]: ...
@overload
def partition(
    pred: Callable[[InT], Any],
    if_true: BasePipe[InT, OutT],
    if_false: None = None,
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, InT | OutT]: ...
def partition(
    pred: Callable[[InT], Any],
    if_true: BasePipe[InT, OutT],
    if_false: BasePipe[InT, OutT] | None = None,
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, Any]:
    """Send each item through *if_true* or *if_false* by *pred*; emit the outputs of both.

    Each branch runs as a stream of its own inside this stage (as in :func:`broadcast`).
    Without *if_false*, items for which *pred* is false pass on unchanged.

    When it blocks: while *pred* awaits, or the branch an item goes to is full, which
    holds the whole stream back. At end of stream both branches drain and flush. On error
    in *pred* the item goes through retries and the error policy; a failing branch fails
    the stream with the ``StreamError`` of its failing pipe. On cancellation both branches
    are cancelled and torn down.

    Args:
        pred: A function of one item, sync or async.
        if_true: The pipe for items for which *pred* is true.
        if_false: The pipe for the others; ``None`` passes them unchanged.
        name: Shown in errors and metrics; defaults to ``partition(<pred name>)``.
        config: The input buffer (and each branch's).
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of both branches' outputs.

    Example::

        out = AsyncStream(images).through(partition(is_large, resize, if_false=thumbnail))
    """
    routes = {True: if_true, False: if_false}
    return _StageOperator(
        name=name or f"partition({_fn_name(pred)})",
        config=config,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
        make=lambda op, policy: _Route(
            name=op.name,
            backpressure=op.config,
            key=pred,
            to_key=bool,
            make=routes.__getitem__,
            policy=policy,
            fixed=(True, False),
        ),
    )


def group_by(
    key: Callable[[InT], K] | Callable[[InT], Awaitable[K]],
    make: Callable[[K], BasePipe[InT, OutT]],
    *,
    max_groups: int = GROUP_BY_MAX_GROUPS,
    name: str | None = None,
    config: BackpressureConfig | None = None,
    on_error: ErrorPolicy | None = None,
    dead_letter: DeadLetterSink | None = None,
    retry: RetryConfig | None = None,
) -> StreamPipe[InT, OutT]:
    """Run a separate pipe per key: the items of each key go through ``make(key)``.

    The first item of a key opens its group: ``make(key)`` builds a pipe (for instance a
    window, a batch or a ``scan``), which runs as a stream of its own inside this stage and
    sees only that key's items, in order. The outputs of all groups are emitted as they
    come.

    Memory is bounded: at most *max_groups* groups are open. Opening one more closes the
    least recently used group: its stream ends, so it flushes (an open window or batch is
    emitted), the new group opens once the closed one has delivered its last output, and a
    later item of that key opens a new group with a new pipe.

    When it blocks: while *key* awaits, the group an item goes to is full, or a closed
    group is still delivering its outputs; each holds the whole stream back. At end of
    stream every group drains and flushes. On error in *key* the item goes through retries
    and the error policy; a failing group fails the stream with the ``StreamError`` of its
    failing pipe. On cancellation every group is cancelled and torn down.

    Args:
        key: A function of one item, sync or async, returning a hashable key.
        make: Builds a fresh pipe for a key.
        max_groups: How many groups may be open at once, ``>= 1``.
        name: Shown in errors and metrics; defaults to ``group_by(<key name>)``.
        config: The input buffer (and each group's).
        on_error: ``"raise"``, ``"skip"`` or ``"dead_letter"``; ``None`` inherits.
        dead_letter: The sink for ``"dead_letter"``.
        retry: Retry failed items before the error policy applies.

    Returns:
        A stream pipe of every group's outputs.

    Raises:
        ConfigError: *max_groups* is not an int >= 1.

    Example::

        per_user = AsyncStream(clicks).through(
            group_by(lambda c: c.user, lambda user: scan(count_clicks, 0))
        )
    """
    where = name or f"group_by({_fn_name(key)})"
    _count(where, "max_groups", max_groups, minimum=1)
    return _StageOperator(
        name=where,
        config=config,
        on_error=on_error,
        dead_letter=dead_letter,
        retry=retry,
        make=lambda op, policy: _Route(
            name=op.name,
            backpressure=op.config,
            key=key,
            to_key=_same,
            make=make,
            policy=policy,
            max_routes=max_groups,
        ),
    )


# -- time -----------------------------------------------------------------------------------


def _pace(
    op: str,
    rate: float,
    per: float | timedelta,
    burst: int | None,
    name: str | None,
    config: BackpressureConfig | None,
    *,
    drop: bool,
) -> StreamPipe[Any, Any]:
    where = name or f"{op}({rate!r})"
    given: object = rate
    if isinstance(given, bool) or not isinstance(given, (int, float)) or not given > 0:
        raise ConfigError(f"{where}: rate must be a number > 0 (got {rate!r})")
    try:
        finite = math.isfinite(rate)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite:
        raise ConfigError(f"{where}: rate must be a finite number > 0 (got {rate!r})")
    seconds = _seconds(where, "per", per, positive=True)
    if burst is None:
        burst = max(1, int(rate))
    _count(where, "burst", burst, minimum=1)
    interval = seconds / rate
    if not math.isfinite(interval):
        raise ConfigError(f"{where}: rate must be a finite number > 0 (got {rate!r})")
    return _StageOperator(
        name=where,
        config=config,
        make=lambda op_, _policy: _Pace(
            name=op_.name,
            backpressure=op_.config,
            interval=interval,
            burst=burst,
            drop=drop,
        ),
    )


def throttle(
    rate: float,
    per: float | timedelta = 1.0,
    *,
    burst: int | None = None,
    name: str | None = None,
    config: BackpressureConfig | None = None,
) -> StreamPipe[InT, InT]:
    """Delay items so that at most *rate* pass per *per* seconds; never drop any.

    Items are spaced ``per / rate`` seconds apart on average; up to *burst* may pass at
    once after a quiet spell (default: *rate*, rounded down, at least 1). ``burst=1``
    spaces every item evenly. A stage of its own, on the event loop's clock.

    When it blocks: while an item waits for its turn, which fills the input buffer and
    then holds the source back; and while the next stage is full. At end of stream the
    items already received still pass at the paced rate. It cannot fail. On cancellation
    waiting items are dropped with the run.

    Args:
        rate: Items per *per*, ``> 0``.
        per: Seconds (or a ``timedelta``), ``> 0``.
        burst: How many items may pass at once, ``>= 1``.
        name: Shown in errors and metrics; defaults to ``throttle(<rate>)``.
        config: The input buffer.

    Returns:
        A stream pipe of the same items, paced.

    Raises:
        ConfigError: A value is out of range.

    Example::

        paced = AsyncStream(requests).through(throttle(10, per=1.0))   # 10 per second
    """
    return _pace("throttle", rate, per, burst, name, config, drop=False)


def rate_limit(
    rate: float,
    per: float | timedelta = 1.0,
    *,
    burst: int | None = None,
    name: str | None = None,
    config: BackpressureConfig | None = None,
) -> StreamPipe[InT, InT]:
    """Pass at most *rate* items per *per* seconds; drop the excess and count it.

    The same budget as :func:`throttle` (``per / rate`` seconds per item on average, up to
    *burst* at once), but an item that arrives over budget is dropped at once instead of
    waiting, and counted in the stage's ``dropped`` metric. A stage of its own, on the event
    loop's clock.

    When it blocks: only while the next stage is full (a dropped item costs no wait). At
    end of stream it ends. It cannot fail. On cancellation it stops.

    Args:
        rate: Items per *per*, ``> 0``.
        per: Seconds (or a ``timedelta``), ``> 0``.
        burst: How many items may pass at once, ``>= 1``.
        name: Shown in errors and metrics; defaults to ``rate_limit(<rate>)``.
        config: The input buffer.

    Returns:
        A stream pipe of the items within budget.

    Raises:
        ConfigError: A value is out of range.

    Example::

        sampled = AsyncStream(ticks).through(rate_limit(1, per=0.5))
    """
    return _pace("rate_limit", rate, per, burst, name, config, drop=True)


def debounce(
    interval: float | timedelta,
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
) -> StreamPipe[InT, InT]:
    """Emit an item only once *interval* seconds have passed without a newer one.

    Each item replaces the one waiting; the waiting item is emitted when the input has
    been quiet for *interval* (on a timer: an idle source does not hold it back). Replaced
    items are counted in the stage's ``dropped`` metric. A stage of its own.

    When it blocks: while the next stage is full. At end of stream the waiting item is
    emitted at once. It cannot fail. On cancellation the waiting item is dropped.

    Args:
        interval: Seconds (or a ``timedelta``) of quiet, ``> 0``.
        name: Shown in errors and metrics; defaults to ``debounce(<interval>)``.
        config: The input buffer.

    Returns:
        A stream pipe of the items that were followed by a quiet spell.

    Raises:
        ConfigError: *interval* is not a positive duration.

    Example::

        settled = AsyncStream(keystrokes()).through(debounce(0.3))
    """
    where = name or f"debounce({interval!r})"
    quiet = _seconds(where, "interval", interval, positive=True)
    return _StageOperator(
        name=where,
        config=config,
        make=lambda op, _policy: _Debounce(name=op.name, backpressure=op.config, quiet=quiet),
    )


def buffer(
    n: int, *, overflow: OverflowPolicy = "block", name: str | None = None
) -> StreamPipe[InT, InT]:
    """Put a buffer of *n* items between the stages before and after it.

    Lets a bursty producer run ahead of a slower consumer by up to *n* items. With
    ``overflow="drop_oldest"`` or ``"drop_newest"`` a full buffer drops items (counted in
    the ``dropped`` metric) instead of holding the producer back; ``"error"`` fails the
    stream. A stage of its own that passes items unchanged.

    When it blocks: the stage before it waits while the buffer is full (with
    ``"block"``). At end of stream the buffered items are delivered. On cancellation they
    are dropped with the run.

    Args:
        n: Capacity in items, ``>= 0``.
        overflow: ``"block"``, ``"drop_oldest"``, ``"drop_newest"`` or ``"error"``.
        name: Shown in errors and metrics; defaults to ``buffer(<n>)``.

    Returns:
        A stream pipe of the same items.

    Raises:
        ConfigError: *n* or *overflow* is invalid.

    Example::

        smooth = AsyncStream(bursts()).through(buffer(10_000) >> slow_writer)
    """
    where = name or f"buffer({n!r})"
    _count(where, "n", n, minimum=0)
    try:
        config = BackpressureConfig(max_buffer_size=n, overflow=overflow)
    except ConfigError as error:
        raise ConfigError([f"{where}: {problem}" for problem in error.problems]) from None
    return _StageOperator(
        name=where,
        config=config,
        make=lambda op, _policy: _Buffer(name=op.name, backpressure=op.config),
    )


def delay(
    seconds: float | timedelta,
    *,
    name: str | None = None,
    config: BackpressureConfig | None = None,
) -> StreamPipe[InT, InT]:
    """Shift every item *seconds* later in time, keeping the spacing between items.

    An item received at ``t`` is emitted at ``t + seconds``. The stage holds at most as
    many items as its input buffer (``config.max_buffer_size``): when that many are
    waiting it stops reading until the oldest is due, so memory stays bounded. A stage of
    its own.

    When it blocks: while items wait for their time, and while the next stage is full. At
    end of stream the waiting items are still emitted at their times, then the stream
    ends. It cannot fail. On cancellation the waiting items are dropped.

    Args:
        seconds: Seconds (or a ``timedelta``), ``>= 0``.
        name: Shown in errors and metrics; defaults to ``delay(<seconds>)``.
        config: The input buffer.

    Returns:
        A stream pipe of the same items, later.

    Raises:
        ConfigError: *seconds* is not a duration >= 0.

    Example::

        replay = AsyncStream(recorded).through(delay(timedelta(minutes=5)))
    """
    where = name or f"delay({seconds!r})"
    shift = _seconds(where, "seconds", seconds, positive=False)
    return _StageOperator(
        name=where,
        config=config,
        make=lambda op, _policy: _Delay(name=op.name, backpressure=op.config, seconds=shift),
    )
