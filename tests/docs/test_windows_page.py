"""The examples of docs/how-to/windows.md, which includes them from here.

Each test runs on asyncio and on trio, on a virtual clock that starts at 0.0, so the emission
times that ``collect_timed`` records are exact.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import anyio

from rivusio import AsyncStream
from rivusio.streams import WindowedStreamPipe, WindowResult
from rivusio.testing import ScriptedSource, collect_timed


async def test_count_tumbling_windows() -> None:
    """Every 3 items form a window; the partial last window comes out at the end of the stream."""
    source = ScriptedSource.spaced("abcdefg", 1.0, end_delay=1.0)  # one item a second
    pipe = WindowedStreamPipe[str, list[str]](3)

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    assert outputs == [
        (2.0, ["a", "b", "c"]),  # with "c"
        (5.0, ["d", "e", "f"]),  # with "f"
        (7.0, ["g"]),  # when the source ends, 1 s after "g"
    ]


async def test_count_sliding_windows() -> None:
    """The last 4 items every 2 items; the partial windows at the end only with emit_partial."""
    full_only = WindowedStreamPipe[int, list[int]](4, slide=2)
    with_partial = WindowedStreamPipe[int, list[int]](4, slide=2, emit_partial=True)

    assert await collect_timed(
        AsyncStream(ScriptedSource.spaced(range(9), 1.0)).through(full_only)
    ) == [
        (3.0, [0, 1, 2, 3]),
        (5.0, [2, 3, 4, 5]),
        (7.0, [4, 5, 6, 7]),
    ]
    assert await collect_timed(
        AsyncStream(ScriptedSource.spaced(range(9), 1.0)).through(with_partial)
    ) == [
        (3.0, [0, 1, 2, 3]),
        (5.0, [2, 3, 4, 5]),
        (7.0, [4, 5, 6, 7]),
        (8.0, [6, 7, 8]),
        (8.0, [8]),
    ]


async def test_time_tumbling_windows_close_on_a_timer() -> None:
    """One-second windows from the first item; each closes at its end, the empty one is skipped."""
    source = ScriptedSource(
        [(0, "a"), (0.25, "b"), (0.25, "c"), (1.75, "d"), (0.25, "e")], end_delay=1.0
    )
    pipe = WindowedStreamPipe[str, list[str]](timedelta(seconds=1))

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    # "c" came at 0.5 and "d" at 2.25: [0, 1) closed at 1.0 while the source was idle.
    assert outputs == [(1.0, ["a", "b", "c"]), (3.0, ["d", "e"])]
    assert anyio.current_time() == 3.5  # the source ended 1 s after "e"


async def test_time_sliding_windows_hop_by_slide() -> None:
    """A 2-second window every second: each item lies in two windows, each emitted at its end."""
    source = ScriptedSource([(0.5, "a"), (1.0, "b"), (1.0, "c")], end_delay=5.0)
    pipe = WindowedStreamPipe[str, WindowResult[list[str]]](
        2.0, slide=1.0, align_to=0.0, with_metadata=True
    )

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    assert outputs == [
        (1.0, WindowResult(None, -1.0, 1.0, ["a"])),
        (2.0, WindowResult(None, 0.0, 2.0, ["a", "b"])),
        (3.0, WindowResult(None, 1.0, 3.0, ["b", "c"])),
        (4.0, WindowResult(None, 2.0, 4.0, ["c"])),
    ]


async def test_session_windows_close_a_gap_after_the_last_item() -> None:
    """A session holds items less than session_gap apart and closes session_gap after its last."""
    source = ScriptedSource(
        [(0, "a"), (0.5, "b"), (0.5, "c"), (2.0, "d"), (0.5, "e")], end_delay=5.0
    )
    pipe = WindowedStreamPipe[str, WindowResult[list[str]]](session_gap=1.0, with_metadata=True)

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    assert outputs == [
        (2.0, WindowResult(None, 0.0, 2.0, ["a", "b", "c"])),
        (4.5, WindowResult(None, 3.0, 4.5, ["d", "e"])),
    ]


async def test_align_to_fixes_the_grid() -> None:
    """align_to=0.0 puts windows on whole seconds of the loop's clock, not at the first item."""
    source = ScriptedSource([(0.5, "a"), (0.75, "b")], end_delay=5.0)  # at 0.5 and 1.25
    pipe = WindowedStreamPipe[str, WindowResult[list[str]]](1.0, align_to=0.0, with_metadata=True)

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    # Without align_to, the first window would be [0.5, 1.5) and hold both items.
    assert outputs == [
        (1.0, WindowResult(None, 0.0, 1.0, ["a"])),
        (2.0, WindowResult(None, 1.0, 2.0, ["b"])),
    ]


async def test_emit_empty_emits_the_windows_without_items() -> None:
    """With emit_empty=True, the windows that received no item come out too, each at its end."""
    source = ScriptedSource([(0, "a"), (2.5, "b")], end_delay=2.0)  # at 0.0 and 2.5
    pipe = WindowedStreamPipe[str, list[str]](1.0, emit_empty=True)

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    assert outputs == [(1.0, ["a"]), (2.0, []), (3.0, ["b"]), (4.0, [])]


async def test_event_time_windows_close_on_the_watermark() -> None:
    """The watermark moves with the clock while no item arrives; a late item joins no window."""
    late: list[tuple[str, float]] = []
    source = ScriptedSource(
        [(0, ("a", 100.0)), (0, ("b", 105.0)), (8.0, ("c", 104.0)), (0, ("d", 112.0))],
        end_delay=20.0,
    )
    pipe = WindowedStreamPipe[tuple[str, float], WindowResult[list[tuple[str, float]]]](
        10.0,
        timestamp=lambda reading: reading[1],
        allowed_lateness=2.0,
        on_late=late,
        with_metadata=True,
    )
    stream = AsyncStream(source).through(pipe)

    outputs = await collect_timed(stream)

    assert outputs == [
        # The watermark, 105 - 2 + (time since "b" arrived), reaches 110 at 7.0.
        (7.0, WindowResult(None, 100.0, 110.0, [("a", 100.0), ("b", 105.0)])),
        # At 8.0 it is at 111, ahead of what "d" gives (112 - 2), and reaches 120 at 17.0.
        (17.0, WindowResult(None, 110.0, 120.0, [("d", 112.0)])),
    ]
    # "c" arrived at 8.0, when its only window, [100, 110), had closed.
    assert late == [("c", 104.0)]
    assert stream.metrics_dict()["metrics"]["late"] == 1


async def test_late_items_go_to_a_second_stream() -> None:
    """on_late=send_stream: late items come out of a second stream that another task reads."""
    late: list[tuple[float, tuple[str, float]]] = []
    send, receive = anyio.create_memory_object_stream[tuple[str, float]](10)

    async def read_late_items() -> None:
        async with receive:
            async for reading in receive:
                late.append((anyio.current_time(), reading))

    source = ScriptedSource([(0, ("a", 10.0)), (1.0, ("b", 9.5)), (1.0, ("c", 10.5))])
    pipe = WindowedStreamPipe[tuple[str, float], list[tuple[str, float]]](
        1.0, timestamp=lambda reading: reading[1], on_late=send
    )
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(read_late_items)
        async with send:  # closing it ends read_late_items
            outputs = await collect_timed(AsyncStream(source).through(pipe))

    # [10, 11) closes at 1.0, when the watermark, 10 + (time since "a"), reaches 11.
    assert outputs == [(1.0, [("a", 10.0)])]
    assert late == [(1.0, ("b", 9.5)), (2.0, ("c", 10.5))]


async def test_on_late_takes_a_callable() -> None:
    """on_late may be a function, sync or async, called with each late item."""
    late: list[tuple[str, float]] = []

    async def store_late(reading: tuple[str, float]) -> None:
        await anyio.sleep(0.5)  # for example, a write to a table of late readings
        late.append(reading)

    source = ScriptedSource([(0, ("a", 10.0)), (0, ("b", 2.0)), (0, ("c", 11.25))])
    pipe = WindowedStreamPipe[tuple[str, float], list[tuple[str, float]]](
        1.0, timestamp=lambda reading: reading[1], on_late=store_late
    )

    outputs = await collect_timed(AsyncStream(source).through(pipe))

    assert outputs == [(0.5, [("a", 10.0)]), (0.5, [("c", 11.25)])]
    assert late == [("b", 2.0)]


async def test_keyed_sessions_close_independently() -> None:
    """With key=, each user's session collects that user's clicks and closes on its own timer."""
    clicks = ScriptedSource(
        [
            (0, ("ann", "home")),
            (0.25, ("bob", "home")),
            (0.25, ("ann", "cart")),
            (0.5, ("bob", "cart")),
        ],
        end_delay=5.0,
    )  # at 0.0, 0.25, 0.5 and 1.0
    pipe = WindowedStreamPipe[tuple[str, str], WindowResult[list[tuple[str, str]]]](
        session_gap=1.0, key=lambda click: click[0], with_metadata=True
    )

    outputs = await collect_timed(AsyncStream(clicks).through(pipe))

    assert outputs == [
        (1.5, WindowResult("ann", 0.0, 1.5, [("ann", "home"), ("ann", "cart")])),
        (2.0, WindowResult("bob", 0.25, 2.0, [("bob", "home"), ("bob", "cart")])),
    ]


async def test_window_results_carry_the_key_and_the_bounds() -> None:
    """with_metadata=True emits WindowResult(key, start, end, value), bounds in POSIX seconds."""
    noon = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    readings = [
        ("boiler", noon + timedelta(seconds=10)),
        ("attic", noon + timedelta(seconds=20)),
        ("boiler", noon + timedelta(seconds=70)),
    ]
    pipe = WindowedStreamPipe[tuple[str, datetime], WindowResult[list[tuple[str, datetime]]]](
        timedelta(minutes=1),
        timestamp=lambda reading: reading[1],
        key=lambda reading: reading[0],
        align_to=noon,
        with_metadata=True,
    )

    results = [result async for result in AsyncStream(readings).through(pipe)]

    # The two windows that end at 12:01 come out in the order in which their keys appeared.
    assert results == [
        WindowResult("boiler", noon.timestamp(), noon.timestamp() + 60, [readings[0]]),
        WindowResult("attic", noon.timestamp(), noon.timestamp() + 60, [readings[1]]),
        WindowResult("boiler", noon.timestamp() + 60, noon.timestamp() + 120, [readings[2]]),
    ]
    assert datetime.fromtimestamp(results[2].start, timezone.utc) == noon + timedelta(minutes=1)
