"""Core runtime benchmarks: rivusio against hand-written baselines, in one process.

Three workloads, each over ``n`` integers:

``sync3``
    Three chained sync maps (``x + 1``, ``x * 3``, ``x - 2``), the result summed by the
    consumer.
``async3``
    The same three maps written as ``async def``.
``slow``
    The three sync maps with a consumer that spends about ten times longer on each item
    than the maps do, so that every buffer fills up. Besides the speed, the row records the
    most items that had left the source but had not reached the consumer yet; for rivusio
    that number must stay within the configured buffers (see :func:`in_flight_bound`).

Each workload runs through rivusio and through baselines doing the same work: a plain
Python loop, a chain of plain async generators (the floor for anything consumed with
``async for``), and hand-written chains of raw anyio memory object streams with one task
per stage, sending one item per message or 64 items per message. Every variant runs
``repeats`` times, interleaved with the others; the reported time is the median. Ratios
compare rows of the same run only: on a shared machine the absolute numbers move from one
run to the next far more than the ratios do.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from rivusio import (
    AsyncBasePipe,
    AsyncStream,
    BackpressureConfig,
    BasePipe,
    StreamConfig,
    SyncBasePipe,
    SyncStream,
)
from rivusio.runtime._links import chunk_size_for
from rivusio.streams import StreamPipe

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

DEFAULT_N = 200_000
"""Items per run of a full benchmark."""

QUICK_N = 5_000
"""Items per run of a smoke run (``--quick``)."""

WARM_UP = 2_000
"""Items of the untimed run of each variant before the timed ones."""

BACKENDS = ("asyncio", "trio")

CAPACITY = 1000
"""Items each channel holds: rivusio's default ``max_buffer_size``, used by every variant."""

PER_MESSAGE = 64
"""Items per message in the batched channel chain."""

ONE_PER_MESSAGE_SHARE = 10
"""The one-item-per-message chain runs ``n // 10`` items: it is two orders slower."""

CONSUMER_WORK = 120
"""Length of the ``range`` the slow consumer sums for each item."""


# -- the work: three maps, as pipes and as the functions the baselines call --------------


class AddOne(SyncBasePipe[int, int]):
    """x + 1."""

    def process(self, data: int) -> int:
        return data + 1


class Triple(SyncBasePipe[int, int]):
    """x * 3."""

    def process(self, data: int) -> int:
        return data * 3


class SubtractTwo(SyncBasePipe[int, int]):
    """x - 2."""

    def process(self, data: int) -> int:
        return data - 2


class AsyncAddOne(AsyncBasePipe[int, int]):
    """x + 1, async."""

    async def process(self, data: int) -> int:
        return data + 1


class AsyncTriple(AsyncBasePipe[int, int]):
    """x * 3, async."""

    async def process(self, data: int) -> int:
        return data * 3


class AsyncSubtractTwo(AsyncBasePipe[int, int]):
    """x - 2, async."""

    async def process(self, data: int) -> int:
        return data - 2


class AddOneStage(StreamPipe[int, int]):
    """x + 1 in a stage (task and input buffer) of its own."""

    async def process_item(self, item: int) -> int:
        return item + 1


class TripleStage(StreamPipe[int, int]):
    """x * 3 in a stage of its own."""

    async def process_item(self, item: int) -> int:
        return item * 3


class SubtractTwoStage(StreamPipe[int, int]):
    """x - 2 in a stage of its own."""

    async def process_item(self, item: int) -> int:
        return item - 2


SyncFn = Callable[[int], int]
AsyncFn = Callable[[int], Awaitable[int]]

SYNC_PIPES = (AddOne(), Triple(), SubtractTwo())
ASYNC_PIPES = (AsyncAddOne(), AsyncTriple(), AsyncSubtractTwo())
SYNC_FNS: tuple[SyncFn, SyncFn, SyncFn] = (
    SYNC_PIPES[0].process,
    SYNC_PIPES[1].process,
    SYNC_PIPES[2].process,
)
ASYNC_FNS: tuple[AsyncFn, AsyncFn, AsyncFn] = (
    ASYNC_PIPES[0].process,
    ASYNC_PIPES[1].process,
    ASYNC_PIPES[2].process,
)


def expected_total(n: int) -> int:
    """The sum of ``(x + 1) * 3 - 2`` over ``range(n)``: what every variant must return."""
    return 3 * (n * (n - 1) // 2) + n


def slow_config() -> StreamConfig:
    """The stream settings of the slow-consumer rivusio rows (the defaults, spelled out)."""
    return StreamConfig(backpressure=BackpressureConfig(max_buffer_size=CAPACITY))


# -- measuring items in flight ------------------------------------------------------------


class Meter:
    """Counts items taken from the source and items the consumer has finished.

    The consumer calls :meth:`observe` when an item reaches it, before working on it. On a
    single-threaded event loop the producers only run while the consumer waits, so the
    difference is largest exactly when the consumer gets its next item: sampling there
    finds the true maximum.
    """

    def __init__(self) -> None:
        self.produced = 0
        self.consumed = 0
        self.max_in_flight = 0

    def source(self, n: int) -> Iterator[int]:
        """Yield ``range(n)``, counting each item as it leaves."""
        for x in range(n):
            self.produced += 1
            yield x

    def observe(self) -> None:
        """Record one item reaching the consumer."""
        in_flight = self.produced - self.consumed
        self.max_in_flight = max(self.max_in_flight, in_flight)
        self.consumed += 1


def in_flight_bound(links: int, capacity: int = CAPACITY) -> int:
    """The most items a rivusio run with *links* links may hold between source and consumer.

    Each link's channel holds at most ``capacity`` items. Besides, whoever sends into a link
    (the source pump or a stage) holds at most one chunk it is trying to send plus fewer
    than one chunk it has not sent yet, and the consumer holds the rest of the chunk it is
    reading: in total at most two chunks per link on top of its capacity. A chunk is a
    quarter of the capacity (at most 256 items), so the bound is at most 1.5 times the
    configured buffers.
    """
    return links * (capacity + 2 * chunk_size_for(capacity))


def spin() -> int:
    """The slow consumer's work on one item."""
    return sum(range(CONSUMER_WORK))


# -- consumers ------------------------------------------------------------------------------


async def adrain(items: AsyncIterable[int], meter: Meter | None) -> int:
    """Sum *items*; with a *meter*, as the slow consumer."""
    total = 0
    if meter is None:
        async for y in items:
            total += y
        return total
    async for y in items:
        meter.observe()
        total += y
        spin()
    return total


async def adrain_batches(batches: AsyncIterable[list[int]], meter: Meter | None) -> int:
    """Sum the items of *batches*; with a *meter*, as the slow consumer."""
    total = 0
    if meter is None:
        async for batch in batches:
            for y in batch:
                total += y
        return total
    async for batch in batches:
        for y in batch:
            meter.observe()
            total += y
            spin()
    return total


def drain(items: Iterable[int]) -> int:
    """Sum *items*."""
    total = 0
    for y in items:
        total += y
    return total


# -- baselines --------------------------------------------------------------------------


def plain_loop(items: Iterable[int], meter: Meter | None) -> int:
    """Three sync maps and the consumer, as one plain loop."""
    a, b, c = SYNC_FNS
    total = 0
    if meter is None:
        for x in items:
            total += c(b(a(x)))
        return total
    for x in items:
        y = c(b(a(x)))
        meter.observe()
        total += y
        spin()
    return total


async def await_loop(items: Iterable[int], meter: Meter | None) -> int:
    """Three async maps and the sum, as one plain loop in a coroutine."""
    a, b, c = ASYNC_FNS
    total = 0
    for x in items:
        total += await c(await b(await a(x)))
    return total


async def agen_first(fn: SyncFn, items: Iterable[int]) -> AsyncIterator[int]:
    """The first async generator of a chain: map a plain iterable."""
    for x in items:
        yield fn(x)


async def agen_map(fn: SyncFn, items: AsyncIterator[int]) -> AsyncIterator[int]:
    """A further async generator of a chain."""
    async for x in items:
        yield fn(x)


async def agen_first_async(fn: AsyncFn, items: Iterable[int]) -> AsyncIterator[int]:
    """The first async generator of a chain of async maps."""
    for x in items:
        yield await fn(x)


async def agen_map_async(fn: AsyncFn, items: AsyncIterator[int]) -> AsyncIterator[int]:
    """A further async generator of a chain of async maps."""
    async for x in items:
        yield await fn(x)


async def agen_chain(items: Iterable[int], meter: Meter | None) -> int:
    """Three sync maps as three chained async generators, then the consumer."""
    a, b, c = SYNC_FNS
    return await adrain(agen_map(c, agen_map(b, agen_first(a, items))), meter)


async def agen_chain_async(items: Iterable[int], meter: Meter | None) -> int:
    """Three async maps as three chained async generators, then the consumer."""
    a, b, c = ASYNC_FNS
    return await adrain(agen_map_async(c, agen_map_async(b, agen_first_async(a, items))), meter)


async def produce_items(items: Iterable[int], send: MemoryObjectSendStream[int]) -> None:
    """Send each item as a message of its own."""
    async with send:
        for x in items:
            await send.send(x)


async def produce_batches(items: Iterable[int], send: MemoryObjectSendStream[list[int]]) -> None:
    """Send the items in lists of :data:`PER_MESSAGE`."""
    async with send:
        batch: list[int] = []
        for x in items:
            batch.append(x)
            if len(batch) == PER_MESSAGE:
                await send.send(batch)
                batch = []
        if batch:
            await send.send(batch)


async def item_stage(
    fn: SyncFn, receive: MemoryObjectReceiveStream[int], send: MemoryObjectSendStream[int]
) -> None:
    """One task of a chain: map each message."""
    async with receive, send:
        async for x in receive:
            await send.send(fn(x))


async def item_stage_async(
    fn: AsyncFn, receive: MemoryObjectReceiveStream[int], send: MemoryObjectSendStream[int]
) -> None:
    """One task of a chain of async maps: map each message."""
    async with receive, send:
        async for x in receive:
            await send.send(await fn(x))


async def batch_stage(
    fn: SyncFn,
    receive: MemoryObjectReceiveStream[list[int]],
    send: MemoryObjectSendStream[list[int]],
) -> None:
    """One task of a batched chain: map each item of each message."""
    async with receive, send:
        async for batch in receive:
            await send.send([fn(x) for x in batch])


async def batch_stage_async(
    fn: AsyncFn,
    receive: MemoryObjectReceiveStream[list[int]],
    send: MemoryObjectSendStream[list[int]],
) -> None:
    """One task of a batched chain of async maps."""
    async with receive, send:
        async for batch in receive:
            await send.send([await fn(x) for x in batch])


def channel_chain(*, is_async: bool) -> Work:
    """A producer task and one task per map, one item per message, into the consumer.

    Each channel holds :data:`CAPACITY` messages.
    """

    async def work(items: Iterable[int], meter: Meter | None) -> int:
        send, receive = anyio.create_memory_object_stream[int](CAPACITY)
        async with anyio.create_task_group() as tg:
            tg.start_soon(produce_items, items, send)
            for index in range(3):
                next_send, next_receive = anyio.create_memory_object_stream[int](CAPACITY)
                if is_async:
                    tg.start_soon(item_stage_async, ASYNC_FNS[index], receive, next_send)
                else:
                    tg.start_soon(item_stage, SYNC_FNS[index], receive, next_send)
                receive = next_receive
            async with receive:
                total = await adrain(receive, meter)
        return total

    return work


def batched_channel_chain(*, is_async: bool) -> Work:
    """A producer task and one task per map, 64 items per message, into the consumer.

    Each channel holds ``CAPACITY // 64`` messages (960 items).
    """

    async def work(items: Iterable[int], meter: Meter | None) -> int:
        slots = CAPACITY // PER_MESSAGE
        send, receive = anyio.create_memory_object_stream[list[int]](slots)
        async with anyio.create_task_group() as tg:
            tg.start_soon(produce_batches, items, send)
            for index in range(3):
                next_send, next_receive = anyio.create_memory_object_stream[list[int]](slots)
                if is_async:
                    tg.start_soon(batch_stage_async, ASYNC_FNS[index], receive, next_send)
                else:
                    tg.start_soon(batch_stage, SYNC_FNS[index], receive, next_send)
                receive = next_receive
            async with receive:
                total = await adrain_batches(receive, meter)
        return total

    return work


# -- rivusio --------------------------------------------------------------------------------


def sync_stream(items: Iterable[int], meter: Meter | None) -> int:
    """``SyncStream(items).through(a >> b >> c)`` with sync maps, summed by a ``for`` loop."""
    return drain(SyncStream(items).through(sync_maps()))


def async_stream(
    pipe: Callable[[], BasePipe[int, int]], *, bare: bool = False, slow: bool = False
) -> Work:
    """``AsyncStream(items).through(pipe())``, consumed with ``async with`` or bare.

    Args:
        pipe: Builds the pipe for each run.
        bare: Consume with a bare ``async for`` instead of ``async with ... as results``.
        slow: Use :func:`slow_config` (explicit buffers) for the stream.
    """

    async def work(items: Iterable[int], meter: Meter | None) -> int:
        stream = AsyncStream(items, slow_config() if slow else None).through(pipe())
        if bare:
            return await adrain(stream, meter)
        async with stream as results:
            return await adrain(results, meter)

    return work


def sync_maps() -> BasePipe[int, int]:
    """``AddOne() >> Triple() >> SubtractTwo()``: fused into one stage."""
    return AddOne() >> Triple() >> SubtractTwo()


def async_maps() -> BasePipe[int, int]:
    """The three maps as async pipes: fused into one stage."""
    return AsyncAddOne() >> AsyncTriple() >> AsyncSubtractTwo()


def stage_maps() -> BasePipe[int, int]:
    """The three maps as ``StreamPipe`` stages: three tasks, each with its own inbox."""
    return AddOneStage() >> TripleStage() >> SubtractTwoStage()


# -- the variants ---------------------------------------------------------------------------


UNFUSED = "AsyncStream, 3 StreamPipe stages"
"""The unfused rivusio variant: three stages, three tasks, four links."""


Work = Callable[[Iterable[int], "Meter | None"], Any]
"""Runs a workload over *items*: returns the sum, or (on an event loop) a coroutine of it."""


@dataclass(frozen=True)
class Variant:
    """One way of running a workload.

    Attributes:
        workload: ``"sync3"``, ``"async3"`` or ``"slow"``.
        backend: ``"asyncio"``, ``"trio"``, or ``"-"`` for work with no event loop.
        name: What runs.
        work: The work itself.
        is_rivusio: A rivusio row (the others are baselines).
        share: The variant runs ``n // share`` items.
        links: For rivusio slow-consumer rows, the number of links (the bound's input).
    """

    workload: str
    backend: str
    name: str
    work: Work
    is_rivusio: bool = False
    share: int = 1
    links: int | None = None

    def measure(self, n: int) -> Outcome:
        """Run over *n* items; time only the work, not the event loop's start."""
        meter = Meter() if self.workload == "slow" else None
        items = range(n) if meter is None else meter.source(n)
        if self.backend == "-":
            started = time.perf_counter()
            total = self.work(items, meter)
            return Outcome(time.perf_counter() - started, total, meter)
        return anyio.run(self._measure_async, items, meter, backend=self.backend)

    async def _measure_async(self, items: Iterable[int], meter: Meter | None) -> Outcome:
        started = time.perf_counter()
        total = await self.work(items, meter)
        return Outcome(time.perf_counter() - started, total, meter)


@dataclass(frozen=True)
class Outcome:
    """One timed run: seconds, the consumer's sum, and the meter of a slow-consumer run."""

    seconds: float
    total: int
    meter: Meter | None


def variants() -> list[Variant]:
    """Every variant of every workload, in table order."""
    rows = [
        Variant("sync3", "-", "plain loop", plain_loop),
        Variant("sync3", "-", "SyncStream", sync_stream, is_rivusio=True),
    ]
    for backend in BACKENDS:
        rows += [
            Variant("sync3", backend, "async generator chain", agen_chain),
            Variant(
                "sync3",
                backend,
                "channels, 1 item/message",
                channel_chain(is_async=False),
                share=ONE_PER_MESSAGE_SHARE,
            ),
            Variant(
                "sync3",
                backend,
                "channels, 64 items/message",
                batched_channel_chain(is_async=False),
            ),
            Variant(
                "sync3",
                backend,
                "AsyncStream (async with)",
                async_stream(sync_maps),
                is_rivusio=True,
            ),
            Variant(
                "sync3",
                backend,
                "AsyncStream (bare async for)",
                async_stream(sync_maps, bare=True),
                is_rivusio=True,
            ),
        ]
    for backend in BACKENDS:
        rows += [
            Variant("async3", backend, "plain loop of awaits", await_loop),
            Variant("async3", backend, "async generator chain", agen_chain_async),
            Variant(
                "async3",
                backend,
                "channels, 1 item/message",
                channel_chain(is_async=True),
                share=ONE_PER_MESSAGE_SHARE,
            ),
            Variant(
                "async3",
                backend,
                "channels, 64 items/message",
                batched_channel_chain(is_async=True),
            ),
            Variant(
                "async3",
                backend,
                "AsyncStream (async with)",
                async_stream(async_maps),
                is_rivusio=True,
            ),
            Variant(
                "async3",
                backend,
                "AsyncStream (bare async for)",
                async_stream(async_maps, bare=True),
                is_rivusio=True,
            ),
            Variant(
                "async3",
                backend,
                UNFUSED,
                async_stream(stage_maps),
                is_rivusio=True,
            ),
        ]
    rows.append(Variant("slow", "-", "plain loop", plain_loop))
    for backend in BACKENDS:
        rows += [
            Variant("slow", backend, "async generator chain", agen_chain),
            Variant(
                "slow",
                backend,
                "channels, 1 item/message",
                channel_chain(is_async=False),
                share=ONE_PER_MESSAGE_SHARE,
            ),
            Variant(
                "slow",
                backend,
                "channels, 64 items/message",
                batched_channel_chain(is_async=False),
            ),
            Variant(
                "slow",
                backend,
                "AsyncStream (async with)",
                async_stream(sync_maps, slow=True),
                is_rivusio=True,
                links=2,
            ),
            Variant(
                "slow",
                backend,
                UNFUSED,
                async_stream(stage_maps, slow=True),
                is_rivusio=True,
                links=4,
            ),
        ]
    return rows


# -- running and reporting ------------------------------------------------------------------


BASELINES = {
    "loop": ("plain loop", "plain loop of awaits"),
    "agen": ("async generator chain",),
    "chan64": ("channels, 64 items/message",),
}
"""Ratio columns: a row divided by the named baseline of the same workload and backend (or,
for the plain loop, of the same workload with no event loop)."""


def run(n: int = DEFAULT_N, repeats: int = 5) -> list[dict[str, Any]]:
    """Run every variant *repeats* times, interleaved, and return one row per variant.

    Args:
        n: Items per run (the one-item-per-message chains run a tenth of it).
        repeats: Runs per variant; a row reports the median.

    Returns:
        Rows with ``workload``, ``backend``, ``variant``, ``rivusio`` (bool), ``n``,
        ``us_per_item`` (median), ``items_per_s``, ``ratio_vs_loop``, ``ratio_vs_agen``
        and ``ratio_vs_chan64`` (``None`` where there is no such baseline); slow-consumer
        rows add ``max_in_flight`` (the largest over the repeats) and, for rivusio,
        ``bound`` (:func:`in_flight_bound`).

    Raises:
        RuntimeError: A variant's consumer got a wrong sum.
    """
    chosen = variants()
    for variant in chosen:
        # Warm up: first calls pay for imports, plan building and the interpreter's caches.
        variant.measure(min(n, WARM_UP))
    times: list[list[float]] = [[] for _ in chosen]
    in_flight: list[int] = [0 for _ in chosen]
    for _ in range(repeats):
        for index, variant in enumerate(chosen):
            size = max(1, n // variant.share)
            gc.collect()
            outcome = variant.measure(size)
            if outcome.total != expected_total(size):
                raise RuntimeError(
                    f"{variant.workload}/{variant.backend}/{variant.name}: the consumer "
                    f"summed {outcome.total!r}, expected {expected_total(size)!r}"
                )
            times[index].append(outcome.seconds / size * 1e6)
            if outcome.meter is not None:
                in_flight[index] = max(in_flight[index], outcome.meter.max_in_flight)
    medians = [statistics.median(values) for values in times]
    rows: list[dict[str, Any]] = []
    for index, variant in enumerate(chosen):
        us = medians[index]
        row: dict[str, Any] = {
            "workload": variant.workload,
            "backend": variant.backend,
            "variant": variant.name,
            "rivusio": variant.is_rivusio,
            "n": max(1, n // variant.share),
            "us_per_item": us,
            "items_per_s": 1e6 / us,
        }
        for column, names in BASELINES.items():
            base = _baseline(chosen, medians, variant, names)
            row[f"ratio_vs_{column}"] = None if base is None else us / base
        if variant.workload == "slow":
            row["max_in_flight"] = in_flight[index]
            row["bound"] = None if variant.links is None else in_flight_bound(variant.links)
        rows.append(row)
    return rows


def _baseline(
    chosen: list[Variant], medians: list[float], variant: Variant, names: tuple[str, ...]
) -> float | None:
    """The median of the baseline called one of *names* for *variant*, if there is one."""
    if variant.name in names:
        return None
    for backend in (variant.backend, "-"):
        for index, other in enumerate(chosen):
            if (other.workload, other.backend) == (variant.workload, backend) and (
                other.name in names
            ):
                return medians[index]
    return None


def goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check the rows against the runtime's performance goals.

    Returns:
        One record per check: ``goal``, ``row`` (``workload/backend/variant``), ``value``,
        ``limit`` and ``met`` (``value <= limit``).
    """
    checks: list[dict[str, Any]] = []
    for row in rows:
        if not row["rivusio"]:
            continue
        where = (row["workload"], row["variant"])
        if where == ("sync3", "SyncStream"):
            goal, value, limit = "SyncStream <= 1.5x plain loop", row["ratio_vs_loop"], 1.5
        elif row["workload"] != "slow" and row["variant"].startswith("AsyncStream ("):
            goal, value, limit = (
                "AsyncStream <= 1.25x async generators",
                row["ratio_vs_agen"],
                1.25,
            )
        elif where == ("async3", UNFUSED):
            goal, value, limit = "unfused hops <= 1x 64-item channels", row["ratio_vs_chan64"], 1.0
        elif row["workload"] == "slow":
            goal, value, limit = "items in flight <= bound", row["max_in_flight"], row["bound"]
        else:
            continue
        checks.append(
            {
                "goal": goal,
                "row": f"{row['workload']}/{row['backend']}/{row['variant']}",
                "value": value,
                "limit": limit,
                "met": value <= limit,
            }
        )
    return checks


def format_table(rows: list[dict[str, Any]]) -> str:
    """Render benchmark rows as a Markdown table; rivusio rows are in bold."""

    def ratio(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    header = (
        "| workload | backend | variant | n | µs/item | items/s | vs loop | vs agen | vs chan64 "
        "| in flight (bound) |"
    )
    lines = [header, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for row in rows:
        flight = ""
        if "max_in_flight" in row:
            flight = str(row["max_in_flight"])
            if row["bound"] is not None:
                flight += f" ({row['bound']})"
        variant = f"**{row['variant']}**" if row["rivusio"] else row["variant"]
        lines.append(
            f"| {row['workload']} | {row['backend']} | {variant} | {row['n']:,} | "
            f"{row['us_per_item']:.3f} | {row['items_per_s']:,.0f} | "
            f"{ratio(row['ratio_vs_loop'])} | {ratio(row['ratio_vs_agen'])} | "
            f"{ratio(row['ratio_vs_chan64'])} | {flight} |"
        )
    return "\n".join(lines)


def format_goals(checks: list[dict[str, Any]]) -> str:
    """Render goal checks as a Markdown table."""
    lines = ["| goal | row | value | limit | met |", "|---|---|--:|--:|---|"]
    for check in checks:
        value, limit = check["value"], check["limit"]
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(
            f"| {check['goal']} | {check['row']} | {shown} | {limit} | "
            f"{'yes' if check['met'] else '**no**'} |"
        )
    return "\n".join(lines)
