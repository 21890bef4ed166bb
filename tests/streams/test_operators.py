"""Operators: normal runs, end of stream, errors and cancellation, on both backends."""

from __future__ import annotations

import itertools
import math
import operator
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from rivusio import (
    AsyncBasePipe,
    AsyncStream,
    BackpressureConfig,
    ConfigError,
    DeadLetter,
    RetryConfig,
    StreamConfig,
    StreamError,
    SyncStream,
)
from rivusio.runtime._plan import Plan, policy_of
from rivusio.runtime._runner import Runner
from rivusio.streams import (
    StreamPipe,
    StreamPipeline,
    branch,
    broadcast,
    buffer,
    debounce,
    delay,
    distinct,
    filter,
    flat_map,
    group_by,
    key_by,
    map,
    merge,
    partition,
    rate_limit,
    reduce,
    scan,
    skip,
    skip_while,
    take,
    take_while,
    tee,
    throttle,
    zip,
    zip_latest,
)
from rivusio.testing import ScriptedSource, assert_no_leaked_tasks, collect_timed
from tests.helpers import Double, FailOn, Hooks, Inc, aiter_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from typing import TypeGuard

    from rivusio.runtime._stats import StageStats


async def run(source: Any, pipe: Any, **settings: Any) -> list[Any]:
    """Every output of *pipe* over *source*."""
    return [r async for r in AsyncStream(source).through(pipe, **settings)]


async def run_with_stats(source: Any, pipe: Any) -> tuple[list[Any], dict[str, StageStats]]:
    """Outputs and per-stage counters of one run."""
    plan = Plan.build([(pipe, policy_of(None))], None)
    runner: Runner[Any] = Runner(plan, source)
    outputs: list[Any] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(runner.run)
        while True:
            try:
                outputs.extend(await runner.output.get())
            except anyio.EndOfStream:
                runner.consumed.set()
                break
    runner.output.close_receiver()
    assert not runner.failures
    return outputs, {s.name: s for stage in plan.stages for s in stage.stats()}


async def endless(interval: float = 1.0) -> AsyncIterator[int]:
    """0, 1, 2, ... one every *interval* seconds, forever."""
    for i in itertools.count():
        yield i
        await anyio.sleep(interval)


def fail_on(bad: int) -> Callable[[int], int]:
    """A function that raises ValueError for *bad* and returns other items unchanged."""

    def check(x: int) -> int:
        if x == bad:
            raise ValueError(f"bad {x}")
        return x

    return check


# -- transform -----------------------------------------------------------------------------


async def test_map_applies_sync_and_async_functions() -> None:
    """`map` takes plain and async functions and keeps the order."""

    async def slow_double(x: int) -> int:
        await anyio.sleep(0.5)
        return x * 2

    assert await run(range(5), map(lambda x: x + 1) >> map(slow_double)) == [2, 4, 6, 8, 10]
    assert anyio.current_time() == 2.5


async def test_map_of_a_pipe_keeps_its_handle_error_and_hooks() -> None:
    """A pipe given to `map` runs with its own handle_error, setup and teardown."""

    class Guarded(FailOn):
        def handle_error(self, error: Exception, data: int) -> int:
            return -data

    hooks = Hooks()
    assert await run(range(4), map(hooks >> Guarded([2]))) == [0, 1, -2, 3]
    assert hooks.events == ["setup", "teardown"]


async def test_map_and_only_map_run_on_a_single_value() -> None:
    """`await map(fn).process(x)` applies fn; other operators need a stream and say so."""

    async def inc(x: int) -> int:
        return x + 1

    def neg(x: int) -> int:
        return -x

    assert await map(neg).process(3) == -3
    assert await map(inc).process(3) == 4
    assert await map(Double()).process(3) == 6
    first: StreamPipe[int, int] = take(3)
    with pytest.raises(TypeError, match=r"^operator 'take\(3\)' works on a stream"):
        await first.process(1)
    assert repr(take(3)) == "<operator take(3)>"


def test_map_rejects_what_is_not_callable() -> None:
    """A non-callable fn is a TypeError naming the operator."""
    with pytest.raises(TypeError, match=r"^map\(int\): fn must be callable or a pipe, got int"):
        map(5)  # type: ignore[call-overload]


async def test_map_error_names_the_operator_and_the_item() -> None:
    """A failing function stops the stream with the operator's name and the input."""
    seen: list[int] = []
    with pytest.raises(
        StreamError, match=r"stage 'map\(check\)' failed: ValueError: bad 2"
    ) as info:
        async for r in AsyncStream(range(5)).through(map(fail_on(2))):
            seen.append(r)
    assert (seen, info.value.stage, info.value.item) == ([0, 1], "map(check)", 2)


async def test_operator_error_settings_retry_skip_and_dead_letter() -> None:
    """Operators take on_error, dead_letter and retry like pipes; innermost wins."""
    letters: list[DeadLetter] = []
    tries: list[float] = []

    def flaky(x: int) -> int:
        tries.append(anyio.current_time())
        if len(tries) == 1:
            raise TimeoutError("once")
        return x

    pipe = (
        map(flaky, retry=RetryConfig(attempts=2, delay=0.25))
        >> map(fail_on(1), on_error="skip")
        >> filter(lambda x: 1 / (x - 2) > 0, name="positive")
    )
    out = await run(range(4), pipe, on_error="dead_letter", dead_letter=letters)
    assert out == [3]
    assert tries == [0.0, 0.25, 0.25, 0.25, 0.25]
    assert [(d.item, d.stage) for d in letters] == [(2, "positive")]


async def test_flat_map_accepts_iterables_async_functions_and_async_generators() -> None:
    """Each item becomes zero or more outputs, whatever form fn takes."""

    async def twice(x: int) -> list[int]:
        return [x, x]

    async def countdown(x: int) -> AsyncIterator[int]:
        for i in range(x, 0, -1):
            await anyio.sleep(0.25)
            yield i

    assert await run(["a b", "", "c"], flat_map(str.split)) == ["a", "b", "c"]
    assert await run([1, 2], flat_map(lambda x: (y for y in range(x)))) == [0, 0, 1]
    assert await run([1, 2], flat_map(twice)) == [1, 1, 2, 2]
    assert await run([2, 0, 1], flat_map(countdown)) == [2, 1, 1]
    assert anyio.current_time() == 0.75


async def test_flat_map_error_while_iterating_drops_all_outputs_of_the_item() -> None:
    """An error midway through an item's outputs loses that item's outputs only."""

    def upto(x: int) -> Any:
        for i in range(x):
            if i == 2:
                raise ValueError("too many")
            yield i

    out = await run([1, 3, 2], flat_map(upto, on_error="skip"))
    assert out == [0, 0, 1]


async def test_scan_emits_running_values_and_starts_afresh_each_run() -> None:
    """`scan` yields acc after every item; a second run starts from `initial` again."""

    async def add_slowly(acc: int, x: int) -> int:
        await anyio.sleep(1)
        return acc + x

    totals = scan(operator.add, 0)
    assert await run([1, 2, 3], totals) == [1, 3, 6]
    assert await run([1, 2, 3], totals) == [1, 3, 6]
    assert await run([1, 2, 3], scan(add_slowly, 10)) == [11, 13, 16]
    assert anyio.current_time() == 3.0


async def test_scan_skipped_item_leaves_the_accumulator_unchanged() -> None:
    """An item that fails under "skip" emits nothing and does not change acc."""

    def add_but_not_two(acc: int, x: int) -> int:
        if x == 2:
            raise ValueError(x)
        return acc + x

    assert await run([1, 2, 3], scan(add_but_not_two, 0, on_error="skip")) == [1, 4]


async def test_key_by_pairs_items_with_their_keys() -> None:
    """`key_by` emits (key, item), with sync or async key functions."""

    async def parity(x: int) -> str:
        return "odd" if x % 2 else "even"

    assert await run([1, 2], key_by(lambda x: x % 2)) == [(1, 1), (0, 2)]
    assert await run([1, 2], key_by(parity)) == [("odd", 1), ("even", 2)]


# -- filter -------------------------------------------------------------------------------


def is_str(x: int | str) -> TypeGuard[str]:
    """A type guard for the typed filter test."""
    return isinstance(x, str)


async def test_filter_keeps_true_items_and_narrows_types() -> None:
    """Sync and async predicates; a TypeGuard predicate narrows the output type."""

    async def small(x: int) -> bool:
        return x < 3

    only_text: StreamPipe[int | str, str] = filter(is_str)
    assert await run([1, "a", 2, "b"], only_text) == ["a", "b"]
    assert await run(range(6), filter(small)) == [0, 1, 2]
    assert await run(range(6), filter(lambda x: x % 2)) == [1, 3, 5]


async def test_filter_error_under_skip_is_counted() -> None:
    """A predicate that raises under "skip" drops the item and counts it as skipped."""
    pipe = filter(lambda x: 10 // x > 2, on_error="skip", name="big")
    outputs, stats = await run_with_stats([0, 1, 2, 5], pipe)
    assert outputs == [1, 2]
    assert (stats["big"].errors, stats["big"].skipped) == (1, 1)


async def test_distinct_passes_the_first_item_of_each_key() -> None:
    """Without a key the item is its own key; with one, the key decides."""

    async def lower(x: str) -> str:
        return x.lower()

    assert await run("abacbd", distinct()) == list("abcd")
    assert await run(["a", "A", "b", "B", "a"], distinct(lower)) == ["a", "b"]
    assert await run(["ab", "ac", "bd"], distinct(lambda s: s[0])) == ["ab", "bd"]


async def test_distinct_forgets_the_least_recently_seen_key_beyond_max_keys() -> None:
    """Memory holds max_keys keys; a repeat refreshes a key; a forgotten key passes again."""
    assert await run("abca", distinct(max_keys=2)) == list("abca")
    assert await run("abaca", distinct(max_keys=2)) == list("abc")
    with pytest.raises(ConfigError, match=r"^distinct: max_keys must be an int >= 1 \(got 0\)"):
        distinct(max_keys=0)


async def test_skip_and_skip_while() -> None:
    """`skip(n)` drops n items; `skip_while` drops until the predicate first fails."""
    calls: list[int] = []

    async def below_three(x: int) -> bool:
        calls.append(x)
        return x < 3

    assert await run(range(5), skip(2)) == [2, 3, 4]
    assert await run(range(2), skip(5)) == []
    assert await run([1, 2, 3, 1, 5], skip_while(lambda x: x < 3)) == [3, 1, 5]
    assert await run([1, 2, 3, 1, 5], skip_while(below_three)) == [3, 1, 5]
    assert calls == [1, 2, 3]
    with pytest.raises(ConfigError, match=r"^skip\(-1\): n must be an int >= 0 \(got -1\)"):
        skip(-1)


async def test_skip_while_error_does_not_end_the_dropping() -> None:
    """A skipped item in skip_while neither passes nor stops the dropping."""

    def check(x: int) -> bool:
        if x == 1:
            raise ValueError(x)
        return x < 3

    assert await run([0, 1, 2, 3, 0], skip_while(check, on_error="skip")) == [3, 0]


async def test_take_passes_n_items_then_ends() -> None:
    """`take(n)` ends the stream after n items, or at the end of a shorter stream."""
    assert await run(range(100), take(3)) == [0, 1, 2]
    assert await run(range(2), take(5)) == [0, 1]
    assert await run(range(5), take(0)) == []
    with pytest.raises(ConfigError, match=r"^take\(-1\): n must be an int >= 0 \(got -1\)"):
        take(-1)


async def test_take_stops_a_busy_endless_upstream_and_tears_it_down() -> None:
    """Upstream of a satisfied take stops at its next send; teardown runs; nothing leaks."""
    pulled = 0

    async def forever() -> AsyncIterator[int]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield i

    hooks = Hooks()
    config = StreamConfig(buffer_size=10)
    with assert_no_leaked_tasks():
        async with AsyncStream(forever(), config).through(hooks >> take(3)) as results:
            assert [r async for r in results] == [0, 1, 2]
    assert hooks.events == ["setup", "teardown"]
    # What the two buffers (10 items each, sent in chunks of 2) and the stages held.
    assert pulled <= 3 + 2 * (10 + 2)


async def test_take_while_stops_at_the_first_failing_item() -> None:
    """The first item failing the predicate is not passed, and the stream ends there."""

    async def small(x: int) -> bool:
        return x < 3

    assert await run(range(100), take_while(lambda x: x < 3)) == [0, 1, 2]
    assert await run(range(100), take_while(small)) == [0, 1, 2]
    assert await run(range(2), take_while(small)) == [0, 1]


async def test_take_and_take_while_count_only_the_items_they_took() -> None:
    """items_in stops at the item that satisfied take or ended take_while, whatever the chunks."""
    outputs, stats = await run_with_stats(range(10), take(3))
    assert outputs == [0, 1, 2]
    assert (stats["take(3)"].items_in, stats["take(3)"].items_out) == (3, 3)
    outputs, stats = await run_with_stats(range(10), take_while(lambda x: x < 3, name="small"))
    assert outputs == [0, 1, 2]
    assert (stats["small"].items_in, stats["small"].items_out) == (4, 3)


async def test_take_while_errors_follow_the_policy() -> None:
    """A raising predicate under "skip" drops the item; under "raise" fails the stream."""
    pred: StreamPipe[int, int] = take_while(lambda x: 10 / (x - 1) < 6, on_error="skip")
    assert await run([0, 1, 3, 2, 9], pred) == [0, 3]
    with pytest.raises(StreamError, match=r"stage 'take_while\(check\)' failed: ValueError"):
        await run([1, 2], take_while(fail_on(2)))


# -- aggregate ----------------------------------------------------------------------------


async def test_reduce_emits_one_value_at_end_of_stream() -> None:
    """`reduce` folds every item and emits once when the stream ends; initial when empty."""

    async def add_slowly(acc: int, x: int) -> int:
        await anyio.sleep(1)
        return acc + x

    timed = await collect_timed(
        AsyncStream(aiter_of([1, 2, 3], 1.0)).through(reduce(operator.add, 0))
    )
    assert timed == [(3.0, 6)]
    assert await run([], reduce(operator.add, 7)) == [7]
    assert await run([1, 2], reduce(add_slowly, 0)) == [3]


async def test_reduce_skips_failed_items_and_flushes_before_an_upstream_failure() -> None:
    """Under "skip" a failed item leaves acc alone; an upstream failure still ends the fold."""

    def add_but_not_two(acc: int, x: int) -> int:
        if x == 2:
            raise ValueError(x)
        return acc + x

    assert await run([1, 2, 3], reduce(add_but_not_two, 0, on_error="skip")) == [4]

    async def broken() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone")

    seen: list[int] = []
    with pytest.raises(StreamError, match="stage 'source' failed: OSError: disk gone"):
        async for r in AsyncStream(broken()).through(reduce(operator.add, 0)):
            seen.append(r)
    assert seen == [3]


# -- combine ------------------------------------------------------------------------------


async def test_merge_interleaves_every_kind_of_source_keeping_each_order() -> None:
    """Lists, async generators, receive streams and AsyncStreams all merge in."""
    send, receive = anyio.create_memory_object_stream[int](10)
    async with send:
        for i in (100, 101):
            await send.send(i)
    out = await run(
        aiter_of([0, 1, 2], 1.0),
        merge([10, 11], aiter_of([20, 21], 0.5), receive, AsyncStream([30, 31]).through(Double())),
    )
    assert sorted(out) == [0, 1, 2, 10, 11, 20, 21, 60, 62, 100, 101]
    for group in ([0, 1, 2], [10, 11], [20, 21], [60, 62], [100, 101]):
        assert [x for x in out if x in group] == group
    assert anyio.current_time() == 3.0


async def test_merge_delivers_items_as_they_arrive() -> None:
    """Items of different sources come out in the order of their arrival times."""
    a = ScriptedSource([(0, "a0"), (2, "a2")])
    b = ScriptedSource([(1, "b1"), (2, "b3")])
    timed = await collect_timed(AsyncStream(a).through(merge(b)))
    assert timed == [(0.0, "a0"), (1.0, "b1"), (2.0, "a2"), (3.0, "b3")]


async def test_merge_source_failure_fails_the_stream_naming_merge() -> None:
    """A source that raises stops the stream; the StreamError names the merge stage."""

    async def broken() -> AsyncIterator[int]:
        yield 1
        raise OSError("gone")

    with pytest.raises(StreamError, match="stage 'merge' failed: OSError: gone") as info:
        await run(endless(), merge(broken()))
    assert isinstance(info.value.__cause__, OSError)
    with pytest.raises(StreamError, match="stage 'merge' failed: TypeError: stage 'merge'"):
        await run([], merge(5))  # type: ignore[arg-type]


async def test_merge_reports_the_first_of_simultaneous_source_failures() -> None:
    """Two sources failing at once give one StreamError for the first."""

    class Broken:
        def __init__(self, message: str) -> None:
            self.message = message

        def __iter__(self) -> Any:
            raise OSError(self.message)

    with pytest.raises(
        StreamError, match=r"^stage 'merge' failed: OSError: (first|second)$"
    ) as info:
        await run([], merge(Broken("first"), Broken("second")))
    assert info.value.others == ()


async def test_zip_pairs_items_and_ends_with_the_shortest_input() -> None:
    """Tuples by position; a shorter other source ends the stream and stops upstream."""
    hooks = Hooks()
    with assert_no_leaked_tasks():
        async with AsyncStream(range(1000)).through(hooks >> zip("abc")) as results:
            assert [r async for r in results] == [(0, "a"), (1, "b"), (2, "c")]
    assert hooks.events == ["setup", "teardown"]
    assert await run([1, 2], zip(endless(), aiter_of("xyz"))) == [(1, 0, "x"), (2, 1, "y")]
    assert anyio.current_time() == 1.0
    with pytest.raises(TypeError, match=r"^zip: needs at least one other source"):
        zip()


async def test_zip_waits_for_the_slower_input() -> None:
    """Each tuple is emitted when its last element has arrived."""
    timed = await collect_timed(
        AsyncStream(aiter_of([1, 2, 3], 1.0)).through(zip(aiter_of("ab", 2.5)))
    )
    assert timed == [(0.0, (1, "a")), (2.5, (2, "b"))]


async def test_zip_latest_combines_the_latest_of_every_input() -> None:
    """A tuple per new item once every input has one; partial=True starts at once."""
    main = ScriptedSource([(0, "a"), (2, "b"), (2, "c")])
    other = ScriptedSource([(1, 1), (2, 2)])
    timed = await collect_timed(AsyncStream(main).through(zip_latest(other)))
    assert timed == [(1.0, ("a", 1)), (2.0, ("b", 1)), (3.0, ("b", 2)), (4.0, ("c", 2))]
    main = ScriptedSource([(0, "a"), (2, "b")])
    other = ScriptedSource([(1, 1)])
    out = await run(main, zip_latest(other, partial=True, default="-"))
    assert out == [("a", "-"), ("a", 1), ("b", 1)]
    with pytest.raises(TypeError, match=r"^zip_latest: needs at least one other source"):
        zip_latest()


# -- fan-out ------------------------------------------------------------------------------


async def test_broadcast_sends_every_item_through_every_branch() -> None:
    """Each branch sees every item in order; the outputs of all branches are merged."""
    first, second = Hooks("first"), Hooks("second")
    out = await run(range(5), broadcast(first >> Double(), second >> Inc()))
    assert sorted(out) == sorted([0, 2, 4, 6, 8, 1, 2, 3, 4, 5])
    assert [x for x in out if x % 2 and x < 6 and x not in (2, 4)] == [1, 3, 5]
    assert first.events == second.events == ["setup", "teardown"]
    with pytest.raises(TypeError, match=r"^broadcast: needs at least one branch pipe"):
        broadcast()


async def test_a_slow_broadcast_branch_holds_the_source_back() -> None:
    """With small buffers, the source is read at the pace of the slowest branch."""
    pulled_at: list[float] = []

    async def source() -> AsyncIterator[int]:
        for i in range(20):
            pulled_at.append(anyio.current_time())
            yield i

    class Slow(AsyncBasePipe[int, int]):
        async def process(self, data: int) -> int:
            await anyio.sleep(1)
            return data

    small = BackpressureConfig(max_buffer_size=1)
    out = await run(source(), broadcast(Slow(), Inc(), config=small) >> buffer(1))
    assert sorted(out) == sorted([*range(20), *range(1, 21)])
    assert anyio.current_time() == 20.0
    assert pulled_at[-1] >= 10.0


async def test_a_branch_that_stops_reading_gets_no_more_items() -> None:
    """A `take` branch ends early while the other branch sees every item."""
    out = await run(range(10), broadcast(take(2), map(operator.neg)))
    assert sorted(out) == sorted([0, 1, *(-x for x in range(10))])
    small = BackpressureConfig(max_buffer_size=1)
    out = await run(aiter_of(range(20), 0.25), broadcast(take(2), map(operator.neg), config=small))
    assert sorted(out) == sorted([0, 1, *(-x for x in range(20))])


async def test_a_failing_branch_reports_its_own_pipe() -> None:
    """The StreamError names the pipe inside the branch and its item."""
    with pytest.raises(StreamError, match="stage 'FailOn' failed: ValueError: bad item 3") as info:
        await run(range(10), broadcast(Inc(), FailOn([3])))
    assert info.value.item == 3


async def test_tee_copies_to_every_kind_of_sink_and_passes_items_on() -> None:
    """Lists, sync and async callables and send streams get copies; send streams close."""
    kept: list[int] = []
    called: list[int] = []

    async def record(x: int) -> None:
        called.append(x)

    send, receive = anyio.create_memory_object_stream[int](10)
    assert await run(range(3), tee(kept, called.append, record, send)) == [0, 1, 2]
    assert kept == [0, 1, 2]
    assert called == [0, 0, 1, 1, 2, 2]
    async with receive:
        assert [x async for x in receive] == [0, 1, 2]


async def test_tee_waits_for_a_full_send_stream() -> None:
    """A send stream with no room holds the stream back until its reader takes the item."""
    send, receive = anyio.create_memory_object_stream[int](0)
    taken: list[tuple[float, int]] = []

    async def reader() -> None:
        async with receive:
            async for x in receive:
                taken.append((anyio.current_time(), x))
                await anyio.sleep(1)

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        timed = await collect_timed(AsyncStream(range(3)).through(tee(send)))
    assert [t for t, _ in timed] == [0.0, 1.0, 2.0]
    assert taken == [(0.0, 0), (1.0, 1), (2.0, 2)]


async def test_tee_sink_errors_follow_the_policy_and_close_send_streams() -> None:
    """A failing sink under "skip" drops the item; under "raise" the stream fails."""

    def picky(x: int) -> None:
        if x == 1:
            raise ValueError("no ones")

    assert await run(range(3), tee(picky, on_error="skip")) == [0, 2]
    send, receive = anyio.create_memory_object_stream[int](10)
    with pytest.raises(StreamError, match="stage 'tee' failed: ValueError: no ones") as info:
        await run(range(3), tee(send, picky))
    assert info.value.item == 1
    async with receive:
        assert [x async for x in receive] == [0, 1]


async def test_tee_retries_only_the_sinks_that_have_not_taken_the_item() -> None:
    """A retry after a failing sink does not hand the item again to the sinks before it."""
    audit: list[int] = []
    tries: list[int] = []

    def flaky(x: int) -> None:
        tries.append(x)
        if x == 1 and tries.count(1) < 3:
            raise ConnectionError("busy")

    pipe: StreamPipe[int, int] = tee(audit, flaky, retry=RetryConfig(attempts=3))
    assert await run(range(3), pipe) == [0, 1, 2]
    assert audit == [0, 1, 2]
    assert tries == [0, 1, 1, 1, 2]


async def test_branch_diverts_matching_items_to_the_sink() -> None:
    """Matching items go to the sink and not downstream; the others continue."""
    send, receive = anyio.create_memory_object_stream[int](10)

    async def negative(x: int) -> bool:
        return x < 0

    assert await run([1, -1, 2, -2], branch(negative, send)) == [1, 2]
    async with receive:
        assert [x async for x in receive] == [-1, -2]
    odd: list[int] = []
    assert await run(range(5), branch(lambda x: x % 2, odd)) == [0, 2, 4]
    assert odd == [1, 3]
    assert await run([1, 0, 2], branch(lambda x: 1 // x, odd, on_error="skip")) == [2]
    assert odd == [1, 3, 1]


async def test_partition_routes_each_item_to_one_branch() -> None:
    """True items go through if_true, the others through if_false or unchanged."""
    out = await run(range(6), partition(lambda x: x % 2, Double(), Inc()))
    assert sorted(out) == [1, 2, 3, 5, 6, 10]
    out = await run(range(4), partition(lambda x: x > 1, map(operator.neg)))
    assert ([x for x in out if x >= 0], [x for x in out if x < 0]) == ([0, 1], [-2, -3])


async def test_partition_predicate_errors_and_branch_failures() -> None:
    """A raising predicate follows the policy; a failing branch names its pipe."""
    out = await run(range(4), partition(lambda x: 1 / (x - 2), Inc(), on_error="skip"))
    assert sorted(out) == [1, 2, 4]
    with pytest.raises(StreamError, match="stage 'FailOn' failed"):
        await run(range(4), partition(lambda x: x > 1, FailOn([3])))


async def test_group_by_runs_a_fresh_pipe_per_key() -> None:
    """Each key's items go through their own pipe, which flushes at end of stream."""
    made: list[int] = []

    def per_key(key: int) -> StreamPipe[int, int]:
        made.append(key)
        return reduce(operator.add, 0)

    out = await run(range(9), group_by(lambda x: x % 3, per_key))
    assert sorted(out) == [9, 12, 15]
    assert made == [0, 1, 2]


async def test_group_by_keeps_each_key_in_order_with_an_async_key() -> None:
    """Items of one key reach its pipe in stream order."""

    async def first_letter(word: str) -> str:
        return word[0]

    words = ["apple", "bean", "avocado", "banana", "apricot"]
    out = await run(words, group_by(first_letter, lambda _k: scan(lambda acc, w: [*acc, w], [])))
    assert [o for o in out if o[0][0] == "a"] == [
        ["apple"],
        ["apple", "avocado"],
        ["apple", "avocado", "apricot"],
    ]
    assert [o for o in out if o[0][0] == "b"] == [["bean"], ["bean", "banana"]]


async def test_group_by_closes_the_least_recently_used_group_beyond_max_groups() -> None:
    """Opening one group too many ends (and so flushes) the oldest one."""
    out = await run(
        range(6), group_by(lambda x: x % 3, lambda _k: reduce(operator.add, 0), max_groups=2)
    )
    assert sorted(out) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ConfigError, match=r"max_groups must be an int >= 1 \(got 0\)"):
        group_by(lambda x: x, lambda _k: Inc(), max_groups=0)


async def test_group_by_runs_at_most_max_groups_at_once_under_a_slow_consumer() -> None:
    """A closed group drains before the next opens: group tasks never exceed max_groups."""

    def group_tasks() -> int:
        names = [task.name or "" for task in anyio.get_running_tasks()]
        return len([name for name in names if name.startswith("by_key[")])

    most = 0
    outputs: list[int] = []
    pipe = group_by(lambda x: x, lambda _k: Inc(), max_groups=2, name="by_key")
    async with AsyncStream(range(100), StreamConfig(buffer_size=4)).through(pipe) as results:
        async for out in results:
            outputs.append(out)
            most = max(most, group_tasks())
            await anyio.sleep(1)
    assert sorted(outputs) == list(range(1, 101))
    assert most == 2


async def test_group_by_key_errors_follow_the_policy() -> None:
    """A raising key function under "dead_letter" sends the item to the sink."""
    letters: list[DeadLetter] = []
    pipe = group_by(
        lambda x: 10 // x, lambda _k: Inc(), on_error="dead_letter", dead_letter=letters
    )
    assert sorted(await run([0, 1, 2], pipe)) == [2, 3]
    assert [(d.item, d.stage) for d in letters] == [(0, "group_by(<lambda>)")]


# -- time ---------------------------------------------------------------------------------


async def test_throttle_delays_to_the_rate_after_a_burst() -> None:
    """2 per second, burst 2: two at once, then one every half second; nothing dropped."""
    timed = await collect_timed(AsyncStream(range(6)).through(throttle(2, per=1.0)))
    assert timed == [(0.0, 0), (0.0, 1), (0.5, 2), (1.0, 3), (1.5, 4), (2.0, 5)]
    timed = await collect_timed(AsyncStream(range(3)).through(throttle(4, burst=1)))
    assert [t for t, _ in timed] == [0.0, 0.25, 0.5]


async def test_throttle_lets_items_through_at_once_after_a_quiet_spell() -> None:
    """Budget accumulates while the source is idle, up to the burst."""
    source = ScriptedSource([(0, 0), (0, 1), (0, 2), (5, 3), (0, 4), (0, 5)])
    timed = await collect_timed(AsyncStream(source).through(throttle(1, per=1.0, burst=2)))
    assert timed == [(0.0, 0), (0.0, 1), (1.0, 2), (5.0, 3), (5.0, 4), (6.0, 5)]


async def test_rate_limit_drops_items_over_budget_and_counts_them() -> None:
    """Items over the rate are dropped at once and counted in `dropped`."""
    source = ScriptedSource.spaced(range(5), 0.25)
    outputs, stats = await run_with_stats(source, rate_limit(2, per=1.0, burst=1))
    assert outputs == [0, 2, 4]
    assert (stats["rate_limit(2)"].dropped, stats["rate_limit(2)"].items_out) == (2, 3)
    assert await run(range(10), rate_limit(3)) == [0, 1, 2]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: throttle(0), r"^throttle\(0\): rate must be a number > 0 \(got 0\)"),
        (lambda: throttle(1, per=-1), r"per must be a finite number of seconds > 0 .*\(got -1\)"),
        (lambda: rate_limit(1, burst=0), r"^rate_limit\(1\): burst must be an int >= 1"),
        (lambda: debounce(0), r"^debounce\(0\): interval must be a finite number of seconds > 0"),
        (lambda: delay(-0.5), r"^delay\(-0.5\): seconds must be a finite number of seconds >= 0"),
        (lambda: throttle(1e-320), r"rate must be a finite number > 0"),
        (lambda: throttle(math.inf), r"^throttle\(inf\): rate must be a finite number > 0"),
        (lambda: rate_limit(10**400), r"^rate_limit\(1000.*\): rate must be a finite number"),
        (lambda: buffer(-1), r"^buffer\(-1\): n must be an int >= 0 \(got -1\)$"),
        (
            lambda: buffer(2, overflow="fifo"),  # type: ignore[arg-type]
            r"^buffer\(2\): overflow: must be one of 'block'",
        ),
    ],
)
def test_time_operators_check_their_settings(make: Callable[[], Any], message: str) -> None:
    """Bad rates and durations are ConfigErrors naming the operator and the field."""
    with pytest.raises(ConfigError, match=message):
        make()


async def test_debounce_emits_after_a_quiet_spell_and_flushes_at_end() -> None:
    """Bursts collapse to their last item, emitted on a timer; the end flushes at once."""
    source = ScriptedSource([(0, "a"), (0.5, "b"), (0.5, "c"), (2, "d")], end_delay=5)
    outputs, stats = await run_with_stats(source, debounce(1.0))
    assert outputs == ["c", "d"]
    assert stats["debounce(1.0)"].dropped == 2
    source = ScriptedSource([(0, "a"), (0.5, "b"), (0.5, "c"), (2, "d")])
    timed = await collect_timed(AsyncStream(source).through(debounce(1.0)))
    assert timed == [(2.0, "c"), (3.0, "d")]


async def test_delay_shifts_items_in_time_and_drains_at_end() -> None:
    """Each item comes out `seconds` after it went in, the last one after the source ended."""
    timed = await collect_timed(AsyncStream(aiter_of([0, 1, 2], 1.0)).through(delay(0.5)))
    assert timed == [(0.5, 0), (1.5, 1), (2.5, 2)]


async def test_delay_holds_no_more_than_its_buffer() -> None:
    """With a buffer of 2 it stops reading while 2 items wait, so memory stays bounded."""
    pulled_at: list[float] = []

    async def source() -> AsyncIterator[int]:
        for i in range(10):
            pulled_at.append(anyio.current_time())
            yield i

    small = BackpressureConfig(max_buffer_size=2)
    timed = await collect_timed(AsyncStream(source()).through(delay(10, config=small)))
    assert [t for t, _ in timed] == [10.0, 10.0, 20.0, 20.0, 30.0, 30.0, 40.0, 40.0, 50.0, 50.0]
    # Two items held, two in its buffer, one in the source's hand: then one pull per output.
    assert pulled_at == [0.0] * 5 + [10.0, 10.0, 20.0, 20.0, 30.0]


async def test_buffer_passes_items_through_its_own_buffer() -> None:
    """`buffer(n)` is a stage with an input buffer of n items and the given overflow."""
    plan = Plan.build([(buffer(7, overflow="drop_oldest"), policy_of(None))], None)
    (stage,) = plan.stages
    assert (stage.name, stage.backpressure) == (
        "buffer(7)",
        BackpressureConfig(max_buffer_size=7, overflow="drop_oldest"),
    )
    assert await run(range(100), buffer(3)) == list(range(100))


# -- composition, sync front, cancellation ------------------------------------------------


def test_operators_compose_with_pipes_and_type_check() -> None:
    """`>>` with operators gives a StreamPipeline with the right item types."""
    pipeline: StreamPipeline[int, str] = Double() >> map(str) >> filter(str.isdigit)
    assert [p.name for p in pipeline.pipes] == ["Double", "map(str)", "filter(isdigit)"]
    pairs: StreamPipeline[int, tuple[int, int]] = Double() >> key_by(lambda x: x % 2)
    assert len(pairs.pipes) == 2


def test_sync_stream_runs_operators() -> None:
    """SyncStream runs fused operators inline and stage operators on its loop."""
    texts = SyncStream(range(10)).through(map(str)).through(filter(lambda s: s != "3"))
    assert list(texts) == ["0", "1", "2", "4", "5", "6", "7", "8", "9"]
    assert list(SyncStream(range(10)).through(skip(2)).through(take(3))) == [2, 3, 4]
    assert list(SyncStream(range(4)).through(delay(0.01)).through(reduce(operator.add, 0))) == [6]


def ops() -> list[tuple[str, Callable[[], Any]]]:
    """One instance of every operator, for the cancellation test."""

    async def slow(x: int) -> int:
        await anyio.sleep(0.5)
        return x

    return [
        ("map", lambda: map(slow)),
        ("map concurrent", lambda: map(slow, concurrency=3)),
        ("flat_map", lambda: flat_map(lambda x: [x, x])),
        ("filter", lambda: filter(lambda x: True)),
        ("scan", lambda: scan(operator.add, 0)),
        ("key_by", lambda: key_by(lambda x: x)),
        ("distinct", lambda: distinct()),
        ("skip", lambda: skip(1)),
        ("skip_while", lambda: skip_while(lambda x: x < 1)),
        ("take", lambda: take(1000)),
        ("take_while", lambda: take_while(lambda x: True)),
        ("reduce", lambda: reduce(operator.add, 0)),
        ("merge", lambda: merge(endless(0.5))),
        ("zip", lambda: zip(endless(0.5))),
        ("zip_latest", lambda: zip_latest(endless(0.5))),
        ("broadcast", lambda: broadcast(Inc(), map(slow))),
        ("tee", lambda: tee([])),
        ("branch", lambda: branch(lambda x: x % 2, [])),
        ("partition", lambda: partition(lambda x: x % 2, map(slow))),
        ("group_by", lambda: group_by(lambda x: x % 2, lambda _k: map(slow))),
        ("throttle", lambda: throttle(1, per=2.0)),
        ("rate_limit", lambda: rate_limit(1)),
        ("debounce", lambda: debounce(0.5)),
        ("delay", lambda: delay(0.75)),
        ("buffer", lambda: buffer(2)),
    ]


@pytest.mark.parametrize(("name", "make"), ops(), ids=[name for name, _ in ops()])
async def test_outside_cancellation_stops_every_operator(
    name: str, make: Callable[[], Any]
) -> None:
    """`move_on_after` around the loop stops the operator at the deadline; no task leaks."""
    hooks = Hooks()
    with assert_no_leaked_tasks():
        with anyio.move_on_after(2.5):
            async with AsyncStream(endless()).through(hooks >> make()) as results:
                async for _ in results:
                    pass
    assert anyio.current_time() == 2.5
    assert hooks.events == ["setup", "teardown"]


async def test_take_over_an_idle_source_ends_when_satisfied() -> None:
    """take(3) over a source yielding one item a second ends at t == 2.0, not at a chunk."""
    from rivusio.testing import ScriptedSource

    source = ScriptedSource.spaced(range(1000), 1.0)
    results = [r async for r in AsyncStream(source).through(take(3))]
    assert results == [0, 1, 2]
    assert anyio.current_time() == 2.0


# -- errors of the combining, keyed and time operators --------------------------------------


async def broken_after_three() -> AsyncIterator[int]:
    """1, 2, 3 at 0, 1 and 2 seconds, then OSError('disk gone') at 3 seconds."""
    for i in (1, 2, 3):
        yield i
        await anyio.sleep(1)
    raise OSError("disk gone")


async def timed_until_failure(source: Any, pipe: Any) -> tuple[list[Any], StreamError]:
    """The (time, output) pairs received before the StreamError, and the error."""
    received: list[tuple[float, Any]] = []
    with pytest.raises(StreamError) as info:
        async for out in AsyncStream(source).through(pipe):
            received.append((anyio.current_time(), out))
    return received, info.value


@pytest.mark.parametrize(
    ("make", "expected", "diverted"),
    [
        pytest.param(
            lambda _sink: zip([10, 20, 30, 40]),
            [(0.0, (1, 10)), (1.0, (2, 20)), (2.0, (3, 30))],
            [],
            id="zip",
        ),
        pytest.param(
            lambda _sink: zip_latest(ScriptedSource([(0.5, "a")])),
            [(0.5, (1, "a")), (1.0, (2, "a")), (2.0, (3, "a"))],
            [],
            id="zip_latest",
        ),
        pytest.param(
            lambda _sink: key_by(lambda x: x % 2),
            [(0.0, (1, 1)), (1.0, (0, 2)), (2.0, (1, 3))],
            [],
            id="key_by",
        ),
        pytest.param(
            lambda _sink: distinct(lambda x: x % 2), [(0.0, 1), (1.0, 2)], [], id="distinct"
        ),
        pytest.param(
            lambda sink: branch(lambda x: x == 2, sink), [(0.0, 1), (2.0, 3)], [2], id="branch"
        ),
        # Items already received still pass at the paced rate, after the failure.
        pytest.param(
            lambda _sink: throttle(1, per=2.0, burst=1),
            [(0.0, 1), (2.0, 2), (4.0, 3)],
            [],
            id="throttle",
        ),
        pytest.param(
            lambda _sink: rate_limit(1, per=1.5, burst=1),
            [(0.0, 1), (2.0, 3)],
            [],
            id="rate_limit",
        ),
        # The end of the stream flushes the waiting item at once.
        pytest.param(lambda _sink: debounce(5), [(3.0, 3)], [], id="debounce"),
        pytest.param(lambda _sink: delay(2), [(2.0, 1), (3.0, 2), (4.0, 3)], [], id="delay"),
        pytest.param(lambda _sink: buffer(2), [(0.0, 1), (1.0, 2), (2.0, 3)], [], id="buffer"),
    ],
)
async def test_source_failure_through_an_operator_delivers_what_came_before(
    make: Callable[[list[int]], Any], expected: list[tuple[float, Any]], diverted: list[int]
) -> None:
    """A failing source is a StreamError for 'source' after every output that precedes it."""
    sink: list[int] = []
    received, error = await timed_until_failure(broken_after_three(), make(sink))
    assert received == expected
    assert sink == diverted
    assert (error.stage, error.item, str(error)) == (
        "source",
        None,
        "stage 'source' failed: OSError: disk gone",
    )
    assert isinstance(error.__cause__, OSError)


def is_even(x: int) -> bool:
    """A named predicate, so that the stage name is known."""
    return x % 2 == 0


@pytest.mark.parametrize(
    ("make", "stage", "before", "diverted_before", "skipped", "diverted_skipped"),
    [
        pytest.param(
            lambda sink, on_error: key_by(fail_on(2), on_error=on_error),
            "key_by(check)",
            [(0, 0), (1, 1)],
            [],
            [(0, 0), (1, 1), (1, 1), (3, 3), (0, 0)],
            [],
            id="key_by",
        ),
        pytest.param(
            lambda sink, on_error: distinct(fail_on(2), on_error=on_error),
            "distinct(check)",
            [0, 1],
            [],
            [0, 1, 3],
            [],
            id="distinct",
        ),
        pytest.param(
            lambda sink, on_error: branch(fail_on(2), sink, on_error=on_error),
            "branch(check)",
            [0],
            [1],
            [0, 0],
            [1, 1, 3],
            id="branch-pred",
        ),
        pytest.param(
            lambda sink, on_error: branch(is_even, fail_on(2), on_error=on_error),
            "branch(is_even)",
            [1],
            [],
            [1, 1, 3],
            [],
            id="branch-sink",
        ),
    ],
)
async def test_operator_function_failure_names_the_stage_and_skip_drops_only_that_item(
    make: Callable[[list[int], str], Any],
    stage: str,
    before: list[Any],
    diverted_before: list[int],
    skipped: list[Any],
    diverted_skipped: list[int],
) -> None:
    """A raising function fails the stream naming the operator; "skip" loses only its item."""
    items = [0, 1, 2, 1, 3, 0]
    sink: list[int] = []
    seen: list[Any] = []
    with pytest.raises(StreamError) as info:
        async for out in AsyncStream(items).through(make(sink, "raise")):
            seen.append(out)
    assert (seen, sink) == (before, diverted_before)
    assert (info.value.stage, info.value.item, str(info.value)) == (
        stage,
        2,
        f"stage '{stage}' failed: ValueError: bad 2",
    )
    sink.clear()
    assert await run(items, make(sink, "skip")) == skipped
    assert sink == diverted_skipped


@pytest.mark.parametrize(
    ("stream", "make", "stage", "expected"),
    [
        pytest.param(
            range(10),
            lambda: zip(broken_after_three()),
            "zip",
            [(0.0, (0, 1)), (1.0, (1, 2)), (2.0, (2, 3))],
            id="zip",
        ),
        pytest.param(
            range(10),
            lambda: zip(broken_after_three(), name="pair"),
            "pair",
            [(0.0, (0, 1)), (1.0, (1, 2)), (2.0, (2, 3))],
            id="zip-named",
        ),
        pytest.param(
            ScriptedSource([(0.5, "a")]),
            lambda: zip_latest(broken_after_three()),
            "zip_latest",
            [(0.5, ("a", 1)), (1.0, ("a", 2)), (2.0, ("a", 3))],
            id="zip_latest",
        ),
    ],
)
async def test_failing_other_source_of_zip_names_the_zip_stage(
    stream: Any, make: Callable[[], Any], stage: str, expected: list[tuple[float, Any]]
) -> None:
    """Another source that raises fails the stream naming the zip stage, after its outputs."""
    received, error = await timed_until_failure(stream, make())
    assert received == expected
    assert (error.stage, error.item, str(error)) == (
        stage,
        None,
        f"stage '{stage}' failed: OSError: disk gone",
    )
    assert isinstance(error.__cause__, OSError)
    assert anyio.current_time() == 3.0


@pytest.mark.parametrize("combine", ["merge", "zip_latest"])
async def test_source_failure_is_not_hidden_by_an_endless_second_input(combine: str) -> None:
    """merge/zip_latest with an endless other input still let the source's failure out."""

    async def broken() -> AsyncIterator[int]:
        yield 1
        raise OSError("disk gone")

    operator_stage = merge(endless()) if combine == "merge" else zip_latest(endless())
    with anyio.fail_after(10), pytest.raises(StreamError, match="stage 'source' failed: OSError"):
        async for _ in AsyncStream(broken()).through(operator_stage):
            pass
