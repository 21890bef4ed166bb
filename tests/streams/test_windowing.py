"""Tests for the pure window logic in rivusio.streams._windowing, fed explicit timestamps."""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rivusio.core.exceptions import ConfigError
from rivusio.streams._windowing import KeyedWindows, Window, WindowSpec, WindowStatistics
from tests.strategies import eighths, keys, nondecreasing_times, positive_eighths

if TYPE_CHECKING:
    from collections.abc import Hashable, Sequence

Row = tuple[Any, float, float, list[Any]]


def rows(windows: Sequence[Window[Any]]) -> list[Row]:
    """Windows as (key, start, end, items) tuples, for exact comparisons."""
    return [(w.key, w.start, w.end, w.items) for w in windows]


def make(**options: Any) -> KeyedWindows[Any]:
    """Windows for the given WindowSpec options."""
    windows: KeyedWindows[Any] = KeyedWindows.for_spec(WindowSpec(**options))
    return windows


# --- WindowSpec -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "kind", "size", "step"),
    [
        ({"window_size": 3}, "count_tumbling", 3, 3),
        ({"window_size": 3, "slide": 3}, "count_tumbling", 3, 3),
        ({"window_size": 3, "slide": 1}, "count_sliding", 3, 1),
        ({"window_size": 2.5}, "tumbling", 2.5, 2.5),
        ({"window_size": timedelta(minutes=1)}, "tumbling", 60.0, 60.0),
        ({"window_size": 10.0, "slide": 10}, "tumbling", 10.0, 10.0),
        ({"window_size": timedelta(seconds=10), "slide": 5}, "sliding", 10.0, 5.0),
        ({"session_gap": timedelta(seconds=30)}, "session", 30.0, 30.0),
        ({"session_gap": 2}, "session", 2.0, 2.0),
    ],
)
def test_spec_derives_kind_and_sizes(
    options: dict[str, Any], kind: str, size: float, step: float
) -> None:
    """The options decide the kind; durations become float seconds, counts stay ints."""
    spec = WindowSpec(**options)
    assert (spec.kind, spec.size, spec.step) == (kind, size, step)
    assert type(spec.size) is (int if kind.startswith("count") else float)


def test_spec_normalizes_lateness_and_origin() -> None:
    """allowed_lateness becomes seconds and an aware align_to datetime its timestamp."""
    spec = WindowSpec(
        window_size=60.0,
        event_time=True,
        allowed_lateness=timedelta(milliseconds=1500),
        align_to=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )
    assert (spec.lateness, spec.origin) == (1.5, 1704067200.0)
    assert WindowSpec(window_size=5.0, align_to=2).origin == 2.0
    assert WindowSpec(window_size=5.0).origin is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window_size": 0}, "window_size: must be > 0 (got 0)"),
        ({"window_size": -2.0}, "window_size: must be > 0 (got -2.0)"),
        ({"window_size": timedelta(0)}, "window_size: must be > 0 (got datetime.timedelta(0))"),
        (
            {"window_size": True},
            "window_size: must be an int (items), float seconds or a timedelta (got True)",
        ),
        (
            {"window_size": "5s"},
            "window_size: must be an int (items), float seconds or a timedelta (got '5s')",
        ),
        ({"window_size": math.inf}, "window_size: must be finite (got inf)"),
        (
            {},
            (
                "window_size: required unless session_gap is given (got None); pass an int for "
                "count windows or seconds / a timedelta for time windows"
            ),
        ),
        (
            {"window_size": 5, "session_gap": 1.0},
            (
                "session_gap: cannot be combined with window_size (got window_size=5, "
                "session_gap=1.0); pass only session_gap for session windows"
            ),
        ),
        (
            {"session_gap": 1.0, "slide": 1.0},
            "slide: only applies to windows with a window_size, not to session windows (got 1.0)",
        ),
        ({"session_gap": 0}, "session_gap: must be > 0 (got 0)"),
        (
            {"window_size": 3, "slide": 5},
            (
                "slide: must be <= window_size (got slide=5, window_size=3); a larger slide "
                "leaves gaps whose items no window would hold"
            ),
        ),
        (
            {"window_size": 5.0, "slide": 7.5},
            (
                "slide: must be <= window_size (got slide=7.5, window_size=5.0); a larger slide "
                "leaves gaps whose items no window would hold"
            ),
        ),
        (
            {"window_size": 3, "slide": 1.5},
            "slide: must be an int number of items for a count window (got 1.5)",
        ),
        ({"window_size": 3, "slide": 0}, "slide: must be > 0 (got 0)"),
        ({"window_size": 3.0, "slide": -1.0}, "slide: must be > 0 (got -1.0)"),
        (
            {"window_size": 3, "event_time": True},
            (
                "event_time: count windows close on item counts, not on time (got True); use a "
                "float or timedelta window_size for event-time windows"
            ),
        ),
        ({"window_size": 3.0, "event_time": 1}, "event_time: must be True or False (got 1)"),
        (
            {"window_size": 3.0, "allowed_lateness": 2.0},
            (
                "allowed_lateness: only applies to event-time windows (got 2.0); set "
                "event_time=True or leave it at 0"
            ),
        ),
        (
            {"window_size": 3.0, "event_time": True, "allowed_lateness": -1},
            "allowed_lateness: must be >= 0 (got -1)",
        ),
        (
            {"window_size": 3, "align_to": 0.0},
            "align_to: only applies to time windows with a window_size (got 0.0)",
        ),
        (
            {"session_gap": 3.0, "align_to": 0.0},
            "align_to: only applies to time windows with a window_size (got 0.0)",
        ),
        (
            {"window_size": 3.0, "align_to": "0"},
            "align_to: must be float seconds or a datetime (got '0')",
        ),
        ({"window_size": 3.0, "align_to": math.nan}, "align_to: must be finite (got nan)"),
        (
            {"window_size": 3.0, "align_to": datetime(2024, 1, 1, tzinfo=timezone.utc)},
            (
                "align_to: a datetime only applies to event-time windows (got "
                "datetime.datetime(2024, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)); processing "
                "time runs on the event loop clock, so pass float seconds"
            ),
        ),
        (
            {"window_size": 3.0, "event_time": True, "align_to": datetime(2024, 1, 1)},
            (
                "align_to: must be a timezone-aware datetime (got datetime.datetime(2024, 1, 1, "
                "0, 0)); add tzinfo=timezone.utc"
            ),
        ),
        (
            {"window_size": 3, "emit_empty": True},
            "emit_empty: only applies to time windows with a window_size (got True)",
        ),
        (
            {"session_gap": 3.0, "emit_empty": True},
            "emit_empty: only applies to time windows with a window_size (got True)",
        ),
        (
            {"window_size": 3.0, "emit_partial": True},
            (
                "emit_partial: only applies to sliding windows (slide < window_size); tumbling "
                "and session windows always flush their open windows at end of stream (got True)"
            ),
        ),
        ({"window_size": 3.0, "emit_partial": "yes"}, "emit_partial: must be True or False"),
    ],
)
def test_spec_rejects_bad_options(options: dict[str, Any], message: str) -> None:
    """Each bad option raises ConfigError naming the option, the rule and the value."""
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        WindowSpec(**options)


def test_spec_lists_every_bad_option() -> None:
    """All problems are reported at once, one line each."""
    with pytest.raises(ConfigError) as info:
        WindowSpec(window_size=0, slide=-1, emit_empty=True, allowed_lateness=-3.0)
    assert info.value.problems == (
        "allowed_lateness: must be >= 0 (got -3.0)",
        "window_size: must be > 0 (got 0)",
        "slide: must be > 0 (got -1)",
        "emit_empty: only applies to time windows with a window_size (got True)",
    )


# --- count windows --------------------------------------------------------------------------


def test_count_tumbling_closes_every_size_items_and_flushes_the_rest() -> None:
    """Every 3 items form a window; the partial last window is flushed at end of stream."""
    windows = make(window_size=3)
    closed = [w for i in range(8) for w in windows.on_item(i, now=0.0).closed]
    assert rows(closed) == [(None, 0, 3, [0, 1, 2]), (None, 3, 6, [3, 4, 5])]
    assert windows.next_deadline() is None
    assert windows.on_time(1e9) == []
    assert windows.watermark(5.0) is None
    assert rows(windows.flush()) == [(None, 6, 8, [6, 7])]
    assert windows.flush() == []


def test_count_window_of_one_item() -> None:
    """window_size=1 emits each item as its own window."""
    windows = make(window_size=1)
    assert rows(windows.on_item("x", now=0.0).closed) == [(None, 0, 1, ["x"])]
    assert len(windows) == 0


def test_count_sliding_emits_every_full_window_in_order() -> None:
    """size 3, slide 1: a window of the last 3 items after every item, none skipped."""
    windows = make(window_size=3, slide=1)
    closed = [w for i in range(6) for w in windows.on_item(i, now=0.0).closed]
    assert [w.items for w in closed] == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    assert [(w.start, w.end) for w in closed] == [(0, 3), (1, 4), (2, 5), (3, 6)]
    assert windows.flush() == []


def test_count_sliding_with_slide_two() -> None:
    """size 3, slide 2: windows start at items 0, 2, 4 and share one item each."""
    windows = make(window_size=3, slide=2, emit_partial=True)
    closed = [w for i in range(7) for w in windows.on_item(i, now=0.0).closed]
    assert [w.items for w in closed] == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    assert rows(windows.flush()) == [(None, 6, 7, [6])]


def test_count_sliding_partial_windows_only_with_emit_partial() -> None:
    """The open partial windows are flushed, in order, only with emit_partial=True."""
    for emit_partial, expected in [(False, []), (True, [[3, 4], [4]])]:
        windows = make(window_size=3, slide=1, emit_partial=emit_partial)
        for i in range(5):
            windows.on_item(i, now=0.0)
        assert [w.items for w in windows.flush()] == expected


def test_count_sliding_keeps_items_that_version_0_2_skipped() -> None:
    """size 4, slide 3: every item lands in a full or (with emit_partial) partial window."""
    windows = make(window_size=4, slide=3, emit_partial=True)
    closed = [w for i in range(10) for w in windows.on_item(i, now=0.0).closed]
    closed += windows.flush()
    assert [w.items for w in closed] == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9], [9]]


def test_count_windows_are_per_key_with_stage_positions() -> None:
    """Keys fill their own windows; start/end are positions among all items of the stage."""
    windows = make(window_size=2)
    out = [
        w
        for i, key in enumerate("abbca")
        for w in windows.on_item(f"{key}{i}", now=0.0, key=key).closed
    ]
    assert rows(out) == [("b", 1, 3, ["b1", "b2"]), ("a", 0, 5, ["a0", "a4"])]
    assert len(windows) == 1
    assert rows(windows.flush()) == [("c", 3, 4, ["c3"])]


def test_count_windows_refuse_a_timestamp() -> None:
    """ts= is an error for count windows, which ignore time."""
    windows = make(window_size=2)
    with pytest.raises(ValueError, match=re.escape("ts: count windows take no item timestamp")):
        windows.on_item(1, now=0.0, ts=1.0)


def test_count_flush_orders_partial_windows_by_end_then_key() -> None:
    """At end of stream, windows of several keys come out by end position."""
    windows = make(window_size=5)
    for i, key in enumerate("abab"):
        windows.on_item(i, now=0.0, key=key)
    assert rows(windows.flush()) == [("a", 0, 3, [0, 2]), ("b", 1, 4, [1, 3])]


# --- time tumbling, processing time ---------------------------------------------------------


def test_tumbling_grid_starts_at_first_item_and_closes_on_the_timer() -> None:
    """Windows are [3, 13), [13, 23), ...; a window closes at its end with no new item."""
    windows = make(window_size=10.0)
    assert windows.on_item("a", now=3.0).closed == ()
    assert windows.on_item("b", now=12.875).closed == ()
    assert windows.next_deadline() == 13.0
    assert windows.on_time(12.999) == []
    assert rows(windows.on_time(13.0)) == [(None, 3.0, 13.0, ["a", "b"])]
    assert windows.next_deadline() is None
    assert len(windows) == 0


def test_tumbling_item_at_the_end_opens_the_next_window() -> None:
    """An item arriving exactly at a window's end closes it and starts the next one."""
    windows = make(window_size=10.0)
    windows.on_item("a", now=0.0)
    outcome = windows.on_item("b", now=10.0)
    assert rows(outcome.closed) == [(None, 0.0, 10.0, ["a"])]
    assert outcome.late is False
    assert rows(windows.flush()) == [(None, 10.0, 20.0, ["b"])]


def test_tumbling_grid_stays_fixed_across_idle_periods() -> None:
    """After an idle stretch, the next item joins its slot on the original grid."""
    windows = make(window_size=10.0)
    windows.on_item("a", now=3.0)
    assert rows(windows.on_item("b", now=40.0).closed) == [(None, 3.0, 13.0, ["a"])]
    assert windows.next_deadline() == 43.0
    assert rows(windows.on_time(50.0)) == [(None, 33.0, 43.0, ["b"])]


def test_tumbling_align_to_sets_the_grid_origin() -> None:
    """align_to=0 puts the windows at multiples of the size, wherever the first item falls."""
    windows = make(window_size=10.0, align_to=0.0)
    windows.on_item("a", now=3.0)
    windows.on_item("b", now=27.0)
    assert rows(windows.flush()) == [(None, 20.0, 30.0, ["b"])]
    windows = make(window_size=10.0, align_to=5.0)
    windows.on_item("a", now=3.0)
    assert windows.next_deadline() == 5.0


def test_tumbling_flush_emits_the_open_window() -> None:
    """At end of stream the open window is emitted although its end has not come."""
    windows = make(window_size=60.0)
    for t in (0.0, 1.0, 2.0):
        windows.on_item(t, now=t)
    assert rows(windows.flush()) == [(None, 0.0, 60.0, [0.0, 1.0, 2.0])]
    assert (len(windows), windows.next_deadline()) == (0, None)


def test_processing_time_refuses_a_timestamp() -> None:
    """ts= is an error in processing time, where the item's time is now."""
    windows = make(window_size=10.0)
    with pytest.raises(ValueError, match=re.escape("ts: processing-time windows take")):
        windows.on_item("a", now=1.0, ts=1.0)


def test_processing_time_watermark_is_now() -> None:
    """In processing time the watermark is the clock itself."""
    assert make(window_size=1.0).watermark(7.5) == 7.5
    assert make(session_gap=1.0).watermark(2.0) == 2.0


def test_emit_empty_tumbling_keeps_the_grid_running() -> None:
    """emit_empty: every slot from the first item's window on is emitted as the clock passes."""
    windows = make(window_size=10.0, emit_empty=True)
    windows.on_item("a", now=0.0)
    assert rows(windows.on_item("b", now=25.0).closed) == [
        (None, 0.0, 10.0, ["a"]),
        (None, 10.0, 20.0, []),
    ]
    assert rows(windows.on_time(30.0)) == [(None, 20.0, 30.0, ["b"])]
    assert windows.next_deadline() == 40.0
    assert rows(windows.on_time(40.0)) == [(None, 30.0, 40.0, [])]
    assert len(windows) == 1
    assert windows.flush() == []


def test_emit_empty_flush_stops_at_the_last_window_with_items() -> None:
    """At end of stream, emit_empty flushes the open slots up to the last one with items."""
    windows = make(window_size=10.0, emit_empty=True, event_time=True, allowed_lateness=100.0)
    windows.on_item("a", now=0.0, ts=0.0)
    windows.on_item("b", now=0.0, ts=35.0)
    assert rows(windows.flush()) == [
        (None, 0.0, 10.0, ["a"]),
        (None, 10.0, 20.0, []),
        (None, 20.0, 30.0, []),
        (None, 30.0, 40.0, ["b"]),
    ]


def test_default_skips_empty_windows() -> None:
    """Without emit_empty, slots with no items produce nothing."""
    windows = make(window_size=10.0)
    windows.on_item("a", now=0.0)
    assert rows(windows.on_item("b", now=25.0).closed) == [(None, 0.0, 10.0, ["a"])]
    assert rows(windows.on_time(30.0)) == [(None, 20.0, 30.0, ["b"])]


# --- time sliding ---------------------------------------------------------------------------


def test_sliding_item_joins_every_window_covering_it() -> None:
    """size 10, slide 5: an item at 0 is in [-5, 5) and [0, 10); one at 7 in [0, 10), [5, 15)."""
    windows = make(window_size=10.0, slide=5.0, emit_partial=True)
    windows.on_item("a", now=0.0)
    assert windows.next_deadline() == 5.0
    assert rows(windows.on_item("b", now=7.0).closed) == [(None, -5.0, 5.0, ["a"])]
    assert windows.next_deadline() == 10.0
    assert rows(windows.on_time(10.0)) == [(None, 0.0, 10.0, ["a", "b"])]
    assert rows(windows.flush()) == [(None, 5.0, 15.0, ["b"])]


def test_sliding_partial_windows_need_emit_partial() -> None:
    """Sliding windows still open at end of stream are dropped unless emit_partial=True."""
    windows = make(window_size=10.0, slide=5.0)
    windows.on_item("a", now=0.0)
    assert windows.flush() == []
    assert len(windows) == 0


def test_sliding_with_uneven_slide() -> None:
    """size 10, slide 4 from origin 0: an item at 9 is in the windows starting at 0, 4, 8."""
    windows = make(window_size=10.0, slide=4.0, align_to=0.0, emit_partial=True)
    windows.on_item("x", now=9.0)
    assert [(w.start, w.end) for w in windows.flush()] == [(0.0, 10.0), (4.0, 14.0), (8.0, 18.0)]


def test_sliding_emit_empty() -> None:
    """emit_empty with sliding windows emits each slot, including the empty ones."""
    windows = make(window_size=4.0, slide=2.0, emit_empty=True, emit_partial=True)
    windows.on_item("a", now=0.0)
    assert rows(windows.on_time(8.0)) == [
        (None, -2.0, 2.0, ["a"]),
        (None, 0.0, 4.0, ["a"]),
        (None, 2.0, 6.0, []),
        (None, 4.0, 8.0, []),
    ]


@pytest.mark.parametrize(
    ("origin", "size", "now"),
    [(3.7, 0.001, 3.048), (0.1, 0.7, 462.79999999999995), (0.0, 0.1, 0.3)],
)
def test_grid_index_survives_float_rounding(origin: float, size: float, now: float) -> None:
    """Where (ts - origin) / size rounds across a boundary, the item still lies in its window."""
    windows = make(window_size=size, align_to=origin)
    windows.on_item("x", now=now)
    (window,) = windows.flush()
    assert window.start <= now < window.end
    assert window.end - window.start == pytest.approx(size)


# --- sessions -------------------------------------------------------------------------------


def test_session_closes_a_gap_after_the_last_item() -> None:
    """A session ends at last item + gap, on the timer; an item exactly a gap later starts anew."""
    windows = make(session_gap=5.0)
    for t in (0.0, 1.0, 3.0):
        windows.on_item(t, now=t)
    assert windows.next_deadline() == 8.0
    outcome = windows.on_item(8.0, now=8.0)
    assert rows(outcome.closed) == [(None, 0.0, 8.0, [0.0, 1.0, 3.0])]
    assert rows(windows.flush()) == [(None, 8.0, 13.0, [8.0])]


def test_session_deadline_follows_the_latest_item() -> None:
    """Items keep a session open; the deadline moves to the last item plus the gap."""
    windows = make(session_gap=2.0)
    for t in (0.0, 1.5, 3.0, 4.5):
        windows.on_item(t, now=t)
    assert windows.on_time(6.0) == []
    assert windows.next_deadline() == 6.5
    assert rows(windows.on_time(6.5)) == [(None, 0.0, 6.5, [0.0, 1.5, 3.0, 4.5])]


def test_keyed_sessions_close_independently() -> None:
    """Each key's session closes at its own deadline."""
    windows = make(session_gap=5.0)
    windows.on_item("a1", now=0.0, key="a")
    windows.on_item("b1", now=3.0, key="b")
    windows.on_item("a2", now=4.0, key="a")
    assert windows.next_deadline() == 8.0
    assert rows(windows.on_time(8.0)) == [("b", 3.0, 8.0, ["b1"])]
    assert windows.next_deadline() == 9.0
    assert rows(windows.on_time(9.0)) == [("a", 0.0, 9.0, ["a1", "a2"])]
    assert len(windows) == 0


def test_event_time_item_bridging_two_sessions_merges_them() -> None:
    """An out-of-order item within the gap of two sessions joins them into one."""
    windows = make(session_gap=5.0, event_time=True, allowed_lateness=100.0)
    windows.on_item("x0", now=0.0, ts=0.0)
    windows.on_item("x8", now=0.0, ts=8.0)
    assert windows.statistics() == WindowStatistics(open_keys=1, buffered_items=2, late_items=0)
    windows.on_item("x4", now=0.0, ts=4.0)
    assert rows(windows.flush()) == [(None, 0.0, 13.0, ["x0", "x8", "x4"])]


def test_event_time_session_grows_backwards_and_stays_apart() -> None:
    """An earlier item extends a session's start; items a gap or more apart stay separate."""
    windows = make(session_gap=2.0, event_time=True, allowed_lateness=100.0)
    windows.on_item("a", now=0.0, ts=10.0)
    windows.on_item("b", now=0.0, ts=9.0)
    windows.on_item("c", now=0.0, ts=7.5)
    windows.on_item("d", now=0.0, ts=5.5)
    windows.on_item("e", now=0.0, ts=20.0)
    assert rows(windows.flush()) == [
        (None, 5.5, 7.5, ["d"]),
        (None, 7.5, 12.0, ["a", "b", "c"]),
        (None, 20.0, 22.0, ["e"]),
    ]


def test_event_time_earlier_session_moves_the_deadline_forward() -> None:
    """A new session before the open ones makes the next deadline earlier."""
    windows = make(session_gap=1.0, event_time=True, allowed_lateness=10.0)
    windows.on_item("later", now=0.0, ts=5.0)
    assert windows.next_deadline() == 11.0
    windows.on_item("early", now=0.0, ts=0.0)
    assert windows.next_deadline() == 6.0
    assert rows(windows.on_time(6.0)) == [(None, 0.0, 1.0, ["early"])]
    assert windows.next_deadline() == 11.0


def test_out_of_order_window_closes_before_the_later_one() -> None:
    """An earlier window opened after a later one still closes first, each at its deadline."""
    windows = make(window_size=10.0, event_time=True, allowed_lateness=100.0, align_to=0.0)
    windows.on_item("late-window", now=0.0, ts=50.0)
    windows.on_item("early-window", now=0.0, ts=20.0)
    assert windows.next_deadline() == 80.0
    assert rows(windows.on_time(80.0)) == [(None, 20.0, 30.0, ["early-window"])]
    assert windows.next_deadline() == 110.0
    assert rows(windows.on_time(110.0)) == [(None, 50.0, 60.0, ["late-window"])]
    assert (windows.next_deadline(), len(windows)) == (None, 0)


def test_merged_session_that_grew_past_its_old_timers() -> None:
    """Timers left behind by merged and extended sessions do not disturb the next deadline."""
    windows = make(session_gap=1.0, event_time=True, allowed_lateness=10.0)
    for ts in (1.5, 0.0, 0.75, 2.25):
        windows.on_item(ts, now=0.0, ts=ts)
    assert windows.next_deadline() == 11.0
    assert windows.on_time(10.5) == []
    assert rows(windows.on_time(11.0)) == [(None, 0.0, 3.25, [0.0, 1.5, 0.75, 2.25])]
    assert windows.next_deadline() is None


# --- event time -----------------------------------------------------------------------------


def test_watermark_trails_max_timestamp_and_advances_while_idle() -> None:
    """watermark = max ts - lateness, then moving with processing time since that item came."""
    windows = make(window_size=10.0, event_time=True, allowed_lateness=2.0)
    assert windows.watermark(0.0) is None
    windows.on_item("a", now=50.0, ts=100.0)
    assert windows.watermark(50.0) == 98.0
    assert windows.watermark(53.0) == 101.0
    windows.on_item("b", now=53.0, ts=99.0)
    assert windows.watermark(53.0) == 101.0
    windows.on_item("c", now=53.0, ts=105.0)
    assert windows.watermark(53.0) == 103.0
    assert windows.next_deadline() == 60.0
    assert rows(windows.on_time(60.0)) == [(None, 100.0, 110.0, ["a", "c"])]


def test_watermark_never_goes_back() -> None:
    """An item with a larger timestamp but a smaller lead over the clock does not lower it."""
    windows = make(window_size=10.0, event_time=True)
    windows.on_item("a", now=0.0, ts=100.0)
    windows.on_item("b", now=50.0, ts=101.0)
    assert windows.watermark(50.0) == 150.0


def test_event_time_windows_close_when_the_source_is_idle() -> None:
    """With no further items, the watermark reaches the window's end on the timer."""
    windows = make(window_size=10.0, event_time=True, allowed_lateness=1.0)
    windows.on_item("a", now=1000.0, ts=3.0)
    assert windows.watermark(1000.0) == 2.0
    assert windows.next_deadline() == 1011.0
    assert windows.on_time(1010.5) == []
    assert rows(windows.on_time(1011.0)) == [(None, 3.0, 13.0, ["a"])]


def test_late_item_is_reported_counted_and_never_windowed() -> None:
    """An item whose window already closed is late: outcome.late, late_count, in no window."""
    windows = make(window_size=10.0, event_time=True)
    windows.on_item("a", now=0.0, ts=0.0)
    outcome = windows.on_item("b", now=0.0, ts=15.0)
    assert rows(outcome.closed) == [(None, 0.0, 10.0, ["a"])]
    outcome = windows.on_item("late", now=0.0, ts=5.0)
    assert (outcome.closed, outcome.late) == ((), True)
    assert windows.late_count == 1
    assert windows.statistics().late_items == 1
    assert rows(windows.flush()) == [(None, 10.0, 20.0, ["b"])]
    assert windows.late_count == 1


def test_late_item_can_come_with_windows_closed_by_time() -> None:
    """One call can both close windows (time passed) and reject its item as late."""
    windows = make(window_size=10.0, event_time=True)
    windows.on_item("a", now=0.0, ts=0.0)
    windows.on_item("b", now=0.0, ts=10.0)
    outcome = windows.on_item("late", now=20.0, ts=2.0)
    assert rows(outcome.closed) == [(None, 10.0, 20.0, ["b"])]
    assert outcome.late is True


def test_allowed_lateness_keeps_windows_open_for_stragglers() -> None:
    """Within allowed_lateness, an out-of-order item still joins its window."""
    windows = make(window_size=10.0, event_time=True, allowed_lateness=6.0)
    windows.on_item("a", now=0.0, ts=0.0)
    windows.on_item("b", now=0.0, ts=15.0)
    outcome = windows.on_item("straggler", now=0.0, ts=5.0)
    assert outcome.late is False
    assert rows(windows.on_time(1.0)) == [(None, 0.0, 10.0, ["a", "straggler"])]


def test_sliding_item_joins_only_its_open_windows() -> None:
    """An event-time item whose earlier sliding windows closed joins the open ones only."""
    windows = make(window_size=10.0, slide=5.0, event_time=True, emit_partial=True)
    windows.on_item("a", now=0.0, ts=0.0)
    closed = windows.on_item("b", now=0.0, ts=12.0).closed
    assert rows(closed) == [(None, -5.0, 5.0, ["a"]), (None, 0.0, 10.0, ["a"])]
    outcome = windows.on_item("c", now=0.0, ts=7.0)
    assert outcome.late is False
    assert rows(windows.flush()) == [(None, 5.0, 15.0, ["b", "c"]), (None, 10.0, 20.0, ["b"])]
    assert windows.late_count == 0


def test_sliding_item_is_late_when_all_its_windows_closed() -> None:
    """A sliding-window item whose every window has closed is late."""
    windows = make(window_size=10.0, slide=5.0, event_time=True)
    windows.on_item("a", now=0.0, ts=30.0)
    assert windows.on_item("old", now=0.0, ts=12.0).late is True
    assert windows.late_count == 1


def test_session_item_is_late_when_its_own_session_would_be_closed() -> None:
    """A session item is late when ts + gap is already behind the watermark."""
    windows = make(session_gap=5.0, event_time=True)
    windows.on_item("a", now=0.0, ts=100.0)
    assert windows.on_item("old", now=0.0, ts=95.0).late is True
    outcome = windows.on_item("recent", now=0.0, ts=96.0)
    assert outcome.late is False
    assert rows(windows.flush()) == [(None, 96.0, 105.0, ["a", "recent"])]


def test_session_item_does_not_rejoin_a_closed_session() -> None:
    """Within the gap of a closed session but not late: the item opens a session of its own."""
    windows = make(session_gap=5.0, event_time=True)
    windows.on_item("a", now=0.0, ts=0.0)
    assert rows(windows.on_item("b", now=0.0, ts=6.0).closed) == [(None, 0.0, 5.0, ["a"])]
    outcome = windows.on_item("c", now=0.0, ts=3.0)
    assert outcome.late is False
    assert rows(windows.flush()) == [(None, 3.0, 11.0, ["b", "c"])]


@pytest.mark.parametrize("ts", [None, math.nan, math.inf])
def test_event_time_requires_a_finite_timestamp(ts: float | None) -> None:
    """Event-time windows need ts= as finite float seconds."""
    windows = make(window_size=10.0, event_time=True)
    message = (
        f"ts: event-time windows need each item's timestamp as finite float seconds (got {ts!r})"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        windows.on_item("a", now=0.0, ts=ts)


def test_event_time_align_to_datetime() -> None:
    """An aware align_to datetime aligns the grid in epoch seconds."""
    windows = make(
        window_size=60.0, event_time=True, align_to=datetime(2024, 1, 1, tzinfo=timezone.utc)
    )
    windows.on_item("a", now=0.0, ts=1704067200.0 + 90.0)
    assert [(w.start, w.end) for w in windows.flush()] == [(1704067260.0, 1704067320.0)]


@given(
    size=st.floats(0.01, 100.0),
    ts=st.floats(-1e6, 1e6),
    now=st.floats(0.0, 1e6),
    lateness=st.floats(0.0, 10.0),
)
def test_on_time_at_next_deadline_always_closes_a_window(
    size: float, ts: float, now: float, lateness: float
) -> None:
    """Whatever the float rounding, waking at next_deadline() closes the earliest window."""
    windows = make(window_size=size, event_time=True, allowed_lateness=lateness)
    windows.on_item("a", now=now, ts=ts)
    deadline = windows.next_deadline()
    assert deadline is not None
    closed = windows.on_time(deadline)
    assert [w.items for w in closed] == [["a"]]
    assert closed[0].start <= ts < closed[0].end


# --- ordering, keys and memory --------------------------------------------------------------


def test_windows_come_out_by_end_then_key_order() -> None:
    """Windows closed together are ordered by end, then by the order the keys appeared."""
    windows = make(window_size=10.0, align_to=0.0, event_time=True, allowed_lateness=100.0)
    windows.on_item("b1", now=0.0, key="b", ts=1.0)
    windows.on_item("a1", now=0.0, key="a", ts=2.0)
    windows.on_item("c1", now=0.0, key="c", ts=3.0)
    windows.on_item("a2", now=0.0, key="a", ts=12.0)
    assert [(w.key, w.end) for w in windows.on_time(1000.0)] == [
        ("b", 10.0),
        ("a", 10.0),
        ("c", 10.0),
        ("a", 20.0),
    ]


def test_session_order_across_keys_follows_real_ends() -> None:
    """A session extended after its first deadline was queued still comes out by its end."""
    windows = make(session_gap=2.0)
    windows.on_item("a1", now=0.0, key="a")
    windows.on_item("b1", now=1.0, key="b")
    windows.on_item("a2", now=1.5, key="a")
    assert [(w.key, w.end) for w in windows.on_time(10.0)] == [("b", 3.0), ("a", 3.5)]


def test_flush_orders_by_end_then_key() -> None:
    """flush() emits open windows of every key by end, then key order."""
    windows = make(session_gap=3.0)
    windows.on_item("x", now=0.0, key="x")
    windows.on_item("y", now=0.0, key="y")
    windows.on_item("x2", now=1.0, key="x")
    assert rows(windows.flush()) == [("y", 0.0, 3.0, ["y"]), ("x", 0.0, 4.0, ["x", "x2"])]


@pytest.mark.parametrize(
    "options",
    [
        {"window_size": 10.0},
        {"window_size": 10.0, "slide": 2.5},
        {"session_gap": 4.0},
        {"window_size": 10.0, "event_time": True, "allowed_lateness": 3.0},
        {"session_gap": 4.0, "event_time": True},
    ],
)
def test_state_returns_to_zero_after_ten_thousand_keys(options: dict[str, Any]) -> None:
    """Every key's state is dropped once its windows have closed: nothing is left behind."""
    windows = make(**options)
    event_time = options.get("event_time", False)
    closed: list[Window[Any]] = []
    for n in range(10_000):
        now = n / 1000
        closed += windows.on_item(n, now=now, key=n, ts=now if event_time else None).closed
    assert len(windows) > 0
    closed += windows.on_time(1e6)
    assert {item for w in closed for item in w.items} == set(range(10_000))
    assert windows.statistics() == WindowStatistics(open_keys=0, buffered_items=0, late_items=0)
    assert len(windows) == 0
    assert windows.next_deadline() is None


def test_count_state_returns_to_zero_after_ten_thousand_keys() -> None:
    """Count tumbling keys are dropped as soon as their window is emitted."""
    windows = make(window_size=2)
    for n in range(20_000):
        windows.on_item(n, now=0.0, key=n % 10_000)
    assert len(windows) == 0
    assert windows.flush() == []


def test_statistics_count_keys_and_buffered_items() -> None:
    """statistics() reports keys with state and the item references held."""
    windows = make(window_size=10.0, slide=5.0)
    windows.on_item(1, now=0.0, key="a")
    windows.on_item(2, now=1.0, key="b")
    assert windows.statistics() == WindowStatistics(open_keys=2, buffered_items=4, late_items=0)
    count = make(window_size=3, slide=1)
    count.on_item(1, now=0.0)
    assert count.statistics() == WindowStatistics(open_keys=1, buffered_items=1, late_items=0)


# --- properties -----------------------------------------------------------------------------


def drive(
    windows: KeyedWindows[Any],
    arrivals: Sequence[tuple[float, Any, Hashable, float | None]],
    ticks: Sequence[bool],
) -> tuple[list[tuple[int, Window[Any]]], list[int]]:
    """Feed (now, item, key, ts) arrivals, calling on_time before items where ticks say so.

    Returns the windows with the step at which each was emitted (flush is the last step),
    and the steps of late items.
    """
    emitted: list[tuple[int, Window[Any]]] = []
    late: list[int] = []
    for step, ((now, item, key, ts), tick) in enumerate(zip(arrivals, ticks, strict=False)):
        if tick:
            emitted.extend((step, w) for w in windows.on_time(now))
        outcome = windows.on_item(item, now=now, key=key, ts=ts)
        emitted.extend((step, w) for w in outcome.closed)
        if outcome.late:
            late.append(step)
    emitted.extend((len(arrivals), w) for w in windows.flush())
    return emitted, late


@given(
    times=nondecreasing_times(max_size=60),
    size=positive_eighths(10.0),
    align=st.none() | eighths(-20.0, 20.0),
    ticks=st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_tumbling_windows_partition_the_input_in_order(
    times: list[float], size: float, align: float | None, ticks: list[bool]
) -> None:
    """Processing-time tumbling windows hold each item once, within [start, end), in order."""
    windows = make(window_size=size, align_to=align)
    emitted, late = drive(windows, [(t, (i, t), None, None) for i, t in enumerate(times)], ticks)
    assert late == []
    assert [item for _, w in emitted for item in w.items] == [(i, t) for i, t in enumerate(times)]
    for _, w in emitted:
        assert w.end - w.start == size
        assert all(w.start <= t < w.end for _, t in w.items)
    ends = [w.end for _, w in emitted]
    assert ends == sorted(ends)
    assert len(windows) == 0


@given(
    times=nondecreasing_times(min_size=1, max_size=40),
    step=positive_eighths(5.0),
    ratio=st.integers(1, 5),
    extra=eighths(0.0, 4.0),
)
def test_sliding_windows_hold_each_item_in_every_covering_window(
    times: list[float], step: float, ratio: int, extra: float
) -> None:
    """Each item is in exactly the grid windows covering it: floor or ceil(size/slide) many."""
    size = step * ratio + extra
    assume(size > step)
    windows = make(window_size=size, slide=step, emit_partial=True)
    emitted, _ = drive(
        windows, [(t, i, None, None) for i, t in enumerate(times)], [True] * len(times)
    )
    per_item: dict[int, list[Window[Any]]] = defaultdict(list)
    for _, w in emitted:
        assert w.end - w.start == size
        for i in w.items:
            per_item[i].append(w)
    origin = times[0]
    for i, t in enumerate(times):
        covering = [w for w in per_item[i] if w.start <= t < w.end]
        assert covering == per_item[i]
        expected = sum(
            1
            for k in range(
                math.floor((t - origin - size) / step) - 1, math.ceil((t - origin) / step) + 2
            )
            if origin + k * step <= t < origin + k * step + size
        )
        assert len(per_item[i]) == expected
        assert math.floor(size / step) <= expected <= math.ceil(size / step)
        if extra == 0:
            assert expected == ratio


@given(
    arrivals=st.lists(st.tuples(keys(), eighths(0.0, 50.0), eighths(0.0, 5.0)), max_size=60),
    gap=positive_eighths(6.0),
    lateness=st.sampled_from([0.0, 2.0, 1000.0]),
    ticks=st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_event_time_sessions_respect_the_gap_and_lose_nothing(
    arrivals: list[tuple[str, float, float]], gap: float, lateness: float, ticks: list[bool]
) -> None:
    """Sessions hold no two consecutive items a gap apart; every item is windowed or late."""
    windows = make(session_gap=gap, event_time=True, allowed_lateness=lateness)
    clock = 0.0
    feed = []
    for i, (key, ts, wait) in enumerate(arrivals):
        clock += wait
        feed.append((clock, (i, ts), key, ts))
    emitted, late = drive(windows, feed, ticks)
    seen = sorted(i for _, w in emitted for i, _ in w.items)
    assert sorted(seen + late) == list(range(len(arrivals)))
    assert len(windows.flush()) == 0
    for step, w in emitted:
        stamps = sorted(ts for _, ts in w.items)
        assert all(b - a < gap for a, b in itertools.pairwise(stamps))
        assert (w.start, w.end) == (stamps[0], stamps[-1] + gap)
        assert all(i < step for i, _ in w.items)
        assert all(arrivals[i][0] == w.key for i, _ in w.items)
    if lateness == 1000.0:
        by_key: dict[Hashable, list[Window[Any]]] = defaultdict(list)
        for _, w in emitted:
            by_key[w.key].append(w)
        for sessions in by_key.values():
            assert all(a.end <= b.start for a, b in itertools.pairwise(sessions))


@given(
    arrivals=st.lists(st.tuples(keys(), eighths(0.0, 60.0), eighths(0.0, 3.0)), max_size=60),
    size=positive_eighths(10.0),
    slide_ratio=st.sampled_from([1, 2, 4]),
    lateness=st.sampled_from([0.0, 1.5, 5.0]),
    ticks=st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_late_items_never_join_a_closed_window(
    arrivals: list[tuple[str, float, float]],
    size: float,
    slide_ratio: int,
    lateness: float,
    ticks: list[bool],
) -> None:
    """Items join exactly their still-open windows; late items join none; nothing joins late."""
    step = size / slide_ratio
    options: dict[str, Any] = {"window_size": size, "event_time": True}
    if slide_ratio > 1:
        options.update(slide=step, emit_partial=True)
    windows = make(**options, allowed_lateness=lateness)
    clock = 0.0
    feed = []
    for i, (key, ts, wait) in enumerate(arrivals):
        clock += wait
        feed.append((clock, i, key, ts))
    emitted, late = drive(windows, feed, ticks)
    assert windows.late_count == len(late)
    memberships: dict[int, int] = defaultdict(int)
    for emitted_at, w in emitted:
        for i in w.items:
            memberships[i] += 1
            # Only items that arrived before the window was emitted are in it.
            assert i < emitted_at
            assert w.start <= arrivals[i][1] < w.end
            assert arrivals[i][0] == w.key
    # The watermark at each arrival, computed independently: best (ts - now) minus lateness.
    best = -math.inf
    for i, (now, _, _, ts) in enumerate(feed):
        best = max(best, ts - now)
        watermark = now + best - lateness
        origin = feed[0][3]
        k = math.floor((ts - origin) / step)
        open_windows = 0
        while origin + k * step + size > ts:
            if origin + k * step <= ts and origin + k * step + size > watermark:
                open_windows += 1
            k -= 1
        assert (i in late) == (open_windows == 0)
        assert memberships[i] == open_windows


@given(
    items=st.lists(st.tuples(keys(), st.integers()), max_size=80),
    size=st.integers(1, 6),
)
def test_count_tumbling_windows_concatenate_to_each_keys_input(
    items: list[tuple[str, int]], size: int
) -> None:
    """Per key, count tumbling windows hold <= size items and concatenate to its input."""
    windows = make(window_size=size)
    emitted = [w for key, x in items for w in windows.on_item(x, now=0.0, key=key).closed]
    emitted += windows.flush()
    for key in {k for k, _ in items}:
        mine = [w for w in emitted if w.key == key]
        assert all(len(w.items) == size for w in mine[:-1])
        assert 0 < len(mine[-1].items) <= size
        assert [x for w in mine for x in w.items] == [x for k, x in items if k == key]
    assert len(windows) == 0


@given(n=st.integers(0, 60), size=st.integers(1, 6), slide=st.integers(1, 6))
def test_count_sliding_windows_are_the_input_slices(n: int, size: int, slide: int) -> None:
    """Full count sliding windows are input[k*slide : k*slide+size], with the partial tail."""
    assume(slide <= size)
    windows = make(window_size=size, slide=slide, emit_partial=slide < size)
    emitted = [w for i in range(n) for w in windows.on_item(i, now=0.0).closed]
    full = [list(range(s, s + size)) for s in range(0, n - size + 1, slide)]
    assert [w.items for w in emitted] == full
    tail = [w.items for w in windows.flush()]
    first_open = len(full) * slide
    if slide < size:
        assert tail == [list(range(s, n)) for s in range(first_open, n, slide)]
    else:
        assert tail == ([list(range(first_open, n))] if first_open < n else [])
    assert all(len(w) <= size for w in full + tail)
