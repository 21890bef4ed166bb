"""The runner and plan: fusion, the memory promise, accounting and task hygiene."""

from __future__ import annotations

import itertools
import tracemalloc
from typing import TYPE_CHECKING, Any, Literal

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivusio import (
    AsyncStream,
    BackpressureConfig,
    DeadLetter,
    StreamConfig,
    StreamError,
    SyncBasePipe,
)
from rivusio.core.pipes import BasePipe
from rivusio.monitoring import PipelineMonitor
from rivusio.runtime._plan import Plan, policy_of
from rivusio.runtime._stage import FusedStage
from rivusio.streams import StreamPipe

from ..helpers import Double, FailOn, Hooks, Inc, aiter_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def test_consecutive_per_item_pipes_fuse_into_one_stage() -> None:
    """Per-item pipes next to each other share one stage; a stream pipe splits them."""
    pipeline = Double() >> Inc() >> StreamPipe(name="hop") >> Double()
    plan = Plan.build([(pipeline, policy_of(None))], None)
    assert [stage.name for stage in plan.stages] == ["Double >> Inc", "hop", "Double"]
    assert isinstance(plan.stages[0], FusedStage)


@given(items=st.lists(st.integers(-1000, 1000), max_size=300))
async def test_fused_and_unfused_runs_give_identical_results(items: list[int]) -> None:
    """Running three steps fused or as three stages yields the same outputs in order."""

    def hop(pipe: Any) -> StreamPipe[int, int]:
        class Hop(StreamPipe[int, int]):
            async def process_item(self, item: int) -> int:
                result = pipe(item)
                return await result if hasattr(result, "__await__") else result  # type: ignore[no-any-return]

        return Hop()

    fused = [r async for r in AsyncStream(items).through(Double() >> Inc() >> Double())]
    unfused = [
        r async for r in AsyncStream(items).through(hop(Double()) >> hop(Inc()) >> hop(Double()))
    ]
    assert fused == unfused == [(x * 2 + 1) * 2 for x in items]


@given(
    items=st.lists(st.integers(0, 50), max_size=200),
    bad_first=st.sets(st.integers(0, 50)),
    bad_second=st.sets(st.integers(0, 50)),
    policy=st.sampled_from(["skip", "dead_letter"]),
    buffer=st.integers(0, 40),
)
async def test_every_item_is_emitted_skipped_or_dead_lettered_once(
    items: list[int],
    bad_first: set[int],
    bad_second: set[int],
    policy: Literal["skip", "dead_letter"],
    buffer: int,
) -> None:
    """emitted + skipped + dead-lettered == input, in order, for any failure pattern."""
    letters: list[DeadLetter] = []
    first, second = FailOn(bad_first, name="first"), FailOn(bad_second, name="second")
    config = StreamConfig(backpressure=BackpressureConfig(max_buffer_size=buffer))
    stream = AsyncStream(items, config).through(
        first >> StreamPipe[int, int]() >> second,
        on_error=policy,
        dead_letter=letters,
    )
    async with stream as results:
        emitted = [r async for r in results]
        stats = [st for stage in results._runner.plan.stages for st in stage.stats()]
    assert emitted == [x for x in items if x not in bad_first and x not in bad_second]
    failed = [x for x in items if x in bad_first or x in bad_second]
    skipped = sum(s.skipped for s in stats)
    dead_lettered = sum(s.dead_lettered for s in stats)
    assert len(emitted) + skipped + dead_lettered == len(items)
    if policy == "dead_letter":
        assert sorted(d.item for d in letters) == sorted(failed)
        assert (skipped, dead_lettered) == (0, len(failed))
    else:
        assert letters == []
        assert (skipped, dead_lettered) == (len(failed), 0)


async def test_in_flight_items_stay_within_the_buffers() -> None:
    """An endless fast source and a slow consumer: produced - consumed stays bounded."""
    capacity = 16  # chunks of 4 items
    produced = 0

    async def endless() -> AsyncIterator[int]:
        nonlocal produced
        while True:
            produced += 1
            yield produced

    config = StreamConfig(backpressure=BackpressureConfig(max_buffer_size=capacity))
    consumed = 0
    worst = 0
    async with AsyncStream(endless(), config).through(
        Double() >> StreamPipe[int, int]()
    ) as results:
        async for _ in results:
            consumed += 1
            worst = max(worst, produced - consumed)
            await anyio.sleep(0.001)
            if consumed == 2000:
                break
    # Three links of 16 items, plus per link one pending chunk on the sending side and one
    # chunk in the receiving stage's hands (4 items each).
    bound = 3 * capacity + 3 * 2 * 4
    assert 0 < worst <= bound


async def test_memory_stays_flat_over_100_000_items() -> None:
    """Traced memory after 100,000 items is what it was after the first 10,000."""
    consumed = 0
    tracemalloc.start()
    try:
        async for _ in AsyncStream(range(100_000)).through(Double() >> StreamPipe() >> Inc()):
            consumed += 1
            if consumed == 10_000:
                early, _ = tracemalloc.get_traced_memory()
        late, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert consumed == 100_000
    assert late - early < 64 * 1024


async def test_stage_tasks_are_named_after_their_stages() -> None:
    """Every task of a run is named `rivusio:<stage>`; none is left when the run ends."""
    names: set[str] = set()

    class Spy(SyncBasePipe[int, int]):
        def process(self, data: int) -> int:
            names.update(t.name for t in _running_tasks())
            return data

    stream = AsyncStream(aiter_of([1, 2], delay=1)).through(
        Spy() >> StreamPipe[int, int](name="hop")
    )
    assert [r async for r in stream] == [1, 2]
    assert {"rivusio:source", "rivusio:Spy", "rivusio:hop"} <= names
    assert not any(name.startswith("rivusio:") for name in (t.name for t in _running_tasks()))


def _running_tasks() -> list[Any]:
    from anyio import get_running_tasks

    return list(get_running_tasks())


@pytest.mark.parametrize("overflow", ["drop_oldest", "drop_newest"])
async def test_dropping_overflow_loses_only_counted_items(
    overflow: Literal["drop_oldest", "drop_newest"],
) -> None:
    """With a dropping policy, outputs + dropped == input and order is kept."""

    class Slow(StreamPipe[int, int]):
        async def process_item(self, item: int) -> int:
            await anyio.sleep(0.01)
            return item

    slow = Slow(config=BackpressureConfig(max_buffer_size=4, overflow=overflow))
    stream: AsyncStream[int] = AsyncStream(range(100)).through(slow)
    async with stream as results:
        out = [r async for r in results]
        dropped = results._runner.links[0].statistics().dropped
    assert out == sorted(out)
    assert len(out) + dropped == 100
    assert dropped > 0


async def test_dropping_stage_behind_a_source_that_never_awaits_still_ends() -> None:
    """A dropping link yields, so an endless non-awaiting source cannot starve its stage."""
    dropping = StreamPipe[int, int](
        config=BackpressureConfig(max_buffer_size=2, overflow="drop_newest")
    )
    seen = []
    with anyio.fail_after(5):
        async for item in AsyncStream(itertools.count()).through(dropping):
            seen.append(item)
            if len(seen) == 3:
                break
    assert seen == sorted(seen)


class FirstTwo(StreamPipe[int, int]):
    """Yields the first two items, then stops reading its input."""

    async def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:
        async for item in stream:
            yield item
            if item == 1:
                return


async def test_stage_that_returns_early_stops_an_endless_source() -> None:
    """A stage that returns before its input ends ends the stream and closes the source."""
    closed: list[bool] = []

    async def endless() -> AsyncIterator[int]:
        try:
            for i in itertools.count():
                yield i
        finally:
            closed.append(True)

    assert [r async for r in AsyncStream(endless()).through(FirstTwo())] == [0, 1]
    assert closed == [True]


async def test_broken_resource_raised_by_a_stage_itself_is_a_failure() -> None:
    """BrokenResourceError from a stage's own work (not its outbox) fails the stream."""

    class Broken(StreamPipe[int, int]):
        async def process_stream(self, stream: AsyncIterator[int]) -> AsyncIterator[int]:
            async for item in stream:
                yield item
                raise anyio.BrokenResourceError

    out = []
    with pytest.raises(StreamError, match=r"^stage 'Broken' failed: BrokenResourceError: $"):
        async for r in AsyncStream(range(3)).through(Broken()):
            out.append(r)
    assert out == [0]


async def test_failing_teardown_is_a_stream_error_after_every_output() -> None:
    """A teardown that raises fails the stream, naming the pipe, after all outputs."""

    class BadTeardown(Hooks):
        async def teardown(self) -> None:
            raise RuntimeError("cannot close")

    out = []
    with pytest.raises(StreamError, match=r"^stage 'closer' failed: RuntimeError: cannot close$"):
        async for r in AsyncStream(range(3)).through(BadTeardown("closer")):
            out.append(r)
    assert out == [0, 1, 2]


async def test_source_that_is_not_iterable_is_a_source_failure() -> None:
    """A source that is not iterable fails the stream under the stage name 'source'."""
    stream = AsyncStream(42).through(Double())  # type: ignore[arg-type]
    with pytest.raises(
        StreamError,
        match=r"^stage 'source' failed: TypeError: stream source must be an async iterable, "
        r"an iterable or an anyio receive stream, got int$",
    ):
        async for _ in stream:
            pass


def test_pipe_of_no_known_kind_is_refused_by_the_planner() -> None:
    """A direct BasePipe subclass is neither sync, async nor a stream stage: TypeError."""

    class Odd(BasePipe[int, int]):
        pass

    with pytest.raises(
        TypeError,
        match=r"stage 'Odd': Odd is neither a sync nor an async pipe nor a stream stage; "
        r"subclass SyncBasePipe, AsyncBasePipe or rivusio\.streams\.StreamPipe",
    ):
        Plan.build([(Odd(), policy_of(None))], None)


class _BrokenMonitor(PipelineMonitor):
    """A monitor that fails when a run starts or when it finishes."""

    def __init__(self, when: str) -> None:
        super().__init__()
        self.when = when

    def _run_started(self, run: Any) -> None:
        if self.when == "start":
            raise RuntimeError("monitor broke at start")
        super()._run_started(run)

    def _run_finished(self, run: Any) -> None:
        super()._run_finished(run)
        if self.when == "finish":
            raise RuntimeError("monitor broke at finish")


@pytest.mark.parametrize("when", ["start", "finish"])
@pytest.mark.parametrize("style", ["async_with", "bare"])
async def test_a_failing_monitor_fails_the_stream_without_hanging(when: str, style: str) -> None:
    """A monitor that raises gives a StreamError for stage 'monitor' instead of a hang."""
    stream: AsyncStream[int] = AsyncStream(range(3)).through(Double())
    stream.set_monitor(_BrokenMonitor(when))
    seen: list[int] = []
    with (
        anyio.fail_after(5),
        pytest.raises(
            StreamError, match=f"stage 'monitor' failed: RuntimeError: monitor broke at {when}"
        ),
    ):
        if style == "async_with":
            async with stream as results:
                async for result in results:
                    seen.append(result)
        else:
            async for result in stream:
                seen.append(result)
    assert seen == ([] if when == "start" else [0, 2, 4])
