"""WindowedStreamPipe on virtual time: every kind, idle timers, event time, late data, keys."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivusio import (
    AsyncStream,
    BackpressureConfig,
    ConfigError,
    DeadLetter,
    RetryConfig,
    StreamError,
)
from rivusio.runtime._plan import Plan
from rivusio.runtime._policy import Policy
from rivusio.runtime._runner import Runner
from rivusio.streams import WindowedStreamPipe, WindowResult
from rivusio.streams._window import _WindowStage
from rivusio.testing import ScriptedSource, collect_timed
from tests.strategies import eighths, positive_eighths

if TYPE_CHECKING:
    from collections.abc import AsyncIterable

Timed = list[tuple[float, Any]]


def windows(*args: Any, **options: Any) -> WindowedStreamPipe[Any, Any]:
    """A window stage with the given options."""
    return WindowedStreamPipe(*args, **options)


async def run(pipe: WindowedStreamPipe[Any, Any], source: AsyncIterable[Any] | Any) -> Timed:
    """Run *pipe* over *source*; return (emission time, output) pairs."""
    return await collect_timed(AsyncStream(source).through(pipe))


def stage_of(pipe: WindowedStreamPipe[Any, Any]) -> _WindowStage:
    """The stage the planner makes of *pipe*."""
    (stage,) = pipe.plan_units(Policy())
    assert isinstance(stage, _WindowStage)
    return stage


class Recording(WindowedStreamPipe[int, list[int]]):
    """Records every window handed to process_window; fails on windows holding a bad item."""

    def __init__(self, window_size: Any, bad: tuple[int, ...] = (), **options: Any) -> None:
        super().__init__(window_size, **options)
        self.calls: list[list[int]] = []
        self.bad = bad

    async def process_window(self, window: list[int]) -> list[int]:
        self.calls.append(list(window))
        for item in window:
            if item in self.bad:
                raise ValueError(f"bad item {item}")
        return window


# --- count windows -----------------------------------------------------------------------------


async def test_count_tumbling_windows_and_the_partial_last_one() -> None:
    """Every window_size items form a window; the partial last window is flushed at the end."""
    source = ScriptedSource([(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (0, 6)])
    assert await run(windows(3), source) == [(0.0, [0, 1, 2]), (1.0, [3, 4, 5]), (1.0, [6])]


async def test_count_sliding_windows_are_every_full_window() -> None:
    """After window_size items, a window every slide items; partials only when asked."""
    assert [w async for w in AsyncStream(range(8)).through(windows(3, slide=2))] == [
        [0, 1, 2],
        [2, 3, 4],
        [4, 5, 6],
    ]
    partial = windows(3, slide=2, emit_partial=True)
    assert [w async for w in AsyncStream(range(8)).through(partial)] == [
        [0, 1, 2],
        [2, 3, 4],
        [4, 5, 6],
        [6, 7],
    ]


async def test_count_window_metadata_are_positions() -> None:
    """For count windows, start and end are positions among the stage's items."""
    pipe = windows(2, slide=1, with_metadata=True)
    assert [w async for w in AsyncStream("abcd").through(pipe)] == [
        WindowResult(None, 0, 2, ["a", "b"]),
        WindowResult(None, 1, 3, ["b", "c"]),
        WindowResult(None, 2, 4, ["c", "d"]),
    ]


async def test_keyed_count_windows_close_per_key() -> None:
    """With key=, each key fills its own windows; the open ones are flushed at the end."""
    pipe = windows(2, key=lambda x: x % 2, with_metadata=True)
    assert [w async for w in AsyncStream(range(7)).through(pipe)] == [
        WindowResult(0, 0, 3, [0, 2]),
        WindowResult(1, 1, 4, [1, 3]),
        WindowResult(0, 4, 7, [4, 6]),
        WindowResult(1, 5, 6, [5]),
    ]


# --- processing-time windows -------------------------------------------------------------------


async def test_the_window_closes_at_its_end_while_the_source_is_idle() -> None:
    """3 items, 1 s of silence, 3 more: the first 0.2 s window is emitted at exactly 0.2."""
    source = ScriptedSource([(0, 1), (0, 2), (0, 3), (1, 4), (0, 5), (0, 6)])
    assert await run(windows(0.2), source) == [(0.2, [1, 2, 3]), (1.0, [4, 5, 6])]


async def test_time_tumbling_windows_on_a_grid_from_the_first_item() -> None:
    """Windows [start, end) back to back from the first item; empty ones are skipped."""
    source = ScriptedSource(
        [(0.375, "a"), (0.25, "b"), (0.5, "c"), (1.0, "d"), (0.375, "e")], end_delay=5
    )
    assert await run(windows(timedelta(seconds=0.5), with_metadata=True), source) == [
        (0.875, WindowResult(None, 0.375, 0.875, ["a", "b"])),
        (1.375, WindowResult(None, 0.875, 1.375, ["c"])),
        (2.375, WindowResult(None, 1.875, 2.375, ["d"])),
        (2.875, WindowResult(None, 2.375, 2.875, ["e"])),
    ]


async def test_align_to_fixes_the_grid() -> None:
    """align_to puts window starts at align_to + k * window_size on the loop clock."""
    source = ScriptedSource([(0.375, "a"), (0.25, "b")], end_delay=5)
    assert await run(windows(0.5, align_to=0.0, with_metadata=True), source) == [
        (0.5, WindowResult(None, 0.0, 0.5, ["a"])),
        (1.0, WindowResult(None, 0.5, 1.0, ["b"])),
    ]


async def test_open_time_window_is_flushed_at_end_of_stream() -> None:
    """The window still open when the source ends is emitted then, not at its end."""
    source = ScriptedSource([(0, "a"), (0.25, "b")], end_delay=0.5)
    assert await run(windows(10.0), source) == [(0.75, ["a", "b"])]


async def test_emit_empty_emits_every_window_up_to_the_last_item() -> None:
    """With emit_empty=True the windows with no items come out too, each at its end."""
    source = ScriptedSource([(0, "a"), (1.75, "b")])
    assert await run(windows(0.5, emit_empty=True), source) == [
        (0.5, ["a"]),
        (1.0, []),
        (1.5, []),
        (1.75, ["b"]),
    ]


async def test_time_sliding_windows_hop_by_slide() -> None:
    """A window_size window every slide: an item lies in window_size / slide windows."""
    source = ScriptedSource([(0.25, "a"), (0.5, "b"), (0.5, "c")], end_delay=5)
    pipe = windows(1.0, slide=0.5, align_to=0.0, with_metadata=True)
    assert await run(pipe, source) == [
        (0.5, WindowResult(None, -0.5, 0.5, ["a"])),
        (1.0, WindowResult(None, 0.0, 1.0, ["a", "b"])),
        (1.5, WindowResult(None, 0.5, 1.5, ["b", "c"])),
        (2.0, WindowResult(None, 1.0, 2.0, ["c"])),
    ]


async def test_partial_sliding_windows_are_flushed_only_with_emit_partial() -> None:
    """At end of stream the still-open sliding windows are dropped unless emit_partial."""
    script = [(0.25, "a"), (0.5, "b"), (0.5, "c")]
    assert await run(windows(1.0, slide=0.5, align_to=0.0), ScriptedSource(script)) == [
        (0.5, ["a"]),
        (1.0, ["a", "b"]),
    ]
    # align_to is a time on the loop clock, which the first run moved on to 1.25.
    partial = windows(1.0, slide=0.5, align_to=1.25, emit_partial=True)
    assert await run(partial, ScriptedSource(script)) == [
        (0.5, ["a"]),
        (1.0, ["a", "b"]),
        (1.25, ["b", "c"]),
        (1.25, ["c"]),
    ]


async def test_session_windows_close_a_gap_after_the_last_item() -> None:
    """A session holds items less than session_gap apart and closes gap after its last."""
    source = ScriptedSource(
        [(0, "a"), (0.25, "b"), (0.25, "c"), (1.5, "d"), (0.25, "e")], end_delay=5
    )
    pipe = windows(session_gap=timedelta(seconds=0.5), with_metadata=True)
    assert await run(pipe, source) == [
        (1.0, WindowResult(None, 0.0, 1.0, ["a", "b", "c"])),
        (2.75, WindowResult(None, 2.0, 2.75, ["d", "e"])),
    ]


async def test_open_session_is_flushed_at_end_of_stream() -> None:
    """A session still open when the source ends is emitted at the end."""
    source = ScriptedSource([(0, "a"), (0.25, "b")])
    assert await run(windows(session_gap=1.0), source) == [(0.25, ["a", "b"])]


async def test_keyed_sessions_close_independently() -> None:
    """Each key's session closes on its own timer."""
    script = [(0, ("A", 1)), (0.25, ("B", 2)), (0.125, ("A", 3)), (0.25, ("B", 4))]
    pipe = windows(session_gap=0.5, key=lambda e: e[0], with_metadata=True)
    assert await run(pipe, ScriptedSource(script, end_delay=5)) == [
        (0.875, WindowResult("A", 0.0, 0.875, [("A", 1), ("A", 3)])),
        (1.125, WindowResult("B", 0.25, 1.125, [("B", 2), ("B", 4)])),
    ]


async def test_keyed_time_windows_share_the_grid_and_close_per_key() -> None:
    """Keys share one grid; a window of each key closes at its end, by end then key."""
    script = [(0, ("x", 1)), (0.125, ("y", 2)), (0.5, ("y", 3))]
    pipe = windows(0.5, key=lambda e: e[0], with_metadata=True)
    assert await run(pipe, ScriptedSource(script, end_delay=5)) == [
        (0.5, WindowResult("x", 0.0, 0.5, [("x", 1)])),
        (0.5, WindowResult("y", 0.0, 0.5, [("y", 2)])),
        (1.0, WindowResult("y", 0.5, 1.0, [("y", 3)])),
    ]


# --- event time --------------------------------------------------------------------------------


def event(name: str, ts: float) -> tuple[str, float]:
    """An event named *name* at event time *ts*."""
    return (name, ts)


async def test_event_time_watermark_advances_while_idle_and_late_items_go_aside() -> None:
    """The watermark moves with the clock when idle; a late item joins no closed window."""
    late: list[Any] = []
    script = [
        (0, event("a", 100.0)),
        (0, event("b", 105.0)),
        (8, event("c", 104.0)),
        (0, event("d", 112.0)),
    ]
    pipe = windows(
        10.0,
        timestamp=lambda e: e[1],
        allowed_lateness=2.0,
        on_late=late,
        with_metadata=True,
    )
    stream = AsyncStream(ScriptedSource(script, end_delay=20)).through(pipe)
    assert await collect_timed(stream) == [
        # watermark = now + (105 - 0) - 2 reaches 110 at now = 7, with no item arriving.
        (7.0, WindowResult(None, 100.0, 110.0, [event("a", 100.0), event("b", 105.0)])),
        (17.0, WindowResult(None, 110.0, 120.0, [event("d", 112.0)])),
    ]
    assert late == [event("c", 104.0)]
    metrics = stream.metrics_dict()["metrics"]
    assert (metrics["items_in"], metrics["items_out"], metrics["late"]) == (4, 2, 1)


async def test_late_items_without_a_sink_are_counted() -> None:
    """Without on_late, late items are counted under 'late' and dropped."""
    script = [(0, event("a", 10.0)), (1, event("b", 0.5))]
    stream = AsyncStream(ScriptedSource(script)).through(windows(1.0, timestamp=lambda e: e[1]))
    # [10, 11) closes when the watermark, 10 + now, reaches 11: as "b" arrives, too late.
    assert await collect_timed(stream) == [(1.0, [event("a", 10.0)])]
    assert stream.metrics_dict()["metrics"]["late"] == 1


async def test_late_items_to_a_send_stream_and_to_callables() -> None:
    """on_late takes an anyio send stream, a sync callable or an async callable."""
    script = [(0, event("a", 10.0)), (0, event("b", 1.0)), (0, event("c", 2.0))]
    send, receive = anyio.create_memory_object_stream[Any](5)
    async with send:
        pipe = windows(1.0, timestamp=lambda e: e[1], on_late=send)
        assert await run(pipe, ScriptedSource(script)) == [(0.0, [event("a", 10.0)])]
    async with receive:
        assert [e async for e in receive] == [event("b", 1.0), event("c", 2.0)]

    seen: list[Any] = []

    async def remember(item: Any) -> None:
        await anyio.sleep(1)
        seen.append(item)

    for sink in (seen.append, remember):
        seen.clear()
        pipe = windows(1.0, timestamp=lambda e: e[1], on_late=sink)
        assert [r async for r in AsyncStream(ScriptedSource(script)).through(pipe)] == [
            [event("a", 10.0)]
        ]
        assert seen == [event("b", 1.0), event("c", 2.0)]


async def test_event_time_sessions_merge_when_an_item_bridges_them() -> None:
    """An out-of-order item within the gap of two sessions joins them into one."""
    script = [(0, event("a", 0.0)), (0, event("c", 1.5)), (0, event("b", 0.75))]
    pipe = windows(
        session_gap=1.0, timestamp=lambda e: e[1], allowed_lateness=1.0, with_metadata=True
    )
    assert await run(pipe, ScriptedSource(script)) == [
        (0.0, WindowResult(None, 0.0, 2.5, [event("a", 0.0), event("c", 1.5), event("b", 0.75)]))
    ]


async def test_aware_datetimes_are_event_times() -> None:
    """timestamp may return aware datetimes; bounds are POSIX seconds."""
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    script: list[tuple[float, datetime]] = [
        (0, base),
        (0, base + timedelta(seconds=30)),
        (0, base + timedelta(seconds=90)),
    ]
    pipe = windows(timedelta(minutes=1), timestamp=lambda t: t, with_metadata=True)
    start = base.timestamp()
    assert [r async for r in AsyncStream(ScriptedSource(script)).through(pipe)] == [
        WindowResult(None, start, start + 60, script_items(script[:2])),
        WindowResult(None, start + 60, start + 120, script_items(script[2:])),
    ]


def script_items(script: list[tuple[float, datetime]]) -> list[datetime]:
    """The items of a script, without their delays."""
    return [item for _, item in script]


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (
            datetime(2024, 1, 1),
            "ValueError",
            (
                "stage 'W': timestamp() returned a naive datetime (datetime.datetime(2024, 1, "
                "1, 0, 0)); return an aware datetime (for example with tzinfo=timezone.utc) "
                "or float seconds"
            ),
        ),
        (
            "noon",
            "TypeError",
            "stage 'W': timestamp() must return float seconds or an aware datetime (got 'noon')",
        ),
        (float("nan"), "ValueError", "stage 'W': timestamp() must be finite (got nan)"),
    ],
)
async def test_bad_timestamps_fail_the_stream_with_a_clear_message(
    value: Any, error: str, message: str
) -> None:
    """A naive datetime, a non-number or NaN from timestamp() fails the item."""
    pipe = windows(1.0, timestamp=lambda _: value, name="W")
    with pytest.raises(StreamError, match=re.escape(f"stage 'W' failed: {error}: {message}")):
        async for _ in AsyncStream(["x"]).through(pipe):
            pass


async def test_unreadable_items_follow_on_error() -> None:
    """Items whose key or timestamp fails are skipped or dead-lettered under on_error."""
    items = [event("a", 0.0), event("b", -1.0), event("c", 0.5)]

    def ts(e: tuple[str, float]) -> float:
        if e[1] < 0:
            raise KeyError("ts")
        return e[1]

    pipe = windows(1.0, timestamp=ts, on_error="skip")
    stream = AsyncStream(items).through(pipe)
    assert [r async for r in stream] == [[event("a", 0.0), event("c", 0.5)]]
    assert stream.metrics_dict()["metrics"]["skipped"] == 1

    letters: list[DeadLetter] = []
    pipe = windows(
        2, key=lambda e: {"a": 1, "c": 1}[e[0]], on_error="dead_letter", dead_letter=letters
    )
    assert [r async for r in AsyncStream(items).through(pipe)] == [[items[0], items[2]]]
    assert [(d.item, d.stage, repr(d.error)) for d in letters] == [
        (items[1], "WindowedStreamPipe", "KeyError('b')")
    ]


# --- subclassing -------------------------------------------------------------------------------


async def test_guide_style_subclass_with_aggregate_window() -> None:
    """A plain subclass calling super().__init__(window_size) gets aggregate_window's value."""

    class WindowProcessor(WindowedStreamPipe[dict[str, int], list[dict[str, int]]]):
        def __init__(self, window_size: timedelta) -> None:
            super().__init__(window_size)

        async def process_window(self, window: list[dict[str, int]]) -> list[dict[str, int]]:
            return self.aggregate_window(window)

    source = ScriptedSource([(0, {"n": 1}), (0.5, {"n": 2}), (1, {"n": 3})], end_delay=5)
    assert await run(WindowProcessor(timedelta(seconds=1)), source) == [
        (1.0, [{"n": 1}, {"n": 2}]),
        (2.0, [{"n": 3}]),
    ]


async def test_aggregate_window_override_reduces_each_window() -> None:
    """The default process_window emits aggregate_window(window)."""

    class Total(WindowedStreamPipe[int, int]):
        def aggregate_window(self, window: list[int]) -> int:
            return sum(window)

    assert [r async for r in AsyncStream(range(7)).through(Total(3))] == [3, 12, 6]


async def test_setup_and_teardown_run_around_the_stage() -> None:
    """The pipe's setup and teardown run once per run."""
    events: list[str] = []

    class Hooked(WindowedStreamPipe[int, list[int]]):
        async def setup(self) -> None:
            events.append("setup")

        async def teardown(self) -> None:
            events.append("teardown")

    assert [w async for w in AsyncStream(range(3)).through(Hooked(2))] == [[0, 1], [2]]
    assert events == ["setup", "teardown"]


async def test_wrongly_typed_methods_are_refused_with_the_fix() -> None:
    """A sync process_window or an async aggregate_window fails before the stream starts."""

    class SyncProcess(WindowedStreamPipe[int, int]):
        def process_window(self, window: list[int]) -> int:  # type: ignore[override]
            return len(window)

    class AsyncAggregate(WindowedStreamPipe[int, int]):
        async def aggregate_window(self, window: list[int]) -> int:  # type: ignore[override]
            return len(window)

    with pytest.raises(TypeError, match=r"process_window\(\) must be an 'async def' method"):
        async for _ in AsyncStream(range(3)).through(SyncProcess(2)):
            pass
    with pytest.raises(TypeError, match=r"aggregate_window\(\) must be a plain 'def' method"):
        async for _ in AsyncStream(range(3)).through(AsyncAggregate(2)):
            pass


@pytest.mark.parametrize(
    ("options", "uses_timers"),
    [
        ({"window_size": 3}, False),
        ({"window_size": 3, "slide": 1}, False),
        ({"window_size": 3.0}, True),
        ({"window_size": 3.0, "slide": 1.0}, True),
        ({"session_gap": 3}, True),
        ({"window_size": 3.0, "timestamp": float}, True),
    ],
)
def test_only_time_based_stages_use_timers(options: dict[str, Any], uses_timers: bool) -> None:
    """Count windows need no timer; time and session windows do (SyncStream reads them)."""
    assert stage_of(windows(**options)).uses_timers is uses_timers


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "options", "problems"),
    [
        ((0,), {}, ["window_size: must be > 0 (got 0)"]),
        ((), {}, ["window_size: required unless session_gap is given (got None)"]),
        (
            (3,),
            {"timestamp": float},
            ["timestamp: count windows close on item counts, not on time"],
        ),
        (
            (3.0,),
            {"allowed_lateness": 1.0},
            [
                (
                    "allowed_lateness: only applies to event-time windows (got 1.0); pass "
                    "timestamp= or leave it at 0"
                )
            ],
        ),
        (
            (3.0,),
            {"on_late": []},
            ["on_late: only event-time windows (timestamp=) have late items (got a sink)"],
        ),
        (
            (3.0,),
            {"timestamp": float, "on_late": 5},
            ["on_late: must be a callable, a list or an anyio send stream (got 5)"],
        ),
        (
            (3.0,),
            {"key": "user"},
            ["key: must be a callable that takes an item and returns a hashable key (got 'user')"],
        ),
        (
            (3.0,),
            {"session_gap": 1.0},
            ["session_gap: cannot be combined with window_size"],
        ),
        ((3.0,), {"slide": 4.0}, ["slide: must be <= window_size"]),
        ((3.0,), {"with_metadata": "yes"}, ["with_metadata: must be True or False (got 'yes')"]),
        ((0,), {"key": 1}, ["key: must be a callable", "window_size: must be > 0 (got 0)"]),
    ],
)
def test_bad_options_are_config_errors(
    args: tuple[Any, ...], options: dict[str, Any], problems: list[str]
) -> None:
    """Every bad option is listed in one ConfigError, naming the option first."""
    with pytest.raises(ConfigError) as info:
        windows(*args, **options)
    assert len(info.value.problems) == len(problems)
    for problem, expected in zip(info.value.problems, problems, strict=True):
        assert problem.startswith(expected)


def test_session_windows_need_only_session_gap() -> None:
    """session_gap alone makes session windows; window_size stays None."""
    pipe = windows(session_gap=timedelta(minutes=5), key=len)
    assert (pipe.window_size, pipe.window_spec().kind, pipe.window_spec().size) == (
        None,
        "session",
        300.0,
    )


# --- errors and cancellation -------------------------------------------------------------------


async def test_raise_policy_delivers_earlier_windows_then_fails_once() -> None:
    """A failing window stops the stream after the earlier windows; the rest is not flushed."""
    pipe = Recording(2, bad=(3,))
    seen: list[list[int]] = []
    with pytest.raises(
        StreamError, match="stage 'Recording' failed: ValueError: bad item 3"
    ) as info:
        async for window in AsyncStream(ScriptedSource.spaced(range(1, 6), 0.25)).through(pipe):
            seen.append(window)
    assert seen == [[1, 2]]
    assert info.value.item == [3, 4]
    assert pipe.calls == [[1, 2], [3, 4]]


async def test_a_failure_during_the_end_flush_processes_no_window_twice() -> None:
    """If one flushed window fails, the others are dropped and none is processed again."""
    pipe = Recording(10, bad=(1,), key=lambda x: x % 3)
    with pytest.raises(StreamError, match="bad item 1"):
        async for _ in AsyncStream(range(6)).through(pipe):
            pass
    assert pipe.calls == [[0, 3], [1, 4]]


async def test_skip_dead_letter_retry_and_handle_error_for_windows() -> None:
    """A failing window goes through retry, handle_error and on_error with its items."""
    skipping = Recording(2, bad=(3,), on_error="skip")
    assert [w async for w in AsyncStream(range(1, 7)).through(skipping)] == [[1, 2], [5, 6]]

    letters: list[DeadLetter] = []
    dead = Recording(2, bad=(1,), on_error="dead_letter", dead_letter=letters)
    assert [w async for w in AsyncStream(range(1, 4)).through(dead)] == [[3]]
    assert [(d.item, d.stage) for d in letters] == [([1, 2], "Recording")]

    class Guarded(Recording):
        async def handle_error(self, error: Exception, data: list[int]) -> list[int]:
            return [-sum(data)]

    guarded = Guarded(2, bad=(3,))
    assert [w async for w in AsyncStream(range(1, 5)).through(guarded)] == [[1, 2], [-7]]

    retried = Recording(2, bad=(1,), retry=RetryConfig(attempts=3, delay=0.25, backoff=2.0))
    with pytest.raises(StreamError, match="bad item 1"):
        async for _ in AsyncStream([1, 2]).through(retried):
            pass
    assert retried.calls == [[1, 2]] * 3
    assert anyio.current_time() == 0.75


async def test_cancellation_drops_the_open_windows() -> None:
    """An outer cancellation stops the stage; open windows are never processed."""
    pipe = Recording(10.0)
    with anyio.move_on_after(2):
        source = ScriptedSource.spaced(range(5), 0.25, end_delay=10)
        async for _ in AsyncStream(source).through(pipe):
            pass
    assert pipe.calls == []
    assert anyio.current_time() == 2.0


# --- memory ------------------------------------------------------------------------------------


async def test_key_state_returns_to_zero_after_many_keys() -> None:
    """A stage with many short-lived keys holds nothing once their windows have closed."""
    pipe = windows(0.5, key=lambda x: x)
    stage = stage_of(pipe)
    source = ScriptedSource([(0, n) for n in range(5000)], end_delay=2)
    runner: Runner[Any] = Runner(Plan([stage], BackpressureConfig()), source)
    held: list[tuple[float, int, int]] = []
    outputs: list[Any] = []

    async def watch() -> None:
        for _ in range(4):
            await anyio.sleep(0.375)
            stats = stage.statistics()
            held.append((anyio.current_time(), stats.open_keys, stats.buffered_items))

    async with anyio.create_task_group() as tg:
        tg.start_soon(runner.run)
        tg.start_soon(watch)
        while True:
            try:
                outputs.extend(await runner.output.get())
            except anyio.EndOfStream:
                runner.consumed.set()
                break
    runner.output.close_receiver()
    assert held == [(0.375, 5000, 5000), (0.75, 0, 0), (1.125, 0, 0), (1.5, 0, 0)]
    assert outputs == [[n] for n in range(5000)]


# --- properties --------------------------------------------------------------------------------


@given(
    gaps=st.lists(eighths(0, 2), max_size=30),
    size=positive_eighths(2),
    end_delay=eighths(0, 3),
)
async def test_tumbling_windows_hold_their_items_and_close_on_time(
    gaps: list[float], size: float, end_delay: float
) -> None:
    """Items lie in [start, end), windows concatenate to the input, each closes at its end."""
    source = ScriptedSource([(gap, i) for i, gap in enumerate(gaps)], end_delay=end_delay)
    arrival = [due for due, _ in source.schedule]
    end_of_stream = (arrival[-1] if arrival else 0.0) + end_delay
    start = anyio.current_time()
    outputs = await run(windows(size, with_metadata=True), source)
    assert [i for _, w in outputs for i in w.value] == list(range(len(gaps)))
    for at, window in outputs:
        assert window.end - window.start == size
        assert all(window.start <= start + arrival[i] < window.end for i in window.value)
        assert at == min(window.end - start, end_of_stream)


@given(gaps=st.lists(eighths(0, 2), max_size=30), gap=positive_eighths(1.5))
async def test_sessions_split_exactly_at_the_gap(gaps: list[float], gap: float) -> None:
    """Consecutive items of a session are less than the gap apart; sessions at least the gap."""
    source = ScriptedSource([(delay, i) for i, delay in enumerate(gaps)], end_delay=5)
    arrival = [due for due, _ in source.schedule]
    outputs = await run(windows(session_gap=gap), source)
    sessions = [w for _, w in outputs]
    assert [i for w in sessions for i in w] == list(range(len(gaps)))
    for session in sessions:
        assert all(arrival[b] - arrival[a] < gap for a, b in itertools.pairwise(session))
    for before, after in itertools.pairwise(sessions):
        assert arrival[after[0]] - arrival[before[-1]] >= gap


@given(
    events=st.lists(st.tuples(eighths(0, 1), eighths(0, 20)), max_size=30),
    lateness=eighths(0, 3),
)
async def test_late_items_never_join_a_closed_window(
    events: list[tuple[float, float]], lateness: float
) -> None:
    """Each item is in exactly one emitted window or late, and windows hold only their items."""
    late: list[Any] = []
    source = ScriptedSource(
        [(delay, (i, ts)) for i, (delay, ts) in enumerate(events)], end_delay=1
    )
    pipe = windows(
        2.0,
        timestamp=lambda e: e[1],
        allowed_lateness=lateness,
        on_late=late,
        align_to=0.0,
        with_metadata=True,
    )
    outputs = await run(pipe, source)
    placed = [e for _, w in outputs for e in w.value]
    assert sorted(placed + late) == sorted((i, ts) for i, (_, ts) in enumerate(events))
    for _, window in outputs:
        assert all(window.start <= ts < window.end for _, ts in window.value)
    ends = [w.end for _, w in outputs]
    assert ends == sorted(ends)
    assert len(set(ends)) == len(ends)


async def test_a_monitor_sees_the_window_stage() -> None:
    """A stream's monitor reports the window stage's counts, late items and timings."""
    from rivusio.monitoring import PipelineMonitor

    monitor = PipelineMonitor()
    script = [(0, event("a", 10.0)), (0, event("b", 1.0)), (0, event("c", 10.5))]
    pipe = windows(1.0, timestamp=lambda e: e[1], name="win")
    stream = AsyncStream(ScriptedSource(script)).through(pipe)
    stream.set_monitor(monitor)
    assert [w async for w in stream] == [[event("a", 10.0), event("c", 10.5)]]
    stage = monitor.get_metrics()["stages"]["win"]
    assert (stage["items_in"], stage["items_out"], stage["late"]) == (3, 1, 1)
    assert stage["processing_time"]["count"] == 2


async def test_the_default_error_handler_re_raises() -> None:
    """handle_error re-raises what it is given unless a subclass overrides it."""
    with pytest.raises(KeyError, match="lost"):
        await windows(2).handle_error(KeyError("lost"), [1, 2])
