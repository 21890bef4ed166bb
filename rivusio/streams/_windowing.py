"""Window logic without a runtime: which windows an item joins, when a window closes, what is late.

This module decides and never waits. It imports no event loop: every method that depends on
time takes the current processing time ``now`` (in the stage this is ``anyio.current_time()``)
and, for event-time windows, the item's own timestamp ``ts`` (float seconds). The window
stage wraps it in a loop, roughly::

    windows: KeyedWindows[Event] = KeyedWindows.for_spec(spec)
    while True:
        deadline = windows.next_deadline()              # None: no window waits for time
        item = NOTHING
        with anyio.move_on_after(inf if deadline is None else deadline - anyio.current_time()):
            item = await inbox.receive()                # cancel-safe; EndOfStream ends the loop
        now = anyio.current_time()
        if item is NOTHING:
            closed = windows.on_time(now)
        else:
            outcome = windows.on_item(item, now=now, key=key_of(item), ts=timestamp_of(item))
            closed = outcome.closed                     # outcome.late: send item to on_late
        for window in closed:
            await outbox.send(window)                   # outside the deadline's scope
    for window in windows.flush():                      # end of stream
        await outbox.send(window)

Window kinds (see :class:`WindowSpec`):

* **Count tumbling** (``window_size=<int>``): every ``window_size`` items of a key form a
  window. At end of stream the partial window is flushed.
* **Count sliding** (``window_size=<int>, slide=<int>``): after the key's first
  ``window_size`` items, and then every ``slide`` items, the last ``window_size`` items form a
  window. Every full window is emitted, in order, and no item is skipped (rivusio 0.2.0
  could lose items here). The partial windows still open at end of stream (the windows
  starting at each ``slide`` step among the buffered items) are flushed only with
  ``emit_partial=True``.
  For count windows, :attr:`Window.start` is the position (0-based, counted over every item
  the stage received) of the window's first item and :attr:`Window.end` is one past the
  position of its last item.
* **Time tumbling** (``window_size=<seconds>``) and **time sliding/hopping**
  (``window_size=<seconds>, slide=<seconds>``): windows ``[start, end)`` on a grid of
  ``origin + k * slide`` for every integer ``k`` (negative too), where ``origin`` is
  ``align_to`` or, without it, the time of the first item the stage received (its arrival
  ``now`` in processing time, its ``ts`` in event time), so that all keys share one grid.
  A tumbling window ends where the next begins; a sliding window is ``window_size`` long,
  so an item lies in ``floor(window_size / slide)`` or ``ceil(window_size / slide)``
  windows (exactly ``window_size / slide`` when it divides).
  The grid extends before the first item: with ``window_size=10, slide=5`` and a first item
  at ``t=0`` that item is in ``[-5, 5)`` and ``[0, 10)``, the "last 10 seconds" views at
  ``t=5`` and ``t=10``. Windows open at end of stream are flushed; for sliding windows they
  are partial and are flushed only with ``emit_partial=True``.
* **Session** (``session_gap=<seconds>``): a session collects a key's items while each is
  less than ``session_gap`` from a neighbour; it is ``[first ts, last ts + session_gap)`` and
  closes when the watermark reaches its end. An event-time item that falls within the gap of
  two open sessions merges them (the earlier session's items come first). Sessions never
  hold two consecutive items (by time) ``session_gap`` or more apart.

Closing. A window closes when the *watermark* reaches its end (``watermark >= end``), on the
timer: an idle source does not hold a window open. Every call that is given ``now`` first
closes what is due by then, so windows come out of :meth:`KeyedWindows.on_item` too, ahead
of the item's own effect. In processing time the watermark is ``now``. In event time it is::

    watermark(now) = now - allowed_lateness + max over items seen of (ts - arrival now)

which is the highest ``ts - allowed_lateness`` seen so far, moved forward at the speed of
processing time since that item arrived. It never goes back, and it keeps advancing while
the source is idle, so the last windows close without waiting for more data. The price of
idle advance: an item that spends longer than ``allowed_lateness`` on its way (in upstream
stages, in buffers, behind backpressure) more than its predecessors did can arrive late;
size ``allowed_lateness`` to cover delivery jitter as well as disorder at the source.

Late items (event time only). An item is late when every window it belongs to has already
closed; it joins no window, is counted in :attr:`KeyedWindows.late_count`, and
:class:`ItemOutcome` reports it so the stage can route it to ``on_late``. A sliding-window
item whose earlier windows have closed but whose later ones are open joins only the open
ones and is not late. A session item is late when its own session ``[ts, ts + gap)`` would
already be closed; otherwise it merges only with open sessions, never with a closed one.

Empty windows. Only windows holding items are emitted unless ``emit_empty=True`` (time
tumbling and sliding windows). Then each key's grid runs continuously from the first window
holding one of its items: every window whose end the watermark passes is emitted, empty or
not, for as long as the stream runs, and at end of stream the open windows up to the last
one holding an item are flushed. A key's state then stays alive until end of stream, and a
jump of the watermark emits every slot in between.

Order. Windows closed by one call come out by end, then by key (in the order the keys'
current state was created). Items inside a window keep arrival order (in a merged session,
the earlier session's items come first).

Memory. A key's state is dropped as soon as it holds nothing open (except under
``emit_empty``), so a stage with many short-lived keys returns to zero state.
"""

from __future__ import annotations

import abc
import math
from datetime import datetime, timedelta
from heapq import heappop, heappush, heapreplace
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

import attrs

from ..core.exceptions import ConfigError

if TYPE_CHECKING:
    from collections.abc import Hashable, Sequence

__all__ = (
    "ItemOutcome",
    "KeyedWindows",
    "Window",
    "WindowKind",
    "WindowSpec",
    "WindowStatistics",
)

ItemT = TypeVar("ItemT")
"""Type of the items collected into windows."""

WindowKind = Literal["count_tumbling", "count_sliding", "tumbling", "sliding", "session"]
"""The five kinds of window :class:`WindowSpec` describes."""


def _seconds(
    name: str,
    value: object,
    problems: list[str],
    *,
    allow_zero: bool = False,
    expected: str = "a number of seconds or a timedelta",
) -> float | None:
    """Read a duration option as float seconds, recording a problem when it is invalid."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        problems.append(f"{name}: must be {expected} (got {value!r})")
        return None
    if not math.isfinite(seconds):
        problems.append(f"{name}: must be finite (got {value!r})")
        return None
    if allow_zero and seconds < 0:
        problems.append(f"{name}: must be >= 0 (got {value!r})")
        return None
    if not allow_zero and seconds <= 0:
        problems.append(f"{name}: must be > 0 (got {value!r})")
        return None
    return seconds


def _flag(name: str, value: object, problems: list[str]) -> bool:
    """Read a boolean option, recording a problem when it is not a bool."""
    if isinstance(value, bool):
        return value
    problems.append(f"{name}: must be True or False (got {value!r})")
    return False


@attrs.frozen(kw_only=True)
class WindowSpec:
    """What windows a stage builds: kind, sizes, clock, and end-of-stream behaviour.

    The fields are the window stage's options under the same names; the constructor checks
    them all and raises one :class:`~rivusio.core.exceptions.ConfigError` listing every bad
    option. The normalized values the logic uses (:attr:`kind`, :attr:`size`, :attr:`step`,
    :attr:`gap`, :attr:`lateness`, :attr:`origin`) are derived on construction.

    Args:
        window_size: An ``int`` is a count of items (count windows); a ``float`` (seconds)
            or a ``timedelta`` is a duration (time windows). Leave ``None`` for session
            windows.
        slide: Makes the window sliding: a new window starts every ``slide`` items (count
            windows, an ``int``) or seconds (time windows). Must not exceed ``window_size``:
            a larger slide would leave gaps whose items no window holds. Equal to
            ``window_size`` (or ``None``) means tumbling.
        session_gap: Seconds (or ``timedelta``) of inactivity that close a session. Makes
            session windows; excludes ``window_size`` and ``slide``.
        align_to: Origin of the time grid, in the clock of the window (processing time: the
            event loop clock; event time: the items' timestamps, where an aware
            ``datetime`` is accepted). ``None``: the time of the first item.
        event_time: Use the items' timestamps (``ts=`` on :meth:`KeyedWindows.on_item`)
            and a watermark instead of the arrival time. Time and session windows only.
        allowed_lateness: Event time only: how far (seconds or ``timedelta``) the watermark
            trails the highest timestamp seen.
        emit_empty: Time windows with ``window_size`` only: also emit windows that hold no
            items (see the module documentation for exactly which).
        emit_partial: Sliding windows only: flush the partial windows still open at end of
            stream.

    Raises:
        ConfigError: One line per bad option, for example
            ``window_size: must be > 0 (got 0)``.

    Example::

        >>> WindowSpec(window_size=timedelta(seconds=10), slide=5).kind
        'sliding'
        >>> WindowSpec(window_size=3).kind
        'count_tumbling'
    """

    window_size: int | float | timedelta | None = None
    slide: int | float | timedelta | None = None
    session_gap: float | timedelta | None = None
    align_to: float | datetime | None = None
    event_time: bool = False
    allowed_lateness: float | timedelta = 0.0
    emit_empty: bool = False
    emit_partial: bool = False

    kind: WindowKind = attrs.field(init=False, eq=False, repr=False)
    """The kind of window, derived from the options."""
    size: float = attrs.field(init=False, eq=False, repr=False)
    """Window length: items (an ``int``) for count windows, seconds for time windows, the
    gap for session windows."""
    step: float = attrs.field(init=False, eq=False, repr=False)
    """Distance between window starts (items or seconds); equals :attr:`size` for tumbling
    and session windows."""
    lateness: float = attrs.field(init=False, eq=False, repr=False)
    """``allowed_lateness`` in seconds."""
    origin: float | None = attrs.field(init=False, eq=False, repr=False)
    """``align_to`` in seconds, or ``None`` for a grid that starts at the first item."""

    def __attrs_post_init__(self) -> None:
        problems: list[str] = []
        event_time = _flag("event_time", self.event_time, problems)
        emit_empty = _flag("emit_empty", self.emit_empty, problems)
        emit_partial = _flag("emit_partial", self.emit_partial, problems)
        lateness = _seconds("allowed_lateness", self.allowed_lateness, problems, allow_zero=True)
        if lateness and not event_time:
            problems.append(
                f"allowed_lateness: only applies to event-time windows "
                f"(got {self.allowed_lateness!r}); set event_time=True or leave it at 0"
            )

        kind: WindowKind = "tumbling"
        size: float | None = None
        step: float | None = None
        size_given = self.window_size is not None
        if self.session_gap is not None:
            kind = "session"
            if size_given:
                problems.append(
                    f"session_gap: cannot be combined with window_size (got "
                    f"window_size={self.window_size!r}, session_gap={self.session_gap!r}); "
                    f"pass only session_gap for session windows"
                )
            if self.slide is not None:
                problems.append(
                    f"slide: only applies to windows with a window_size, not to session "
                    f"windows (got {self.slide!r})"
                )
            size = step = _seconds("session_gap", self.session_gap, problems)
        elif not size_given:
            problems.append(
                "window_size: required unless session_gap is given (got None); pass an int "
                "for count windows or seconds / a timedelta for time windows"
            )
        elif isinstance(self.window_size, int) and not isinstance(self.window_size, bool):
            kind = "count_tumbling"
            if self.window_size <= 0:
                problems.append(f"window_size: must be > 0 (got {self.window_size!r})")
            else:
                size = step = self.window_size
            if self.slide is not None:
                if not isinstance(self.slide, int) or isinstance(self.slide, bool):
                    problems.append(
                        f"slide: must be an int number of items for a count window "
                        f"(got {self.slide!r})"
                    )
                elif self.slide <= 0:
                    problems.append(f"slide: must be > 0 (got {self.slide!r})")
                else:
                    step = self.slide
            if event_time:
                problems.append(
                    "event_time: count windows close on item counts, not on time (got True); "
                    "use a float or timedelta window_size for event-time windows"
                )
        else:
            size = step = _seconds(
                "window_size",
                self.window_size,
                problems,
                expected="an int (items), float seconds or a timedelta",
            )
            if self.slide is not None:
                step = _seconds("slide", self.slide, problems)

        if size is not None and step is not None and step > size:
            problems.append(
                f"slide: must be <= window_size (got slide={self.slide!r}, "
                f"window_size={self.window_size!r}); a larger slide leaves gaps whose items "
                f"no window would hold"
            )
        elif size is not None and step is not None and step < size:
            kind = "count_sliding" if kind == "count_tumbling" else "sliding"

        origin = self._origin(kind, event_time, problems)
        if emit_empty and kind not in ("tumbling", "sliding"):
            problems.append(
                "emit_empty: only applies to time windows with a window_size (got True)"
            )
        if emit_partial and kind not in ("count_sliding", "sliding"):
            problems.append(
                "emit_partial: only applies to sliding windows (slide < window_size); "
                "tumbling and session windows always flush their open windows at end of "
                "stream (got True)"
            )
        if problems:
            raise ConfigError(problems)
        # Frozen class: the derived fields are set once, here, and never change.
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "lateness", lateness)
        object.__setattr__(self, "origin", origin)

    def _origin(self, kind: WindowKind, event_time: bool, problems: list[str]) -> float | None:
        """Check ``align_to`` and return it as float seconds."""
        # Typed as object: options may come from untyped configuration.
        value: object = self.align_to
        if value is None:
            return None
        if kind not in ("tumbling", "sliding"):
            problems.append(
                f"align_to: only applies to time windows with a window_size (got {value!r})"
            )
            return None
        if isinstance(value, datetime):
            if not event_time:
                problems.append(
                    f"align_to: a datetime only applies to event-time windows (got {value!r}); "
                    f"processing time runs on the event loop clock, so pass float seconds"
                )
                return None
            if value.utcoffset() is None:
                problems.append(
                    f"align_to: must be a timezone-aware datetime (got {value!r}); "
                    f"add tzinfo=timezone.utc"
                )
                return None
            return value.timestamp()
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"align_to: must be float seconds or a datetime (got {value!r})")
            return None
        if not math.isfinite(value):
            problems.append(f"align_to: must be finite (got {value!r})")
            return None
        return float(value)


@attrs.frozen(kw_only=True)
class Window(Generic[ItemT]):
    """One closed window, as emitted.

    Attributes:
        key: The key the window belongs to (``None`` for an unkeyed stream).
        start: Time windows: the window's start (inclusive). Sessions: the first item's
            time. Count windows: position of the first item among all items the stage
            received.
        end: Time windows: the window's end (exclusive). Sessions: the last item's time
            plus the gap. Count windows: one past the position of the last item.
        items: The items, in arrival order; empty only under ``emit_empty``.
    """

    key: Hashable
    start: float
    end: float
    items: list[ItemT]


@attrs.frozen
class ItemOutcome(Generic[ItemT]):
    """What :meth:`KeyedWindows.on_item` did with one item.

    Attributes:
        closed: Windows that closed during the call (by the passing of time up to ``now``,
            or, for count windows, by this item), in emission order.
        late: ``True`` when the item was late: it joined no window and was counted in
            :attr:`KeyedWindows.late_count`.
    """

    closed: Sequence[Window[ItemT]]
    late: bool


@attrs.frozen(kw_only=True)
class WindowStatistics:
    """A snapshot of what a :class:`KeyedWindows` holds.

    Attributes:
        open_keys: Keys with state (at least one open window, or a running grid under
            ``emit_empty``).
        buffered_items: Item references held by open windows (an item in several sliding
            windows counts once per window; count sliding windows count each item once).
        late_items: Items rejected as late so far.
    """

    open_keys: int
    buffered_items: int
    late_items: int


class _KeyState(abc.ABC):
    """What every key's state has: its creation order and its timer entry."""

    __slots__ = ("scheduled", "seq")

    def __init__(self, seq: int) -> None:
        # Creation order of this state, which orders keys among windows with equal ends.
        self.seq = seq
        # End (in watermark time) under which this key has its live entry in the timer heap.
        self.scheduled = math.inf

    @abc.abstractmethod
    def buffered(self) -> int:
        """Return the number of item references held."""


StateT = TypeVar("StateT", bound=_KeyState)
"""Type of the per-key state of one kind of window."""


class KeyedWindows(abc.ABC, Generic[ItemT]):
    """The windows of every key of one stage, as a state machine driven by its caller.

    Build one with :meth:`for_spec`. Feed items with :meth:`on_item`, wake it at
    :meth:`next_deadline` with :meth:`on_time`, and call :meth:`flush` at end of stream.
    Unkeyed streams use the single key ``None``. Nothing here blocks or reads a clock.

    Example::

        >>> windows: KeyedWindows[str] = KeyedWindows.for_spec(WindowSpec(window_size=10.0))
        >>> windows.on_item("a", now=3.0).closed
        ()
        >>> windows.next_deadline()
        13.0
        >>> [w.items for w in windows.on_time(13.0)]
        [['a']]
    """

    __slots__ = ()

    spec: WindowSpec
    """The options these windows follow."""

    @staticmethod
    def for_spec(spec: WindowSpec) -> KeyedWindows[ItemT]:
        """Create the state machine for ``spec``'s kind of window.

        Args:
            spec: The validated window options.

        Returns:
            An empty :class:`KeyedWindows`; annotate the variable to fix the item type.
        """
        if spec.kind in ("count_tumbling", "count_sliding"):
            return _CountWindows(spec)
        if spec.kind == "session":
            return _SessionWindows(spec)
        return _GridWindows(spec)

    @property
    @abc.abstractmethod
    def late_count(self) -> int:
        """Items rejected as late so far (always 0 outside event time)."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Return the number of keys that currently hold state."""

    @abc.abstractmethod
    def on_item(
        self, item: ItemT, *, now: float, key: Hashable = None, ts: float | None = None
    ) -> ItemOutcome[ItemT]:
        """Add one item, first closing every window that ``now`` closes.

        Args:
            item: The item.
            now: Current processing time (the stage's clock; it must not go back). It is
                the item's time for processing-time windows; count windows ignore it.
            key: The item's key; ``None`` for an unkeyed stream.
            ts: The item's event time in float seconds; required with ``event_time=True``
                and refused otherwise.

        Returns:
            The windows that closed, in order, and whether the item was late.

        Raises:
            ValueError: ``ts`` is missing for event-time windows, given for other windows,
                or not a finite number.
        """

    @abc.abstractmethod
    def on_time(self, now: float) -> list[Window[ItemT]]:
        """Close every window whose end the clock has reached at ``now``.

        Call it at (or after) :meth:`next_deadline`; calling it early is harmless.

        Args:
            now: Current processing time.

        Returns:
            The closed windows, by end and then key.
        """

    @abc.abstractmethod
    def next_deadline(self) -> float | None:
        """Return the processing time at which the next window closes if no item arrives.

        ``on_time(next_deadline())`` closes at least one window. For event time this is
        the ``now`` at which the watermark reaches the earliest open end.

        Returns:
            The instant, or ``None`` when no window waits for time (count windows, or
            nothing open).
        """

    @abc.abstractmethod
    def watermark(self, now: float) -> float | None:
        """Return the watermark at processing time ``now``.

        Args:
            now: Current processing time.

        Returns:
            ``now`` for processing-time windows; for event-time windows the watermark
            (``None`` before the first item); ``None`` for count windows.
        """

    @abc.abstractmethod
    def flush(self) -> list[Window[ItemT]]:
        """End of stream: emit every open window and forget all state.

        Sliding windows (count or time) are emitted only with ``emit_partial=True``; the
        others always. Under ``emit_empty`` the empty windows up to the last window holding
        an item are included. The late count is kept.

        Returns:
            The windows, by end and then key.
        """

    @abc.abstractmethod
    def statistics(self) -> WindowStatistics:
        """Return a snapshot of the state held (walks every key; not for the hot path)."""


@attrs.define(eq=False)
class _Windows(KeyedWindows[ItemT], Generic[ItemT, StateT]):
    """State shared by every kind: the keys' states and the counters."""

    spec: WindowSpec
    _states: dict[Hashable, StateT] = attrs.field(init=False, factory=dict)
    _next_seq: int = attrs.field(init=False, default=0)
    _late: int = attrs.field(init=False, default=0)
    # Shared outcomes for the common cases, so that an item closing nothing allocates nothing.
    _accepted: ItemOutcome[ItemT] = attrs.field(init=False, factory=lambda: ItemOutcome((), False))
    _rejected: ItemOutcome[ItemT] = attrs.field(init=False, factory=lambda: ItemOutcome((), True))

    @property
    def late_count(self) -> int:
        return self._late

    def __len__(self) -> int:
        return len(self._states)

    def statistics(self) -> WindowStatistics:
        return WindowStatistics(
            open_keys=len(self._states),
            buffered_items=sum(state.buffered() for state in self._states.values()),
            late_items=self._late,
        )

    def _new_seq(self) -> int:
        seq = self._next_seq
        self._next_seq = seq + 1
        return seq


class _CountKey(_KeyState, Generic[ItemT]):
    __slots__ = ("items", "last", "positions")

    def __init__(self, seq: int, item: ItemT, position: int) -> None:
        super().__init__(seq)
        self.items = [item]
        # Stage-wide positions, for the windows' start and end: of every buffered item for
        # sliding windows (whose start moves by a slide), of the first one for tumbling.
        self.positions = [position]
        self.last = position

    def buffered(self) -> int:
        return len(self.items)


@attrs.define(eq=False)
class _CountWindows(_Windows[ItemT, _CountKey[ItemT]]):
    """Count windows: closing depends only on the number of items of a key."""

    _size: int = attrs.field(init=False)
    _slide: int = attrs.field(init=False)
    _sliding: bool = attrs.field(init=False)
    _position: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self._size = int(self.spec.size)
        self._slide = int(self.spec.step)
        self._sliding = self._slide != self._size

    def on_item(
        self, item: ItemT, *, now: float, key: Hashable = None, ts: float | None = None
    ) -> ItemOutcome[ItemT]:
        if ts is not None:
            raise ValueError(
                f"ts: count windows take no item timestamp (got {ts!r}); drop ts= or use "
                f"time windows with event_time=True"
            )
        position = self._position
        self._position = position + 1
        states = self._states
        state = states.get(key)
        if state is None:
            state = states[key] = _CountKey(self._new_seq(), item, position)
        else:
            state.items.append(item)
            if self._sliding:
                state.positions.append(position)
            state.last = position
        items = state.items
        if len(items) < self._size:
            return self._accepted
        if self._sliding:
            window = Window(
                key=key, start=state.positions[0], end=position + 1, items=items.copy()
            )
            del items[: self._slide]
            del state.positions[: self._slide]
        else:
            # Tumbling: the buffer itself becomes the window and the key starts afresh.
            del states[key]
            window = Window(key=key, start=state.positions[0], end=position + 1, items=items)
        return ItemOutcome((window,), False)

    def on_time(self, now: float) -> list[Window[ItemT]]:
        return []

    def next_deadline(self) -> float | None:
        return None

    def watermark(self, now: float) -> float | None:
        return None

    def flush(self) -> list[Window[ItemT]]:
        pending: list[tuple[int, int, Window[ItemT]]] = []
        if self._sliding and self.spec.emit_partial:
            # The windows that start at each slide step among the buffered items, each
            # running to the last item.
            for key, state in self._states.items():
                items = state.items
                positions = state.positions
                end = state.last + 1
                for offset in range(0, len(items), self._slide):
                    window = Window(
                        key=key, start=positions[offset], end=end, items=items[offset:]
                    )
                    pending.append((end, state.seq, window))
        elif not self._sliding:
            for key, state in self._states.items():
                end = state.last + 1
                window = Window(key=key, start=state.positions[0], end=end, items=state.items)
                pending.append((end, state.seq, window))
        self._states.clear()
        pending.sort(key=lambda entry: (entry[0], entry[1]))
        return [window for _, _, window in pending]


@attrs.define(eq=False)
class _TimedWindows(_Windows[ItemT, StateT]):
    """Windows closed by the watermark: the timer heap and the event-time clock."""

    # Heap of (end, key seq, key): for each key, an entry at or before its earliest open
    # end. The seq makes entries unique and orders keys; stale entries are skipped lazily.
    _heap: list[tuple[float, int, Hashable]] = attrs.field(init=False, factory=list)
    _event_time: bool = attrs.field(init=False)
    # watermark(now) = now + _shift, where _shift is the best (ts - now) seen minus the
    # allowed lateness: 0 in processing time, -inf in event time before the first item.
    _shift: float = attrs.field(init=False)
    _best_offset: float = attrs.field(init=False, default=-math.inf)

    def __attrs_post_init__(self) -> None:
        self._event_time = self.spec.event_time
        self._shift = -math.inf if self._event_time else 0.0

    def on_item(
        self, item: ItemT, *, now: float, key: Hashable = None, ts: float | None = None
    ) -> ItemOutcome[ItemT]:
        if self._event_time:
            if ts is None or not math.isfinite(ts):
                raise ValueError(
                    f"ts: event-time windows need each item's timestamp as finite float "
                    f"seconds (got {ts!r})"
                )
            offset = ts - now
            if offset > self._best_offset:
                self._best_offset = offset
                self._shift = offset - self.spec.lateness
        elif ts is not None:
            raise ValueError(
                f"ts: processing-time windows take the item's time from now= (got {ts!r}); "
                f"drop ts= or set event_time=True"
            )
        else:
            ts = now
        watermark = now + self._shift
        heap = self._heap
        closed: Sequence[Window[ItemT]] = ()
        if heap and heap[0][0] <= watermark:
            closed = self._close_until(watermark)
        if self._place(item, key, ts, watermark):
            return ItemOutcome(closed, False) if closed else self._accepted
        self._late += 1
        return ItemOutcome(closed, True) if closed else self._rejected

    def on_time(self, now: float) -> list[Window[ItemT]]:
        watermark = now + self._shift
        heap = self._heap
        if heap and heap[0][0] <= watermark:
            return self._close_until(watermark)
        return []

    def next_deadline(self) -> float | None:
        heap = self._heap
        states = self._states
        while heap:
            end, seq, key = heap[0]
            state = states.get(key)
            if state is None or state.seq != seq or state.scheduled != end:
                heappop(heap)
                continue
            first_end = self._first_end(state)
            if first_end > end:
                state.scheduled = first_end
                heapreplace(heap, (first_end, seq, key))
                continue
            shift = self._shift
            deadline = end - shift
            # Float rounding must not leave the watermark a hair short of the end at the
            # deadline, or the caller would wake up, close nothing, and spin.
            while deadline + shift < end:
                deadline = math.nextafter(deadline, math.inf)
            return deadline
        return None

    def watermark(self, now: float) -> float | None:
        if self._shift == -math.inf:
            return None
        return now + self._shift

    def flush(self) -> list[Window[ItemT]]:
        pending: list[tuple[float, int, Window[ItemT]]] = []
        for key, state in self._states.items():
            pending.extend(
                (window.end, state.seq, window) for window in self._flush_key(state, key)
            )
        self._states.clear()
        self._heap.clear()
        pending.sort(key=lambda entry: (entry[0], entry[1]))
        return [window for _, _, window in pending]

    def _close_until(self, watermark: float) -> list[Window[ItemT]]:
        """Close every window with ``end <= watermark``, by end and then key."""
        out: list[Window[ItemT]] = []
        heap = self._heap
        states = self._states
        while heap and heap[0][0] <= watermark:
            end, seq, key = heappop(heap)
            state = states.get(key)
            if state is None or state.seq != seq or state.scheduled != end:
                continue
            first_end = self._first_end(state)
            if first_end > end:
                # The key's first window got longer (a session received a later item):
                # requeue it at its real end, so that it comes out in order with other keys.
                state.scheduled = first_end
                heappush(heap, (first_end, seq, key))
                continue
            next_end = self._close_first(state, key, out)
            if next_end is None:
                del states[key]
            else:
                state.scheduled = next_end
                heappush(heap, (next_end, seq, key))
        return out

    def _schedule(self, state: StateT, key: Hashable, end: float) -> None:
        """Make sure that the heap wakes ``key`` by ``end``."""
        if end < state.scheduled:
            state.scheduled = end
            heappush(self._heap, (end, state.seq, key))

    @abc.abstractmethod
    def _place(self, item: ItemT, key: Hashable, ts: float, watermark: float) -> bool:
        """Put ``item`` into its open windows; return ``False`` when none is open."""

    @abc.abstractmethod
    def _first_end(self, state: StateT) -> float:
        """Return the earliest end among ``state``'s open windows."""

    @abc.abstractmethod
    def _close_first(self, state: StateT, key: Hashable, out: list[Window[ItemT]]) -> float | None:
        """Close ``state``'s earliest window into ``out``; return the next end or ``None``."""

    @abc.abstractmethod
    def _flush_key(self, state: StateT, key: Hashable) -> list[Window[ItemT]]:
        """Return the windows that ``state`` flushes at end of stream."""


class _GridKey(_KeyState, Generic[ItemT]):
    __slots__ = ("low", "windows")

    def __init__(self, seq: int, low: int) -> None:
        super().__init__(seq)
        # Grid index of the next window to close: the lowest open window, or under
        # emit_empty the running cursor.
        self.low = low
        self.windows: dict[int, list[ItemT]] = {}

    def buffered(self) -> int:
        return sum(len(items) for items in self.windows.values())


@attrs.define(eq=False)
class _GridWindows(_TimedWindows[ItemT, _GridKey[ItemT]]):
    """Time tumbling and sliding windows on the grid ``origin + k * step``."""

    _origin: float | None = attrs.field(init=False)
    _size: float = attrs.field(init=False)
    _step: float = attrs.field(init=False)
    _tumbling: bool = attrs.field(init=False)
    _emit_empty: bool = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        spec = self.spec
        self._origin = spec.origin
        self._size = spec.size
        self._step = spec.step
        self._tumbling = spec.kind == "tumbling"
        self._emit_empty = spec.emit_empty

    # Window k is [origin + k*step, end(k)). A tumbling window ends exactly where the next
    # one starts (the same float expression), and a sliding window's end is computed the
    # same way everywhere, so membership tests and the reported bounds always agree.
    def _start(self, origin: float, k: int) -> float:
        return origin + k * self._step

    def _end(self, origin: float, k: int) -> float:
        if self._tumbling:
            return origin + (k + 1) * self._step
        return origin + k * self._step + self._size

    def _place(self, item: ItemT, key: Hashable, ts: float, watermark: float) -> bool:
        origin = self._origin
        if origin is None:
            origin = self._origin = ts
        step = self._step
        # The largest k with start(k) <= ts.
        k = math.floor((ts - origin) / step)
        if origin + k * step > ts:
            k -= 1
        elif origin + (k + 1) * step <= ts:
            k += 1
        if self._tumbling:
            end = origin + (k + 1) * step
            if end <= watermark:
                return False
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = _GridKey(self._new_seq(), k)
            bucket = state.windows.get(k)
            if bucket is None:
                state.windows[k] = [item]
                state.low = min(state.low, k)
                self._schedule(state, key, origin + (state.low + 1) * step)
            else:
                bucket.append(item)
            return True
        # Sliding: walk back from the latest window containing ts, while ts is inside and
        # the window is still open (going back, ends only decrease).
        size = self._size
        end = origin + k * step + size
        state = None
        while ts < end and end > watermark:
            if state is None:
                state = self._states.get(key)
                if state is None:
                    state = self._states[key] = _GridKey(self._new_seq(), k)
            bucket = state.windows.get(k)
            if bucket is None:
                state.windows[k] = [item]
            else:
                bucket.append(item)
            k -= 1
            end = origin + k * step + size
        if state is None:
            return False
        state.low = min(state.low, k + 1)
        self._schedule(state, key, origin + state.low * step + size)
        return True

    def _first_end(self, state: _GridKey[ItemT]) -> float:
        assert self._origin is not None
        return self._end(self._origin, state.low)

    def _close_first(
        self, state: _GridKey[ItemT], key: Hashable, out: list[Window[ItemT]]
    ) -> float | None:
        origin = self._origin
        assert origin is not None
        k = state.low
        windows = state.windows
        start = self._start(origin, k)
        end = self._end(origin, k)
        if self._emit_empty:
            out.append(Window(key=key, start=start, end=end, items=windows.pop(k, [])))
            state.low = k + 1
            return self._end(origin, k + 1)
        # Without emit_empty, the lowest index always holds items.
        out.append(Window(key=key, start=start, end=end, items=windows.pop(k)))
        if not windows:
            return None
        state.low = k + 1 if k + 1 in windows else min(windows)
        return self._end(origin, state.low)

    def _flush_key(self, state: _GridKey[ItemT], key: Hashable) -> list[Window[ItemT]]:
        origin = self._origin
        assert origin is not None
        windows = state.windows
        if not windows or not (self._tumbling or self.spec.emit_partial):
            return []
        if self._emit_empty:
            indexes: Sequence[int] = range(state.low, max(windows) + 1)
        else:
            indexes = sorted(windows)
        return [
            Window(
                key=key,
                start=self._start(origin, k),
                end=self._end(origin, k),
                items=windows.get(k, []),
            )
            for k in indexes
        ]


class _Session(Generic[ItemT]):
    __slots__ = ("items", "last", "start")

    def __init__(self, ts: float, item: ItemT) -> None:
        self.start = ts
        self.last = ts
        self.items = [item]


class _SessionKey(_KeyState, Generic[ItemT]):
    __slots__ = ("sessions",)

    def __init__(self, seq: int, session: _Session[ItemT]) -> None:
        super().__init__(seq)
        # Open sessions by start. Consecutive sessions are at least a gap apart, so they are
        # also in order of end.
        self.sessions = [session]

    def buffered(self) -> int:
        return sum(len(session.items) for session in self.sessions)


@attrs.define(eq=False)
class _SessionWindows(_TimedWindows[ItemT, _SessionKey[ItemT]]):
    """Session windows: a key's items less than a gap apart, merged as needed."""

    _gap: float = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._gap = self.spec.size

    def _place(self, item: ItemT, key: Hashable, ts: float, watermark: float) -> bool:
        gap = self._gap
        if ts + gap <= watermark:
            return False
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _SessionKey(self._new_seq(), _Session(ts, item))
            self._schedule(state, key, ts + gap)
            return True
        sessions = state.sessions
        i = len(sessions) - 1
        while i >= 0 and sessions[i].start - gap >= ts:
            i -= 1
        # Sessions after i start a gap or more after ts. Session i is the only one ts can
        # join, and session i - 1 joins in when ts bridges the two.
        if i >= 0 and ts < sessions[i].last + gap:
            session = sessions[i]
            if i > 0 and ts < sessions[i - 1].last + gap:
                before = sessions[i - 1]
                before.items.extend(session.items)
                before.items.append(item)
                before.last = session.last
                del sessions[i]
            else:
                session.items.append(item)
                if ts > session.last:
                    session.last = ts
                elif ts < session.start:
                    session.start = ts
            return True
        sessions.insert(i + 1, _Session(ts, item))
        if i < 0:
            self._schedule(state, key, ts + gap)
        return True

    def _first_end(self, state: _SessionKey[ItemT]) -> float:
        return state.sessions[0].last + self._gap

    def _close_first(
        self, state: _SessionKey[ItemT], key: Hashable, out: list[Window[ItemT]]
    ) -> float | None:
        sessions = state.sessions
        session = sessions.pop(0)
        out.append(
            Window(key=key, start=session.start, end=session.last + self._gap, items=session.items)
        )
        if not sessions:
            return None
        return sessions[0].last + self._gap

    def _flush_key(self, state: _SessionKey[ItemT], key: Hashable) -> list[Window[ItemT]]:
        gap = self._gap
        return [
            Window(key=key, start=session.start, end=session.last + gap, items=session.items)
            for session in state.sessions
        ]
